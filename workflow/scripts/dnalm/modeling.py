"""k-mer BERT model configs; loading, importing and saving DNABERT-format model directories.

Size presets share DNABERT's architecture (post-LN BERT, GELU, dropout 0.1, learned
positions, 2 token types) and differ only in depth and width; ``base`` is DNABERT's
``config.json`` exactly (12 layers x 768 hidden x 12 heads, intermediate 3072, 512
positions, vocab 4**k + 5).

A DNABERT-format directory holds ``config.json`` (possibly without ``model_type``, as
DNABERT's own), weights as ``model.safetensors`` or ``pytorch_model.bin`` (a plain
``state_dict`` read with ``torch.load(weights_only=True)``; never unrestricted pickle), and
``vocab.txt`` + tokenizer files whose ``do_lower_case: true`` is ignored for DNA.

A fine-tuned classifier directory (:func:`save_classifier_dir`) stands alone: its labels
(``id2label``/``label2id``), ``card.json`` and ``README.md`` (:mod:`dnalm.model_card`) travel
with the weights, for BERT, long-input and baseline models alike; read one with
:func:`dnalm.predict.load_model_dir`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import torch

from dnalm import kmers
from dnalm._validate import validate_k
from dnalm.atomic import atomic_dir

__all__ = [
    "SIZES",
    "LoadedLM",
    "bert_config",
    "build_mlm",
    "read_state_dict",
    "load_lm_dir",
    "from_pretrained_strict",
    "save_model_dir",
    "save_classifier_dir",
    "BASELINE_CONFIG_KEY",
    "import_pretrained",
]

log = logging.getLogger("dnalm.modeling")

#: ``config.json`` key that marks a baseline's model directory (value: the baseline's name).
BASELINE_CONFIG_KEY = "dnalm_baseline"

#: Depth/width of each size preset (other BERT settings are DNABERT's).
SIZES: dict[str, dict[str, int]] = {
    "tiny": {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 2, "intermediate_size": 128},
    "small": {"num_hidden_layers": 4, "hidden_size": 256, "num_attention_heads": 4, "intermediate_size": 1024},
    "base": {"num_hidden_layers": 12, "hidden_size": 768, "num_attention_heads": 12, "intermediate_size": 3072},
}

# DNABERT's config.json, minus the size keys and vocab_size.
_DNABERT_COMMON: dict[str, Any] = {
    "architectures": ["BertForMaskedLM"],
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "initializer_range": 0.02,
    "type_vocab_size": 2,
    "pad_token_id": kmers.PAD_ID,
}


class LoadedLM(NamedTuple):
    """Output of :func:`load_lm_dir`: ``(model, tokenizer, extra)``."""

    model: Any  # transformers.BertForMaskedLM
    tokenizer: kmers.KmerTokenizer
    extra: dict[str, torch.Tensor]


def bert_config(
    k: int, size: str = "tiny", max_positions: int = 512, attn_implementation: str = "sdpa"
):  # -> transformers.BertConfig
    """A ``transformers.BertConfig`` for a k-mer BERT of a size preset.

    Parameters
    ----------
    k : int
        3..6; ``vocab_size`` is ``4**k + 5``.
    size : {"tiny", "small", "base"}, optional
        Default is "tiny" (2 x 64 x 2 heads). "base" equals DNABERT's published config.
    max_positions : int, optional
        Maximum tokens per row including ``[CLS]``/``[SEP]``. Default is 512.
    attn_implementation : str, optional
        "sdpa" (fused scaled-dot-product attention, for training) or "eager" (returns
        attention probabilities). Default is "sdpa".

    Returns
    -------
    transformers.BertConfig
    """
    from transformers import BertConfig

    validate_k(k)
    if size not in SIZES:
        raise ValueError(f"`size` must be one of {sorted(SIZES)}, got {size!r}")
    if int(max_positions) < 3:
        raise ValueError(f"`max_positions` must be >= 3, got {max_positions!r}")
    cfg = BertConfig(
        vocab_size=kmers.vocab_size(k),
        max_position_embeddings=int(max_positions),
        **SIZES[size],
        **_DNABERT_COMMON,
    )
    cfg._attn_implementation = attn_implementation
    return cfg


def build_mlm(
    k: int, size: str = "tiny", max_positions: int = 512, attn_implementation: str = "sdpa",
    seed: int | None = None,
):  # -> transformers.BertForMaskedLM
    """A freshly initialised ``BertForMaskedLM`` (weights from ``torch.manual_seed(seed)`` if given)."""
    from transformers import BertForMaskedLM

    if seed is not None:
        torch.manual_seed(int(seed))
    cfg = bert_config(k, size, max_positions, attn_implementation)
    return BertForMaskedLM(cfg)


def _weights_path(d: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (d / name).is_file():
            return d / name
    raise ValueError(f"{d}: no model weights (expected model.safetensors or pytorch_model.bin)")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a weights file safely: safetensors, or a ``torch.save``d state_dict via ``weights_only``.

    Old-style LayerNorm names (``gamma``/``beta``) are renamed to ``weight``/``bias``.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        sd = load_file(str(path))
    else:
        try:
            sd = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - re-raised with the file name
            raise ValueError(f"{path}: cannot be read as a weights-only state_dict ({e})") from e
        if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
            sd = sd["state_dict"]
        if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
            raise ValueError(f"{path}: expected a dict of tensors (a model state_dict)")
    out = {}
    for key, v in sd.items():
        key = key.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
        out[key] = v
    return out


class _HoldLoadReport(logging.Filter):
    """Holds back transformers' ``LOAD REPORT`` records (:func:`from_pretrained_strict`)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if "LOAD REPORT" in str(record.msg):
            self.records.append(record)
            return False
        return True


def from_pretrained_strict(
    cls: Any,
    directory: str | Path,
    *,
    may_miss: tuple[str, ...] = (),
    may_skip: tuple[str, ...] = (),
    **kwargs: Any,
) -> Any:
    """``cls.from_pretrained(directory, **kwargs)`` that refuses to invent weights.

    transformers initialises every weight its checkpoint lacks at random and only logs a
    report, so a truncated or foreign ``model.safetensors`` would fine-tune, predict or score
    variants from partly random weights. Here a missing weight outside the ``may_miss`` key
    prefixes (a new classifier head, a pooler the masked LM never had) is an error, checkpoint
    weights the class does not use (``unexpected``) outside ``may_skip`` are a warning, and the
    expected ones are one INFO line (transformers' own report, with its terminal colours, is
    held back for the call).

    Parameters
    ----------
    cls : type
        A ``transformers.PreTrainedModel`` subclass.
    directory : str or Path
        Model directory (``config.json`` + weights).
    may_miss : tuple of str, optional
        Key prefixes that may be absent from the checkpoint (initialised fresh).
    may_skip : tuple of str, optional
        Key prefixes of checkpoint weights the class may leave unused without a warning.
    **kwargs
        Passed to ``from_pretrained``.

    Returns
    -------
    transformers.PreTrainedModel

    Raises
    ------
    ValueError
        Naming the directory and the first missing weights.
    """
    d = Path(directory)
    report_log = logging.getLogger("transformers.modeling_utils")
    held = _HoldLoadReport()
    report_log.addFilter(held)
    try:
        model, info = cls.from_pretrained(str(d), output_loading_info=True, **kwargs)
    except Exception:
        report_log.removeFilter(held)
        for record in held.records:  # the report a shape-mismatch error points at
            report_log.handle(record)
        raise
    finally:
        report_log.removeFilter(held)
    missing = sorted(info.get("missing_keys") or ())
    unexpected = sorted(info.get("unexpected_keys") or ())
    bad = [key for key in missing if not key.startswith(may_miss)]
    if bad:
        where = next((d / n for n in ("model.safetensors", "pytorch_model.bin") if (d / n).is_file()), d)
        raise ValueError(
            f"{where}: {len(bad)} weights of {cls.__name__} are missing, e.g. "
            f"{bad[:3]} (they would be initialised at random; is this the right model directory, "
            "and was its weights file written in full?)"
        )
    stray = [key for key in unexpected if not key.startswith(may_skip)]
    if stray:
        log.warning("%s: %d checkpoint weights are not used by %s, e.g. %s", d, len(stray),
                    cls.__name__, stray[:3])
    fresh = [key for key in missing if key.startswith(may_miss)]
    if fresh or len(unexpected) > len(stray):
        log.info("%s: loaded as %s; initialised fresh: %s; not used: %d weights (%s)", d,
                 cls.__name__, ", ".join(fresh) or "none", len(unexpected) - len(stray),
                 ", ".join(may_skip) or "-")
    return model


def _read_config(d: Path, attn_implementation: str):
    from transformers import BertConfig

    cpath = d / "config.json"
    if not cpath.is_file():
        raise ValueError(f"{d}: no config.json in model directory")
    try:
        raw = json.loads(cpath.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{cpath}:{e.lineno}: invalid JSON ({e.msg})") from None
    if raw.get("model_type", "bert") != "bert":
        raise ValueError(f"{cpath}: model_type {raw['model_type']!r} is not a BERT model")
    for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size"):
        if key not in raw:
            raise ValueError(f"{cpath}: missing key {key!r}")
    raw.pop("model_type", None)
    cfg = BertConfig(**raw)
    cfg._attn_implementation = attn_implementation
    return cfg


def load_lm_dir(path: str | Path, attn_implementation: str = "sdpa") -> LoadedLM:
    """Load a DNABERT-format (or dnalm) masked-LM directory, validating every file.

    Parameters
    ----------
    path : str or Path
        Directory with ``config.json``, ``model.safetensors`` or ``pytorch_model.bin``, ``vocab.txt``.
    attn_implementation : str, optional
        Default is "sdpa".

    Returns
    -------
    LoadedLM
        Named tuple of:
    model : transformers.BertForMaskedLM
        In eval mode, on the CPU.
    tokenizer : dnalm.kmers.KmerTokenizer
    extra : dict of str to torch.Tensor
        Weights the masked-LM class has no slot for but that a classifier can use, e.g. the
        ``bert.pooler.*`` of DNABERT's checkpoints (its BertForMaskedLM kept a pooler).
    """
    from transformers import BertForMaskedLM

    d = Path(path)
    if not d.is_dir():
        raise ValueError(f"{d}: model directory does not exist")
    tok = kmers.load_tokenizer(d)
    cfg = _read_config(d, attn_implementation)
    if cfg.vocab_size != tok.vocab_size:
        raise ValueError(
            f"{d / 'config.json'}: vocab_size {cfg.vocab_size} does not match vocab.txt "
            f"({tok.vocab_size} tokens, k={tok.k})"
        )
    wpath = _weights_path(d)
    sd = read_state_dict(wpath)
    if any(key.startswith("bert.") for key in sd):
        pass
    elif any(key.startswith(("embeddings.", "encoder.")) for key in sd):  # bare BertModel dump
        sd = {f"bert.{key}": v for key, v in sd.items()}
    else:
        raise ValueError(f"{wpath}: no BERT weights (no bert.* / embeddings.* keys)")
    model = BertForMaskedLM(cfg)
    expected = model.state_dict()
    extra = {key: v for key, v in sd.items() if key not in expected}
    sd = {key: v for key, v in sd.items() if key in expected}
    for key, v in sd.items():
        if tuple(v.shape) != tuple(expected[key].shape):
            raise ValueError(
                f"{wpath}: {key} has shape {tuple(v.shape)}, config.json implies "
                f"{tuple(expected[key].shape)}"
            )
    # Tied weights may be stored once: the decoder shares the word embeddings and bias.
    if "cls.predictions.decoder.weight" not in sd and cfg.tie_word_embeddings:
        sd["cls.predictions.decoder.weight"] = sd.get("bert.embeddings.word_embeddings.weight")
    if "cls.predictions.decoder.bias" not in sd and "cls.predictions.bias" in sd:
        sd["cls.predictions.decoder.bias"] = sd["cls.predictions.bias"]
    if "cls.predictions.bias" not in sd and "cls.predictions.decoder.bias" in sd:
        sd["cls.predictions.bias"] = sd["cls.predictions.decoder.bias"]
    optional = {"bert.embeddings.position_ids", "bert.embeddings.token_type_ids"}
    missing = sorted(key for key in expected if key not in sd or sd[key] is None)
    missing_required = [key for key in missing if key not in optional]
    if missing_required:
        raise ValueError(
            f"{wpath}: missing {len(missing_required)} weights, e.g. {missing_required[:3]}"
        )
    model.load_state_dict({key: v for key, v in sd.items() if v is not None}, strict=False)
    model.tie_weights()
    ignored = [key for key in extra if not key.startswith("bert.pooler.")]
    if ignored:
        log.warning("%s: ignoring %d weights not used by BertForMaskedLM, e.g. %s", wpath, len(ignored), ignored[:3])
    model.eval()
    return LoadedLM(model, tok, extra)


def save_model_dir(
    model: Any,
    k: int,
    out_dir: str | Path,
    extra_files: Mapping[str, str | bytes] | None = None,
    extra_weights: Mapping[str, torch.Tensor] | None = None,
) -> Path:
    """Write a dnalm model directory atomically: HF weights + config, tokenizer files, extras.

    The one writer of model directories (pretraining, import, fine-tuning). The directory is
    built in a temporary sibling and replaces ``out_dir`` whole
    (:func:`dnalm.atomic.atomic_dir`), so a crash leaves the previous directory or nothing.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        Saved with ``save_pretrained`` (safetensors) from the CPU copy of its weights.
    k : int
        Tokenizer files (:func:`dnalm.kmers.write_tokenizer_files`) are for this k, with
        ``max_len`` = the model's ``max_position_embeddings``.
    out_dir : str or Path
    extra_files : mapping of str to str or bytes, optional
        More files by name, e.g. ``{"training_fingerprint.json": text}``. Default is None.
    extra_weights : mapping of str to torch.Tensor, optional
        Tensors added to ``model.safetensors`` that the model class has no slot for (DNABERT's
        ``bert.pooler.*``, reused by ``BertForSequenceClassification``). Default is None.

    Returns
    -------
    Path
        ``out_dir``.
    """
    from safetensors.torch import load_file, save_file

    validate_k(k)
    out = Path(out_dir)
    for name in extra_files or {}:
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"`extra_files`: {name!r} is not a plain file name")
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        if extra_weights:
            weights = load_file(str(tmp / "model.safetensors"))
            weights.update({key: v.detach().cpu().contiguous() for key, v in extra_weights.items()})
            save_file(weights, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        kmers.write_tokenizer_files(tmp, k, max_len=int(model.config.max_position_embeddings))
        for name, content in (extra_files or {}).items():
            data = content.encode() if isinstance(content, str) else bytes(content)
            (tmp / name).write_bytes(data)
    return out


def save_classifier_dir(
    model: Any,
    out_dir: str | Path,
    *,
    k: int | None,
    labels: list[str],
    card: Mapping[str, Any],
    readme: str,
    name: str | None = None,
) -> Path:
    """Write a fine-tuned classifier as a standalone model directory, atomically.

    Every kind gets ``card.json`` (``card``), ``README.md`` (``readme``) and its labels:

    - ``BertForSequenceClassification``: :func:`save_model_dir` with ``id2label``/``label2id``
      in ``config.json`` (loads in plain transformers);
    - :class:`dnalm.longseq.LongSeqClassifier`: ``model.safetensors``, ``longseq.json`` (with
      ``id2label``/``label2id``) and tokenizer files;
    - baselines (:class:`~dnalm.baselines.OneHotClassifier`,
      :class:`~dnalm.baselines.KmerLRClassifier`): ``model.safetensors`` and a ``config.json``
      ``{"dnalm_baseline": name, "architectures": [class], "hparams": ..., "n_classes": ...,
      "id2label": ..., "label2id": ..., "length": window}``; no tokenizer files;
    - :class:`dnalm.gpt.classify.GptClassifier`: a GPT model directory
      (:func:`dnalm.gpt.save_gpt_dir`) with ``dnalm_classifier`` and ``id2label`` in ``config.json``.

    Parameters
    ----------
    model : torch.nn.Module
        Moved to the CPU.
    out_dir : str or Path
    k : int or None
        k-mer size of BERT models (tokenizer files); ignored by baselines.
    labels : list of str
        Class names, index = class id.
    card : mapping
        The directory's ``card.json`` (:func:`dnalm.model_card.model_task_card`).
    readme : str
        ``README.md`` (:func:`dnalm.model_card.model_readme`).
    name : str, optional
        Baseline name (``cnn``, ``cnn_lstm``, ``cnn_gru``, ``kmer_lr``). Default is None.

    Returns
    -------
    Path
        ``out_dir``.
    """
    from safetensors.torch import save_file

    from dnalm.longseq import CONFIG_NAME, LongSeqClassifier

    id2label = {str(i): str(n) for i, n in enumerate(labels)}
    label2id = {str(n): i for i, n in enumerate(labels)}
    files = {"card.json": json.dumps(dict(card), indent=2, sort_keys=True) + "\n", "README.md": readme}
    model.to("cpu")
    out = Path(out_dir)
    if getattr(model, "input_kind", None) == "gpt":  # dnalm.gpt.classify.GptClassifier
        return model.save_dir(out, labels, extra_files=files)
    if hasattr(model, "config") and not isinstance(model, LongSeqClassifier):  # transformers
        if int(model.config.num_labels) != len(labels):
            raise ValueError(f"`labels` has {len(labels)} names, the model {model.config.num_labels}")
        model.config.id2label = {i: str(n) for i, n in enumerate(labels)}
        model.config.label2id = {str(n): i for i, n in enumerate(labels)}
        return save_model_dir(model, int(k), out, extra_files=files)
    with atomic_dir(out) as tmp:
        if isinstance(model, LongSeqClassifier):
            model.save(tmp, int(k))
            spec = json.loads((tmp / CONFIG_NAME).read_text())
            (tmp / CONFIG_NAME).write_text(
                json.dumps({**spec, "id2label": id2label, "label2id": label2id}, indent=2)
            )
        else:
            if not hasattr(model, "hparams") or name is None:
                raise ValueError(f"cannot save a {type(model).__name__} without `hparams` and `name`")
            state = {n: t.detach().cpu().contiguous() for n, t in model.state_dict().items()}
            save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
            cfg = {BASELINE_CONFIG_KEY: name, "architectures": [type(model).__name__],
                   "hparams": model.hparams, "n_classes": len(labels), "id2label": id2label,
                   "label2id": label2id, "length": card.get("window_length")}  # fmt: skip
            (tmp / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
        for fname, text in files.items():
            (tmp / fname).write_text(text)
    return out


def import_pretrained(src_dir: str | Path, out_dir: str | Path) -> Path:
    """Re-save a DNABERT-format model directory as a dnalm model directory (atomically).

    ``out_dir`` receives ``config.json``, ``model.safetensors`` (the masked-LM weights plus
    any DNABERT pooler weights, so ``BertForSequenceClassification.from_pretrained`` reuses
    them) and dnalm's tokenizer files (``vocab.txt`` byte-identical, ``do_lower_case`` false).

    Returns
    -------
    Path
        ``out_dir``.
    """
    model, tok, extra = load_lm_dir(src_dir)
    pooler = {key: v for key, v in extra.items() if key.startswith("bert.pooler.")}
    out = save_model_dir(model, tok.k, out_dir, extra_weights=pooler)
    log.info("imported %s -> %s (k=%d, %d layers)", src_dir, out, tok.k, model.config.num_hidden_layers)
    return out
