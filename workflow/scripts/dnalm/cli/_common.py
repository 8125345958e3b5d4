"""Shared pieces of the ``dnalm`` subcommands: options, errors, inputs, model directories.

Every subcommand takes the same compute options (:func:`add_common`), reads FASTA/BED inputs
whose errors name ``file:line`` (:func:`read_fasta`, :func:`read_bed`), loads a model directory
with its task card (:func:`load_model`) and writes outputs atomically (:func:`write_tsv`).

A model is named by a directory or by a Hugging Face hub id (``org/name``, optionally
``org/name@revision``) already in the local HF cache (:func:`resolve_model`); nothing is ever
downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from dnalm import atomic, bed
from dnalm.bed import BedInterval
from dnalm.fasta import fasta_records

__all__ = [
    "BedInterval",
    "CliError",
    "FastaRecord",
    "LoadedModel",
    "add_common",
    "check_outputs",
    "check_fits",
    "load_model",
    "max_bp",
    "read_bed",
    "read_fasta",
    "resolve_model",
    "setup",
    "write_tsv",
]

_ACGTN = re.compile(r"[ACGTNacgtn]*")


class CliError(ValueError):
    """A user-facing error: printed as one line to stderr, exit status 2, no traceback."""


def add_common(parser: argparse.ArgumentParser, out_help: str = "output file") -> None:
    """Register the options every subcommand shares.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    out_help : str, optional
        Help text of ``-o/--out``. Default is "output file".
    """
    g = parser.add_argument_group("compute and output")
    g.add_argument("-o", "--out", required=True, help=out_help)
    g.add_argument(
        "--device",
        default=None,
        help="torch device, e.g. cpu, cuda, cuda:1 (default: cuda if available, else cpu)",
    )
    g.add_argument(
        "--batch-size", type=int, default=64, help="sequences per forward pass (default: 64)"
    )
    g.add_argument(
        "--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)"
    )
    g.add_argument("--quiet", action="store_true", help="no progress bars")


def setup(args: argparse.Namespace):
    """Apply ``--threads``, check ``--batch-size`` and resolve ``--device``.

    Returns
    -------
    torch.device
    """
    import torch

    from dnalm._compat import resolve_device

    if args.batch_size < 1:
        raise CliError(f"--batch-size must be >= 1, got {args.batch_size}")
    out = str(args.out)
    if out.endswith(("/", os.sep)) or Path(out).is_dir():
        raise CliError(f"-o {out}: is a directory; name an output file (or prefix) in it")
    if args.quiet:  # transformers' "Loading weights" bar too; main() undoes it
        args.undo_quiet = _quiet_transformers()
    if args.threads is not None:
        if args.threads < 1:
            raise CliError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    try:
        dev = resolve_device(args.device)
    except RuntimeError as e:
        raise CliError(f"--device {args.device!r}: {e}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise CliError(f"--device {args.device!r}: CUDA is not available on this machine")
    return dev


def check_outputs(
    paths: Iterable[str | Path], out: str | Path, inputs: Iterable[str | Path | None] = ()
) -> None:
    """Fail before any work when a file that ``-o OUT`` names is an existing directory or one
    of the run's ``inputs`` (``-o calls`` beside ``--vcf calls.vcf.gz`` replaced the VCF with
    the annotated one; outputs are written atomically, so the input was read and then lost)."""
    given = [Path(i) for i in inputs if i is not None]
    for p in map(Path, paths):
        if p.is_dir():
            raise CliError(f"-o {out}: would write {p}, which is a directory")
        for i in given:
            same = p.resolve() == i.resolve()
            if not same and p.exists() and i.exists():
                same = os.path.samefile(p, i)
            if same:
                raise CliError(f"-o {out}: would overwrite the input {i}; choose another -o")


def _quiet_transformers():
    """Switch off transformers' progress bars; returns the function that switches them back."""
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        if not hf_logging.is_progress_bar_enabled():
            return lambda: None
        hf_logging.disable_progress_bar()
        return hf_logging.enable_progress_bar
    old = os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS")
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"  # read when transformers is imported

    def undo() -> None:  # (a library imported meanwhile keeps the setting it read)
        if old is None:
            os.environ.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)
        else:
            os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = old

    return undo


# ---------------------------------------------------------------------------- inputs


class FastaRecord(NamedTuple):
    """One FASTA record: ``id`` (first word of the header), upper-case ``seq``, header ``line``."""

    id: str
    seq: str
    line: int


def read_fasta(path: str | Path, min_len: int = 1) -> list[FastaRecord]:
    """Read a (optionally gzipped) FASTA file into records.

    Parameters
    ----------
    path : str or pathlib.Path
    min_len : int, optional
        Shortest sequence accepted (a model's k). Default is 1.

    Returns
    -------
    list of FastaRecord
        Sequences are upper-cased.

    Raises
    ------
    CliError
        Naming ``path:line`` for a missing header, an empty header or record, a character other
        than ACGTN (any case), or a record shorter than ``min_len``; and when the file is
        missing or holds no record.
    """
    p = Path(path)
    if not p.is_file():
        raise CliError(f"{p}: FASTA file not found")
    out: list[FastaRecord] = []
    try:
        for rec in fasta_records(p):
            for ln, s in rec.lines:
                if not _ACGTN.fullmatch(s):
                    j = next(j for j, c in enumerate(s) if c not in "ACGTNacgtn")
                    raise CliError(
                        f"{p}:{ln}: record {rec.id!r} has character {s[j]!r} at column {j + 1} "
                        "(expected A, C, G, T or N)"
                    )
            seq = "".join(s for _, s in rec.lines).upper()
            if len(seq) < min_len:
                raise CliError(
                    f"{p}:{rec.line}: record {rec.id!r} has {len(seq)} bases, expected >= {min_len}"
                )
            out.append(FastaRecord(rec.id, seq, rec.line))
    except UnicodeDecodeError as e:
        raise CliError(f"{p}: not a text FASTA file ({e.reason})") from None
    except CliError:
        raise
    except ValueError as e:  # empty header, sequence before the first header
        raise CliError(str(e)) from None
    if not out:
        raise CliError(f"{p}: no FASTA records")
    seen: dict[str, int] = {}
    twice = [r for r in out if seen.setdefault(r.id, r.line) != r.line]
    if twice:  # outputs keyed by id (attention's long TSV) cannot tell them apart
        print(f"dnalm: warning: {p}:{twice[0].line}: record id {twice[0].id!r} was used at line "
              f"{seen[twice[0].id]} ({len(twice)} repeated id(s)); outputs keep input order",
              file=sys.stderr)
    return out


def read_bed(path: str | Path) -> list[BedInterval]:
    """BED3+ intervals in file order (:func:`dnalm.bed.read_bed`).

    Raises
    ------
    CliError
        Naming ``path:line`` for fewer than 3 fields, non-integer or negative coordinates,
        ``end <= start`` or a strand other than ``+``, ``-`` or ``.``; ``path`` for a missing,
        binary or empty file.
    """
    try:
        return bed.read_bed(path)
    except ValueError as e:
        raise CliError(str(e)) from None


# ---------------------------------------------------------------------------- models


_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?")


def resolve_model(name: str | Path) -> Path:
    """The directory of a model named by a path or by a hub id in the local HF cache.

    Parameters
    ----------
    name : str or pathlib.Path
        A model directory, or ``org/name[@revision]`` (default revision ``main``) found in the
        Hugging Face cache (``HF_HUB_CACHE``, else ``HF_HOME/hub``). Only the local cache is
        read (``local_files_only``): nothing is downloaded.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    CliError
        When ``name`` is neither a directory nor a cached hub model, naming both places looked.
    """
    p = Path(name)
    if p.is_dir():
        return p
    text = str(name)
    if not _HUB_ID.fullmatch(text) or p.exists():
        raise CliError(f"{p}: model directory not found")
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    repo, _, rev = text.partition("@")
    home = os.environ.get("HF_HOME")
    cache = os.environ.get("HF_HUB_CACHE") or (str(Path(home) / "hub") if home else constants.HF_HUB_CACHE)
    try:
        d = Path(snapshot_download(repo, revision=rev or None, local_files_only=True,
                                   cache_dir=cache))  # fmt: skip
    except (LocalEntryNotFoundError, OSError, ValueError) as e:
        raise CliError(
            f"{text}: not a model directory, and hub model {repo!r}"
            f"{' revision ' + repr(rev) if rev else ''} is not in the local Hugging Face cache "
            f"({cache}); download it first (e.g. `hf download {repo}`) or give a directory "
            f"[{type(e).__name__}]"
        ) from None
    if not d.is_dir():
        raise CliError(f"{text}: cached snapshot {d} is not a directory")
    return d


@dataclass
class LoadedModel:
    """A model directory ready to run.

    Attributes
    ----------
    model : torch.nn.Module
        ``BertForSequenceClassification``, ``LongSeqClassifier``, a baseline
        (``OneHotClassifier``, ``KmerLRClassifier``), a GPT classifier
        (:class:`dnalm.gpt.classify.GptClassifier`), ``BertForMaskedLM`` or a GPT language model
        (:class:`dnalm.gpt.model.DnaGptModel`); in eval mode.
    k : int
        k-mer size; 1 for baselines (they read bases, not k-mers); 6 for GPT models
        (non-overlapping 6-mers).
    kind : {"classifier", "long", "baseline", "gpt", "lm", "gpt_lm"}
        ``gpt``: a fine-tuned GPT classifier; ``gpt_lm``: a pretrained GPT language model.
    labels : list of str
        Class names (``id2label`` of the model directory, else "0", "1", ...); empty for a
        language model.
    window : int or None
        Input length in bp (task card, else ``--window``, else a baseline's ``length``); None
        when unknown.
    max_tokens : int
        Tokens per forward pass the model accepts (BERT: ``max_position_embeddings``; GPT:
        ``n_positions``, template included); 0 for baselines (no limit).
    card : dict
        The task card's JSON (empty when there is none).
    path : pathlib.Path or None
        The directory loaded (a hub id resolved to its cached snapshot).
    """

    model: Any
    k: int
    kind: str
    labels: list[str]
    window: int | None
    max_tokens: int
    card: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def is_gpt(self) -> bool:
        """Whether the model is a GPT (a fine-tuned classifier or a language model)."""
        return self.kind in ("gpt", "gpt_lm")

    @property
    def bert(self):
        """The underlying ``BertModel``."""
        if self.kind == "baseline" or self.is_gpt:
            raise CliError(f"{self.path}: a {type(self.model).__name__} model has no BERT")
        return self.model.bert

    @property
    def gpt(self):
        """The underlying :class:`dnalm.gpt.model.DnaGptModel` of a GPT classifier or LM."""
        if not self.is_gpt:
            raise CliError(f"{self.path}: a {type(self.model).__name__} model is not a GPT")
        return self.model.gpt if self.kind == "gpt" else self.model


def _card(model_dir: Path, card: str | Path | None) -> dict[str, Any]:
    """The task card's JSON: ``--card`` (a file or its folder), else ``model_dir/card.json``."""
    from dnalm.dataset import read_card

    path = Path(card) if card else model_dir / "card.json"
    if card and not path.exists():
        raise CliError(f"--card {card}: file not found")
    if not card and not path.is_file():
        return {}
    try:
        return read_card(path).raw
    except ValueError as e:
        raise CliError(str(e)) from None


def _check_card(d: Path, card: str | Path, raw: dict[str, Any], labels: list[str],
                model_window: int | None) -> None:
    """Refuse a ``--card`` that does not fit this model: another class count or window than its
    own ``card.json`` (or its classifier head and input length) says."""
    own = _card(d, None)
    problems: dict[str, str] = {}  # key -> why, the model's own card first
    for key in ("n_classes", "window_length"):
        if own.get(key) is not None and raw.get(key) is not None and own[key] != raw[key]:
            problems[key] = f"{key} {raw[key]!r} (the model's own card.json: {own[key]!r})"
    n, w = raw.get("n_classes"), raw.get("window_length")
    if labels and n is not None and int(n) != len(labels):
        problems.setdefault("n_classes", f"n_classes {n} (the model has {len(labels)} classes)")
    if model_window is not None and w is not None and int(w) != int(model_window):
        problems.setdefault("window_length", f"window_length {w} (the model reads {model_window} bp)")
    if problems:
        task = f" (task {raw.get('task')!r}; the model's: {own.get('task')!r})" if own.get("task") else ""
        raise CliError(f"--card {card}: not this model's task card{task}: {'; '.join(problems.values())}")
    if own.get("task") and raw.get("task") and own["task"] != raw["task"]:
        print(f"dnalm: warning: --card {card}: task {raw['task']!r}, but the model was fine-tuned "
              f"on {own['task']!r} (its own card.json); the window and classes fit, so it is used",
              file=sys.stderr)  # fmt: skip


def _is_gpt_classifier(cfg_path: Path) -> bool:
    """Whether a GPT ``config.json`` is a fine-tuned classifier's (it names its label tokens)."""
    from dnalm.gpt.classify import CLASSIFIER_KEY

    return CLASSIFIER_KEY in json.loads(cfg_path.read_text())


def load_model(
    path: str | Path,
    allow_lm: bool = False,
    card: str | Path | None = None,
    window: int | None = None,
    attn_implementation: str = "sdpa",
) -> LoadedModel:
    """Load a fine-tuned model directory (or, with ``allow_lm``, a language-model directory).

    Parameters
    ----------
    path : str or pathlib.Path
        ``results/finetune/<task>/<model>/seed<s>/model`` (any kind: BERT, long-input,
        baseline, GPT) or ``results/pretrain/<lm>/model`` (BERT or GPT), or a hub id ``org/name[@rev]`` in the
        local HF cache (:func:`resolve_model`).
    allow_lm : bool, optional
        Accept a language-model directory (``BertForMaskedLM``, or a GPT language model as kind
        ``gpt_lm``); baselines are then refused (the callers need a transformer's hidden
        states). Default is False.
    card : str or pathlib.Path, optional
        Task card (``results/datasets/<task>/card.json``). Default is ``path/card.json``, which
        every fine-tuned model directory holds.
    window : int, optional
        Input length in bp when no card gives one (``--window``); when both are set they must
        agree. Default is None.
    attn_implementation : str, optional
        Default is "sdpa".

    Returns
    -------
    LoadedModel
    """
    from dnalm.modeling import load_lm_dir
    from dnalm.predict import load_model_dir

    d = resolve_model(path)
    cfg_path = d / "config.json"
    if not cfg_path.is_file() and not (d / "vocab.txt").is_file():
        inner = sorted(p.parent for p in d.glob("**/model/config.json"))[:3]
        hint = f"; the model directories under it: {', '.join(map(str, inner))}" if inner else ""
        raise CliError(f"{d}: not a model directory (no config.json){hint}")
    archs: list[str] = []
    if cfg_path.is_file():
        try:
            archs = list(json.loads(cfg_path.read_text()).get("architectures") or [])
        except json.JSONDecodeError as e:
            raise CliError(f"{cfg_path}:{e.lineno}: not valid JSON ({e.msg})") from None
    raw_card = _card(d, card)
    default_window = None
    try:
        if allow_lm and "DnaGptModel" in archs and not _is_gpt_classifier(cfg_path):
            from dnalm.gpt.model import load_gpt_dir
            from dnalm.gpt.tokenizer import K as GPT_K

            model, k, kind, labels = load_gpt_dir(d)[0], GPT_K, "gpt_lm", []
        elif any(a.endswith("ForMaskedLM") for a in archs) or (not archs and allow_lm and not
                                                               (d / "longseq.json").is_file()):
            if not allow_lm:
                raise CliError(
                    f"{d}: is a language model; this subcommand needs a fine-tuned classifier"
                )
            lm = load_lm_dir(d, attn_implementation=attn_implementation)
            model, k, kind, labels = lm.model, lm.tokenizer.k, "lm", []
        else:
            clf = load_model_dir(d, attn_implementation=attn_implementation)
            model, labels = clf.model, clf.labels
            kind = {"bert": "classifier", "longseq": "long", "baseline": "baseline", "gpt": "gpt"}[clf.kind]
            k = clf.k if clf.k is not None else 1
            default_window = clf.window
    except CliError:
        raise
    except (OSError, ValueError) as e:
        raise CliError(f"{d}: cannot load model ({e})") from None
    if allow_lm and kind == "baseline":  # embeddings need a transformer's hidden states
        raise CliError(f"{d}: is a {type(model).__name__} baseline; this subcommand needs a "
                       "BERT or GPT (a language model or a fine-tuned classifier)")
    card_k = raw_card.get("k")
    if kind != "baseline" and card_k is not None and int(card_k) != int(k):
        raise CliError(f"{d}: task card has k={card_k} but the model's vocabulary is k={k}")
    card_window = raw_card.get("window_length")
    if card is not None:  # a card from elsewhere must describe this model
        _check_card(d, card, raw_card, labels, default_window)
    if card_window is None:
        card_window = default_window
    if window is not None and window < 1:
        raise CliError(f"--window must be >= 1, got {window}")
    if card_window is not None and window is not None and int(card_window) != window:
        raise CliError(
            f"--window {window} disagrees with the task card's window_length {card_window}"
        )
    win = int(card_window) if card_window is not None else window
    max_tokens = (0 if kind == "baseline" else int(model.max_positions) if kind == "gpt"
                  else int(model.config.n_positions) if kind == "gpt_lm"
                  else int(model.config.max_position_embeddings))  # fmt: skip
    return LoadedModel(model, int(k), kind, labels, win, max_tokens, raw_card, d)


def max_bp(lm: LoadedModel) -> int | None:
    """Longest sequence (bp) one BERT or GPT pass takes; None for long-input classifiers and baselines."""
    if lm.kind in ("long", "baseline"):
        return None
    if lm.is_gpt:  # non-overlapping 6-mers + 4 template positions (dnalm.gpt.classify)
        from dnalm.gpt.classify import N_TEMPLATE

        return (lm.max_tokens - N_TEMPLATE) * lm.k
    return lm.max_tokens - 2 + lm.k - 1  # [CLS] k-mers [SEP]


def check_fits(records: Sequence[FastaRecord], lm: LoadedModel, path: str | Path) -> None:
    """Raise CliError naming the first record that needs more tokens than a BERT pass holds."""
    limit = max_bp(lm)
    if limit is None:
        return
    for r in records:
        if len(r.seq) > limit:
            raise CliError(
                f"{path}:{r.line}: record {r.id!r} has {len(r.seq)} bases; this model takes at most "
                f"{limit} (k={lm.k}, {lm.max_tokens} positions)"
            )


# ---------------------------------------------------------------------------- outputs


def write_tsv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as TSV (gzip when ``path`` ends in ``.gz``), atomically."""
    with atomic.atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, float_format="%.8g",
                  compression="gzip" if str(path).endswith(".gz") else None)  # fmt: skip
    return Path(path)
