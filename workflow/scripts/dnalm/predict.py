"""Load any fine-tuned model directory; batched class probabilities and logits.

Three model kinds are scored the same way: ``BertForSequenceClassification`` (k-mer tokens,
at most ``max_position_embeddings`` per sequence), :class:`dnalm.longseq.LongSeqClassifier`
(long inputs split into BERT pieces) and the baselines of :mod:`dnalm.baselines` (one-hot
CNN/CNN+LSTM/CNN+GRU and the k-mer logistic regression).

- :func:`load_model_dir`: one loader for every kind of ``results/finetune/.../model``
  directory, returning a :class:`LoadedClassifier` (model, kind, k, card, labels, window);
- :func:`predict_proba`: class probabilities; :func:`class_logits` and
  :func:`positive_logits`: raw logits (no softmax) of the same batched forward pass, e.g. for
  in-silico mutagenesis;
- :func:`encode_inputs` and :func:`forward_logits`: one batch's model inputs and the
  differentiable forward pass, for gradient attributions (BERT inputs are token ids:
  take gradients at ``model.bert.embeddings.word_embeddings``; baselines take a one-hot
  ``x`` of shape (B, 4, L), channels A, C, G, T).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from tqdm.auto import tqdm

from dnalm import kmers
from dnalm._compat import autocast, resolve_device

__all__ = [
    "LoadedClassifier",
    "class_logits",
    "encode_inputs",
    "forward_logits",
    "load_classifier",
    "load_model_dir",
    "positive_logits",
    "predict_proba",
]


class LoadedClassifier(NamedTuple):
    """A fine-tuned model directory ready to run (:func:`load_model_dir`).

    Attributes
    ----------
    model : torch.nn.Module
        In eval mode, on the CPU: ``BertForSequenceClassification`` (kind ``bert``),
        ``LongSeqClassifier`` (``longseq``), ``OneHotClassifier`` or ``KmerLRClassifier``
        (``baseline``), :class:`dnalm.gpt.classify.GptClassifier` (``gpt``).
    kind : {"bert", "longseq", "baseline", "gpt"}
    k : int or None
        k-mer size of the tokenizer; None for one-hot baselines (the k-mer LR's k is
        ``model.k``).
    card : dict or None
        The directory's ``card.json`` (task card, ``class_names``, ``training`` hash); None
        when there is none.
    labels : list of str
        Class names, index = class id (``id2label``; transformers' ``LABEL_i`` -> ``"i"``).
    window : int or None
        Input length in bp (card's ``window_length``, else a baseline's ``length``).
    """

    model: Any
    kind: str
    k: int | None
    card: dict[str, Any] | None
    labels: list[str]
    window: int | None


def _label_names(id2label: Any, n: int) -> list[str]:
    id2label = id2label or {}
    names = [str(id2label.get(i, id2label.get(str(i), i))) for i in range(n)]
    if all(re.fullmatch(r"LABEL_\d+", s) for s in names):  # transformers' placeholder names
        return [str(i) for i in range(n)]
    return names


def _read_json(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}:1: expected a JSON object")
    return raw


def _load_baseline(d: Path, cfg: dict[str, Any]) -> torch.nn.Module:
    from safetensors.torch import load_file

    from dnalm.baselines import KmerLRClassifier, OneHotClassifier

    arch = (cfg.get("architectures") or [None])[0]
    classes = {c.__name__: c for c in (OneHotClassifier, KmerLRClassifier)}
    if arch not in classes or not isinstance(cfg.get("hparams"), dict):
        raise ValueError(f"{d / 'config.json'}: baseline architecture {arch!r} is not one of "
                         f"{sorted(classes)} (or lacks hparams)")
    wpath = d / "model.safetensors"
    if not wpath.is_file():
        raise ValueError(f"{d}: no model.safetensors")
    model = classes[arch](**cfg["hparams"])
    try:
        model.load_state_dict(load_file(str(wpath)))
    except RuntimeError as e:
        raise ValueError(f"{wpath}: weights do not fit config.json's hparams ({e})") from None
    return model.eval()


def load_model_dir(directory: str | Path, attn_implementation: str = "sdpa") -> LoadedClassifier:
    """Load a fine-tuned model directory of any kind, with its labels and card.

    Parameters
    ----------
    directory : str or pathlib.Path
        ``results/finetune/{task}/{model}/seed{s}/model``: a
        ``BertForSequenceClassification`` directory, a long-input classifier
        (``longseq.json``), a baseline (``config.json`` with ``dnalm_baseline``) or a GPT
        classifier (``DnaGptModel`` with ``dnalm_classifier``).
    attn_implementation : str, optional
        BERT models: ``"eager"`` when attention weights are needed. Default is "sdpa".

    Returns
    -------
    LoadedClassifier

    Raises
    ------
    ValueError
        Naming the file: no such directory, a language model (not fine-tuned), unreadable
        JSON, missing weights or tokenizer files, or a ``card.json`` whose ``k`` differs from
        the vocabulary's.
    """
    from dnalm.dataset import read_card
    from dnalm.longseq import CONFIG_NAME, LongSeqClassifier
    from dnalm.modeling import BASELINE_CONFIG_KEY

    d = Path(directory)
    if not d.is_dir():
        raise ValueError(f"{d}: model directory not found")
    card = read_card(d / "card.json").raw if (d / "card.json").is_file() else None
    cfg = _read_json(d / "config.json") if (d / "config.json").is_file() else {}
    window = (card or {}).get("window_length")
    if LongSeqClassifier.is_saved_in(d):
        k = kmers.load_tokenizer(d).k
        model = LongSeqClassifier.load(d)
        spec = _read_json(d / CONFIG_NAME)
        kind, labels = "longseq", _label_names(spec.get("id2label"), int(model.n_classes))
    elif BASELINE_CONFIG_KEY in cfg:
        model = _load_baseline(d, cfg)
        k = None
        kind, labels = "baseline", _label_names(cfg.get("id2label"), int(model.n_classes))
        window = window if window is not None else cfg.get("length")
    elif "DnaGptModel" in (cfg.get("architectures") or []):
        from dnalm.gpt.classify import load_gpt_classifier
        from dnalm.gpt.tokenizer import K as GPT_K

        model, labels = load_gpt_classifier(d)
        k, kind = GPT_K, "gpt"
    else:
        from transformers import BertForSequenceClassification

        from dnalm.modeling import from_pretrained_strict

        if any(str(a).endswith("ForMaskedLM") for a in cfg.get("architectures") or []):
            raise ValueError(f"{d}: is a language model (BertForMaskedLM), not a fine-tuned classifier")
        k = kmers.load_tokenizer(d).k
        model = from_pretrained_strict(
            BertForSequenceClassification, d, attn_implementation=attn_implementation,
            use_safetensors=True,
        )
        model.eval()
        kind, labels = "bert", _label_names(model.config.id2label, int(model.config.num_labels))
    if card is not None and k is not None and card.get("k") is not None and int(card["k"]) != k:
        raise ValueError(f"{d / 'card.json'}: k={card['k']} but the model's vocabulary is k={k}")
    return LoadedClassifier(model, kind, k, card, labels, None if window is None else int(window))


def load_classifier(directory: str | Path, attn_implementation: str = "sdpa"):
    """Load a fine-tuned classifier and its k from a model directory (see :func:`load_model_dir`).

    Parameters
    ----------
    directory : str or pathlib.Path
        ``results/finetune/{task}/{lm}/seed{s}/model``: either a
        ``BertForSequenceClassification.save_pretrained`` directory or a long-input
        classifier (``longseq.json``), each with k-mer tokenizer files.
    attn_implementation : str, optional
        Passed to ``from_pretrained`` (``"eager"`` when attention weights are needed).
        Default is "sdpa".

    Returns
    -------
    model : torch.nn.Module
        In eval mode, on the CPU.
    k : int or None
        None for one-hot baselines.
    """
    clf = load_model_dir(directory, attn_implementation)
    return clf.model, clf.k


def encode_inputs(model: torch.nn.Module, seqs: Sequence[str], k: int | None) -> dict:
    """Model inputs (CPU tensors) for a batch of sequences, padded to the batch's longest row.

    Returns
    -------
    dict of str to torch.Tensor
        ``input_ids``/``attention_mask`` (BERT; plus ``piece_mask`` for long inputs), ``x``
        (B, 4, L) one-hot and ``lengths`` (one-hot baselines) or ``x`` (B, 4**k) k-mer
        frequencies (k-mer LR); ``forward_logits(model, inputs)`` runs them.
    """
    kind = getattr(model, "input_kind", "bert")
    if kind == "gpt":  # dnalm.gpt.classify.GptClassifier: input_ids + query_pos
        return model.encode(seqs)
    if kind == "kmer_freq":
        from dnalm.baselines import kmer_frequencies

        x = kmer_frequencies(seqs, model.k).toarray().astype(np.float32)
        return {"x": torch.from_numpy(x)}
    if kind == "onehot":
        from dnalm.baselines import one_hot

        x, lengths = one_hot(seqs)
        return {"x": torch.from_numpy(x), "lengths": torch.from_numpy(lengths)}
    if kind == "long":
        from dnalm.longseq import encode_long

        ids, mask, pieces = encode_long(
            seqs,
            k,
            max_tokens=model.max_tokens,
            max_pieces=model.max_pieces if model.pooling == "concat" else None,
        )
        return {
            "input_ids": torch.from_numpy(ids),
            "attention_mask": torch.from_numpy(mask),
            "piece_mask": torch.from_numpy(pieces),
        }
    max_tokens = int(model.config.max_position_embeddings)
    ids, mask = kmers.encode_batch(seqs, k, max_tokens=max_tokens)
    return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}


def forward_logits(model: torch.nn.Module, inputs: dict) -> torch.Tensor:
    """Logits (B, n_classes) of :func:`encode_inputs`' output (tensors on the model's device)."""
    out = model(**inputs)
    return out.logits if hasattr(out, "logits") else out


_encode_inputs = encode_inputs  # the names the training loop uses
_logits = forward_logits


def _n_classes(model: torch.nn.Module) -> int:
    if hasattr(model, "n_classes"):
        return int(model.n_classes)
    if hasattr(model, "config"):
        return int(model.config.num_labels)
    return int(model.head[-1].out_features)


@torch.no_grad()
def predict_proba(
    model: torch.nn.Module,
    seqs: Sequence[str],
    k: int | None,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    verbose: bool = False,
) -> np.ndarray:
    """Class probabilities for sequences.

    Parameters
    ----------
    model : transformers.BertForSequenceClassification, LongSeqClassifier or a baseline
    seqs : sequence of str, length n
    k : int or None
        k-mer size of the model's tokenizer (ignored by one-hot baselines).
    batch_size : int, optional
        Default is 64. Results do not depend on it: rows are grouped by length (for speed),
        padded, and padding is masked out.
    device : str or torch.device, optional
        Default is cuda if available, else cpu.
    verbose : bool, optional
        Progress bar. Default is False.

    Returns
    -------
    probs : numpy.ndarray, shape=(n, n_classes), dtype=float64

    Notes
    -----
    The model is moved to ``device`` and run in eval mode; its train/eval mode is restored.
    """
    return _batched(model, seqs, k, batch_size, device, verbose, softmax=True)


def _batched(
    model: torch.nn.Module,
    seqs: Sequence[str],
    k: int | None,
    batch_size: int,
    device: str | torch.device | None,
    verbose: bool,
    softmax: bool,
) -> np.ndarray:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}")
    seqs = list(seqs)
    dev = resolve_device(device)
    was_training = model.training
    model.to(dev)
    model.eval()
    order = np.argsort([len(s) for s in seqs], kind="stable")
    out = np.zeros((len(seqs), _n_classes(model)), dtype=np.float64)
    exact = getattr(model, "input_kind", "bert") == "kmer_freq"  # a linear model: no bf16
    try:
        with torch.no_grad():
            for i in tqdm(range(0, len(seqs), batch_size), disable=not verbose, desc="predict"):
                idx = order[i : i + batch_size]
                inputs = encode_inputs(model, [seqs[j] for j in idx], k)
                with autocast(dev, enabled=not exact):
                    logits = forward_logits(model, {n: t.to(dev) for n, t in inputs.items()})
                logits = logits.float()
                out[idx] = (torch.softmax(logits, dim=-1) if softmax else logits).cpu().numpy()
    finally:
        model.train(was_training)
    return out


def class_logits(
    clf: LoadedClassifier,
    seqs: Sequence[str],
    batch_size: int = 64,
    device: str | torch.device | None = None,
    verbose: bool = False,
) -> np.ndarray:
    """Logits of every class for sequences (the batched pass of :func:`predict_proba`).

    Parameters
    ----------
    clf : LoadedClassifier
        From :func:`load_model_dir`.
    seqs : sequence of str, length n
        Any lengths the model takes (ISM: the reference and its mutants, all one length).
    batch_size : int, optional
        Default is 64; results do not depend on it.
    device : str or torch.device, optional
        Default is cuda if available, else cpu.
    verbose : bool, optional

    Returns
    -------
    numpy.ndarray, shape=(n, n_classes), dtype=float64
    """
    return _batched(clf.model, seqs, clf.k, batch_size, device, verbose, softmax=False)


def positive_logits(
    clf: LoadedClassifier,
    seqs: Sequence[str],
    positive: int = 1,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    verbose: bool = False,
) -> np.ndarray:
    """The logit of class ``positive`` for each sequence (see :func:`class_logits`).

    Returns
    -------
    numpy.ndarray, shape=(n,), dtype=float64
    """
    n = len(clf.labels)
    if not 0 <= positive < n:
        raise ValueError(f"`positive`={positive} but the model has {n} classes")
    return class_logits(clf, seqs, batch_size, device, verbose)[:, positive]
