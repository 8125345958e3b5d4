"""What a fine-tuned model directory says about itself: class names, ``card.json``, ``README.md``.

A model directory (``results/finetune/{task}/{model}/seed{s}/model``) stands alone: besides
weights and tokenizer files it holds

- ``card.json``: the task card (:mod:`dnalm.dataset`; read it with
  :func:`dnalm.dataset.read_card`) plus ``class_names`` and ``training`` (the training split's
  file name and SHA-256), built by :func:`model_task_card`; ``k`` is the model's k-mer size
  for k-mer models;
- ``README.md``: a Hugging Face model card (YAML front matter, then task, training data hash,
  test metrics, the language model's learning check, intended use, limits and how to load),
  built by :func:`model_readme`.

Class names (:func:`class_names`) come from the task card when it names them
(``class_names``), else from the task kind: splice sites are ``donor``/``acceptor``/``nonsite``
(:mod:`dnalm.splice`), binary tasks ``negative``/``positive``, others ``0``, ``1``, ...
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dnalm.dataset import Card
from dnalm.textio import sha256sum

__all__ = ["class_names", "model_readme", "model_task_card", "split_counts", "training_hash"]

_METRICS = ("accuracy", "precision", "recall", "f1", "mcc", "auroc", "auprc")
_KIND_TEXT = {"baseline": "one-hot/k-mer baseline",
              "gpt": "DNAGPT-style GPT (non-overlapping 6-mers; class token read at <B>)"}


def class_names(card: Card | Mapping[str, Any] | None, n_classes: int) -> list[str]:
    """Names of classes 0..n_classes-1.

    Parameters
    ----------
    card : dnalm.dataset.Card or dict or None
        The task card (a ``Card`` or its JSON dict). A ``class_names`` list (or ``{id: name}``
        mapping) in it wins.
    n_classes : int

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        When the card's ``class_names`` does not name ``n_classes`` distinct classes.
    """
    raw = card.raw if isinstance(card, Card) else dict(card or {})
    given = raw.get("class_names")
    if given is not None:
        names = [str(given[i] if isinstance(given, list) else given.get(str(i), given.get(i)))
                 for i in range(min(n_classes, len(given)))]  # fmt: skip
        if len(names) != n_classes or len(set(names)) != n_classes or "None" in names:
            raise ValueError(
                f"task card {raw.get('task')!r}: class_names {given!r} does not name "
                f"{n_classes} distinct classes"
            )
        return names
    if raw.get("kind") == "splice" and n_classes == 3:
        from dnalm.splice import ACCEPTOR, DONOR, NONSITE

        names = [""] * 3
        names[DONOR], names[ACCEPTOR], names[NONSITE] = "donor", "acceptor", "nonsite"
        return names
    if n_classes == 2:
        return ["negative", "positive"]
    return [str(i) for i in range(n_classes)]


def training_hash(train: str | Path | Sequence[tuple[str, int]]) -> dict[str, Any]:
    """SHA-256 of the training data: the split file's bytes, or of its rows when given in memory.

    Parameters
    ----------
    train : str or pathlib.Path or sequence of (sequence, label)

    Returns
    -------
    dict
        ``{"split": file name, "sha256": hex, "of": "file"}`` for a file;
        ``{"split": None, "sha256": hex, "of": "rows"}`` for rows, hashed as
        ``sequence<TAB>label<LF>`` lines.
    """
    if isinstance(train, str | Path):
        return {"split": Path(train).name, "sha256": sha256sum(train), "of": "file"}
    h = hashlib.sha256()
    for seq, label in train:
        h.update(f"{seq}\t{int(label)}\n".encode())
    return {"split": None, "sha256": h.hexdigest(), "of": "rows"}


def model_task_card(
    card: Card | None,
    *,
    task: str | None,
    n_classes: int,
    k: int | None,
    counts: Mapping[str, Mapping[str, int]],
    window_length: int | None,
    training: Mapping[str, Any],
) -> dict[str, Any]:
    """The ``card.json`` written into a model directory.

    Parameters
    ----------
    card : dnalm.dataset.Card or None
        The task's card (``results/datasets/{task}/card.json``). None (a model trained on
        in-memory splits): a card is made from the other arguments, with ``kind``
        "unspecified".
    task : str or None
    n_classes : int
    k : int or None
        The model's k-mer size (k-mer models), stored as ``k``; None keeps the card's (none
        when there is no task card: :func:`~dnalm.dataset.read_card` then reads the default).
    counts : mapping
        ``{split: {label: n}}`` of the data the model saw.
    window_length : int or None
        Used when there is no task card.
    training : mapping
        :func:`training_hash`.

    Returns
    -------
    dict
        Readable by :func:`dnalm.dataset.read_card`.
    """
    if card is not None:
        out = dict(card.raw)
        if out.get("window_length") is None and card.window_length is not None:
            out["window_length"] = card.window_length
        out.setdefault("tss_offset", card.tss_offset)
    else:
        out = {"task": task or "unnamed", "kind": "unspecified", "genome": None,
               "counts": {s: dict(c) for s, c in counts.items()},
               "labels": list(range(n_classes)), "n_classes": n_classes,
               "window_length": window_length, "tss_offset": None}  # fmt: skip
    if k is not None:
        out["k"] = int(k)
    out["class_names"] = class_names(card if card is not None else out, n_classes)
    out["training"] = dict(training)
    return out


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _where(path: str | Path) -> str:
    """A path as written (workflow-relative), or ``.../parent/name`` when it is absolute."""
    p = Path(path)
    return p.as_posix() if not p.is_absolute() else ".../" + "/".join(p.parts[-2:])


def _metric_rows(metrics: Mapping[str, Any], ci: Mapping[str, Sequence[float]] | None) -> list[str]:
    rows = ["| metric | value | 95% CI |", "|---|---|---|"]
    for m in _METRICS:
        if m not in metrics:
            continue
        pair = (ci or {}).get(m) or metrics.get(f"{m}_ci")
        if pair is None and f"{m}_lo" in metrics:
            pair = (metrics[f"{m}_lo"], metrics.get(f"{m}_hi"))
        ok = pair is not None and len(pair) == 2
        rows.append(f"| {m} | {_fmt(metrics[m])} | {f'{_fmt(pair[0])} to {_fmt(pair[1])}' if ok else '-'} |")
    return rows


def model_readme(
    card: Mapping[str, Any],
    metrics: Mapping[str, Any],
    *,
    model_name: str,
    kind: str,
    lm_dir: str | Path | None = None,
    ci: Mapping[str, Sequence[float]] | None = None,
) -> str:
    """A Hugging Face model card (``README.md``) for a fine-tuned model directory.

    Parameters
    ----------
    card : mapping
        The directory's ``card.json`` (:func:`model_task_card`).
    metrics : mapping
        The run's ``metrics.json`` content (test metrics; ``<metric>_ci`` pairs when present).
    model_name : str
        ``<lm>``, ``<lm>-scratch`` or a baseline name.
    kind : {"bert", "longseq", "baseline", "gpt"}
    lm_dir : str or pathlib.Path, optional
        The language model it started from. Default is None.
    ci : mapping of str to (low, high), optional
        95% confidence intervals of the test metrics (:func:`dnalm.metrics.bootstrap_ci`);
        else ``<metric>_ci`` or ``<metric>_lo``/``_hi`` of ``metrics`` when present. Default is
        None.

    Returns
    -------
    str
    """
    task = card.get("task")
    names = list(card.get("class_names") or [])
    training = card.get("training") or {}
    counts = card.get("counts") or {}
    window = card.get("window_length")
    verdict = metrics.get("lm_verdict")
    verdict_text = {
        None: "not applicable (a baseline trained from scratch)",
        "not_used": "not applicable (random initialisation: the language model's weights are not used)",
        "unchecked": "unchecked: the language model has no learning check (imported or older)",
        "learns": "learns: the language model beats the k-mer frequency baseline on held-out text",
    }.get(verdict, f"{verdict}: the language model did NOT beat the k-mer frequency baseline; "
                   "treat its fine-tuned results with caution")  # fmt: skip
    hf_ok = kind == "bert"
    lines = [
        "---",
        "license: mit",
        "library_name: transformers" if hf_ok else "library_name: dnalm",
        "tags:",
        "- dna",
        "- genomics",
        "- dnabert",
        "pipeline_tag: text-classification",
        "---",
        "",
        f"# {model_name} fine-tuned on `{task}`",
        "",
        f"A {_KIND_TEXT.get(kind, 'k-mer BERT')} classifier trained "
        f"by dnalm (`results/finetune/{task}/{model_name}/seed{metrics.get('seed')}`).",
        "",
        "## Task",
        "",
        f"- task: `{task}`, kind: {card.get('kind')}, genome: {card.get('genome') or 'n/a'}",
        f"- classes: {', '.join(f'{i} = {n}' for i, n in enumerate(names))}",
        f"- input window: {window if window is not None else 'variable'} bp"
        + (f"; TSS at 0-based index {card['tss_offset']} of a + oriented window"
           if card.get("tss_offset") is not None else ""),  # fmt: skip
        f"- k-mer size: {card.get('k') if kind != 'baseline' else 'n/a (one-hot input)'}",
        "- examples: " + "; ".join(
            f"{split} " + ", ".join(f"{n} {names[int(c)] if int(c) < len(names) else c}"
                                    for c, n in by_class.items())
            for split, by_class in counts.items()
        ),
        "",
        "## Training data",
        "",
        f"- training split: {training.get('split') or 'in-memory rows'}, SHA-256 "
        f"`{training.get('sha256')}` (of the {training.get('of', 'file')})",
        f"- initialisation: {metrics.get('init')}" + (f" from `{_where(lm_dir)}`" if lm_dir else ""),
        f"- language model learning check: {verdict_text}",
        "",
        f"## Test metrics (n = {metrics.get('n_test')})",
        "",
        *_metric_rows(metrics, ci),
        "",
        "95% CIs: percentile bootstrap over the test rows (1,000 resamples).",
        "",
        f"Best dev MCC {_fmt(metrics.get('dev_mcc'))} at epoch {metrics.get('best_epoch')}."
        + (" The model predicted one class for every test sequence (collapsed)."
           if metrics.get("constant_prediction") else ""),  # fmt: skip
        "",
        "## Intended use",
        "",
        f"Scoring DNA sequences of the task's window ({window if window is not None else 'any'} bp) "
        "for the classes above, as in the DNABERT paper's benchmarks; research use.",
        "",
        "## Limits",
        "",
        "- Trained and evaluated on this task's data only (see the card's genome and sources); "
        "other species, assays or windows are out of distribution.",
        "- Input must be A/C/G/T/N; N and other letters become [UNK] (k-mer models) or zero "
        "one-hot columns (baselines).",
        "- Test metrics come from one seed; compare models over seeds with the workflow's "
        "`results/summary/benchmarks.tsv` (bootstrap CIs).",
        "",
        "## How to load",
        "",
        "```bash",
        "dnalm predict MODEL_DIR --fasta my.fa -o predictions.tsv   # card.json gives the window",
        "```",
        "",
        "```python",
        "from dnalm.predict import load_model_dir, predict_proba",
        "clf = load_model_dir('MODEL_DIR')",
        "probs = predict_proba(clf.model, sequences, clf.k)",
        "```",
    ]
    if hf_ok:
        lines += [
            "",
            "With transformers alone (the tokenizer k-merises raw DNA of any case):",
            "",
            "```python",
            "from transformers import AutoModelForSequenceClassification, AutoTokenizer",
            "tok = AutoTokenizer.from_pretrained('MODEL_DIR')",
            "model = AutoModelForSequenceClassification.from_pretrained('MODEL_DIR')",
            "logits = model(**tok(['acgtNACGT...'], return_tensors='pt', padding=True)).logits",
            "```",
        ]
    else:
        lines += ["", "This is not a transformers model class: load it with dnalm as above."]
    return "\n".join(lines) + "\n"


def split_counts(labels: Mapping[str, np.ndarray]) -> dict[str, dict[str, int]]:
    """``{split: {label: n}}`` of label arrays (as a card's ``counts``)."""
    out = {}
    for split, y in labels.items():
        vals, n = np.unique(np.asarray(y), return_counts=True)
        out[split] = {str(int(v)): int(c) for v, c in zip(vals, n, strict=True)}
    return out
