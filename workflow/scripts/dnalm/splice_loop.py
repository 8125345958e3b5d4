"""SpliceFinder-style hard-negative rounds for a splice task (``tasks.<t>.hard_negatives``).

Round 0 is the task's ordinary dataset (:func:`dnalm.datasets.build_dataset`). Round ``r >= 1``
takes round ``r - 1``'s dataset and the model trained on it, scores a seeded pool of *GT/AG
non-sites* (genic positions carrying ``GT`` or ``AG`` exactly where a real donor or acceptor
would, drawn afresh each round) and appends the pool's false positives, the rows whose
splice-site probability ``1 - P(non-site)`` exceeds ``threshold``, most confident first and at
most ``max_added_per_round``, to the **train** split as extra non-sites (label 2). Dev and test
never change, so every round's test metrics are comparable.

A pool candidate never

- lies within :data:`SITE_MARGIN` bp of an annotated donor or acceptor (either strand);
- has a window overlapping a dev or test row, or a row of the held-out pool;
- repeats a train row (same position and strand, or the same sequence).

The held-out pool (:func:`heldout_pool`) is a fixed set of GT/AG non-sites, overlapping no
dataset row: the false-positive rate of each round's model on it shows whether the loop works.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dnalm import atomic
from dnalm.dataset import Example, dataset_card, read_examples, read_split, write_card, write_split
from dnalm.fasta import Genome
from dnalm.gene_windows import genic_spans, known_transcripts
from dnalm.splice import NONSITE, Transcript, read_gtf_exons, splice_sites
from dnalm.splits import SPLITS, check_no_leakage

__all__ = [
    "SITE_MARGIN",
    "Exclusions",
    "gtag_pool",
    "heldout_pool",
    "site_probability",
    "mine_round",
    "train_round",
    "wilson_ci",
    "heldout_scores",
    "EVAL_RECALL",
    "ROUND_COLUMNS",
    "rounds_table",
]

log = logging.getLogger(__name__)

SITE_MARGIN = 2
"""Pool candidates keep at least this many bp (exclusive) from every annotated site."""

ADDED_COLUMNS = ("source_id", "contig", "start", "end", "strand", "p_site", "sequence")


class Exclusions:
    """Positions and windows a pool candidate must avoid.

    Parameters
    ----------
    sites : mapping of contig -> sorted int array
        Annotated site boundaries (both strands, both classes).
    windows : mapping of contig -> sorted int array
        Starts of same-length windows that no candidate window may overlap (dev/test rows,
        held-out pool).
    taken : set of (contig, start, strand)
        Rows already in the data (train rows); never drawn again.
    sequences : set of str
        Sequences already in the data.
    window : int
        Window length (overlap of two windows = starts closer than this).
    """

    def __init__(
        self,
        sites: Mapping[str, np.ndarray],
        windows: Mapping[str, np.ndarray],
        taken: set[tuple[str, int, str]],
        sequences: set[str],
        window: int,
    ):
        self.sites = dict(sites)
        self.windows = dict(windows)
        self.taken = taken
        self.sequences = sequences
        self.window = window

    @staticmethod
    def _near(arr: np.ndarray | None, x: int, d: int) -> bool:
        if arr is None or not len(arr):
            return False
        i = int(np.searchsorted(arr, x))
        return (i < len(arr) and arr[i] - x <= d) or (i > 0 and x - arr[i - 1] <= d)

    def allows(self, contig: str, start: int, boundary: int, strand: str) -> bool:
        """Whether a candidate window ``[start, start + window)`` centred on ``boundary`` is usable."""
        if (contig, start, strand) in self.taken:
            return False
        if self._near(self.sites.get(contig), boundary, SITE_MARGIN):
            return False
        return not self._near(self.windows.get(contig), start, self.window - 1)


def _sorted_by_contig(pairs: Sequence[tuple[str, int]]) -> dict[str, np.ndarray]:
    out: dict[str, list[int]] = {}
    for c, x in pairs:
        out.setdefault(c, []).append(int(x))
    return {c: np.unique(np.asarray(v, dtype=np.int64)) for c, v in out.items()}


def _rows_with_coords(exs: Sequence[Example]) -> list[Example]:
    return [e for e in exs if e.start is not None and e.contig != "."]


def gtag_pool(
    transcripts: Mapping[str, Transcript],
    genome: Genome,
    rng: np.random.Generator,
    window: int,
    n: int,
    exclude: Exclusions,
    tag: str,
    max_draws_each: int = 200,
) -> list[Example]:
    """Draw up to ``n`` distinct GT/AG non-site windows from the transcripts' genic spans.

    A candidate is a boundary ``b`` drawn uniformly over multi-exon transcript spans (weighted
    by length), read on the transcript's strand, whose window ``[b - W/2, b + W/2)`` has ``GT``
    at ``[W/2, W/2 + 2)`` or ``AG`` at ``[W/2 - 2, W/2)``, no ``N`` and passes ``exclude``.

    Parameters
    ----------
    transcripts : mapping
        From :func:`dnalm.splice.read_gtf_exons`.
    genome : Genome
    rng : numpy.random.Generator
        Seeded: same seed, same pool.
    window : int
        Even window length.
    n : int
        Pool size wanted.
    exclude : Exclusions
        Updated in place with the drawn rows (so two pools drawn in turn are disjoint).
    tag : str
        Prefix of the rows' ``source_id`` (``<tag>:<contig>:<boundary>:<strand>``).
    max_draws_each : int, optional
        Give up after ``max_draws_each * n`` draws. Default is 200.

    Returns
    -------
    list of Example
        Label :data:`dnalm.splice.NONSITE`, in drawing order (fewer than ``n`` when the
        genome runs out; logged).
    """
    h = window // 2
    known = known_transcripts(transcripts, genome)
    spans = genic_spans(known, min_exons=2)
    out: list[Example] = []
    if not spans or n <= 0:
        return out
    lens = np.array([e - s for _, s, e, _ in spans], dtype=np.float64)
    p = lens / lens.sum()
    draws, budget = 0, max_draws_each * n
    while len(out) < n and draws < budget:
        idx = rng.choice(len(spans), size=1024, p=p)
        u = rng.random(1024)
        for i, x in zip(idx, u, strict=True):
            draws += 1
            c, s, e, strand = spans[int(i)]
            b = s + int(x * (e - s))
            a = b - h
            if not genome.within(c, a, b + h) or not exclude.allows(c, a, b, strand):
                continue
            seq = genome.fetch(c, a, b + h, strand)
            if "N" in seq or not (seq[h : h + 2] == "GT" or seq[h - 2 : h] == "AG"):
                continue
            if seq in exclude.sequences:
                continue
            exclude.taken.add((c, a, strand))
            exclude.sequences.add(seq)
            out.append(Example(seq, NONSITE, c, a, b + h, strand, f"{tag}:{c}:{b}:{strand}"))
            if len(out) >= n:
                break
    if len(out) < n:
        log.warning("splice pool %s: only %d of %d GT/AG non-sites found", tag, len(out), n)
    return out


def _read_splits(d: Mapping[str, str | Path]) -> dict[str, list[Example]]:
    return {s: read_examples(d[s]) for s in SPLITS}


def _exclusions(
    transcripts: Mapping[str, Transcript],
    genome: Genome,
    splits: Mapping[str, Sequence[Example]],
    window: int,
    avoid_windows: Sequence[Example] = (),
    avoid_all_windows: bool = False,
) -> Exclusions:
    known = known_transcripts(transcripts, genome)
    sites = _sorted_by_contig([(s.contig, s.boundary) for s in splice_sites(known)])
    shut = [*avoid_windows]
    for s in SPLITS:
        if s != "train" or avoid_all_windows:
            shut += splits[s]
    windows = _sorted_by_contig([(e.contig, e.start) for e in _rows_with_coords(shut)])
    taken = {(e.contig, int(e.start), e.strand) for e in _rows_with_coords(splits["train"])}
    seqs = {e.sequence for s in SPLITS for e in splits[s]} | {e.sequence for e in avoid_windows}
    return Exclusions(sites, windows, taken, seqs, window)


def _window(splits: Mapping[str, Sequence[Example]], task: str) -> int:
    lengths = {len(e.sequence) for s in SPLITS for e in splits[s]}
    if len(lengths) != 1:
        raise ValueError(f"task {task!r}: splice rows must share one length, got {sorted(lengths)}")
    w = lengths.pop()
    if w % 2:
        raise ValueError(f"task {task!r}: splice window must be even, got {w}")
    return w


def heldout_pool(
    task: str,
    dataset: Mapping[str, str | Path],
    gtf: str | Path,
    fasta: str | Path,
    out: str | Path,
    n: int,
    seed: int = 1,
    contigs: str | Path | None = None,
) -> int:
    """Write the held-out GT/AG non-sites of a task's loop (a split TSV); return their number.

    The pool overlaps no row of round 0 (any split) and is the same for every round, so each
    round's false-positive rate on it is comparable. Later rounds' mining pools avoid it.
    """
    splits = _read_splits(dataset)
    w = _window(splits, task)
    with Genome(fasta, contigs) as g:
        ex = _exclusions(read_gtf_exons(gtf), g, splits, w, avoid_all_windows=True)
        rows = gtag_pool(read_gtf_exons(gtf), g, _rng(seed, task, "heldout"), w, n, ex, "heldout")
    if not rows:
        raise ValueError(f"task {task!r}: no GT/AG non-sites for the held-out pool in {gtf}")
    write_split(rows, out)
    return len(rows)


def _rng(seed: int, task: str, stream: str) -> np.random.Generator:
    key = [ord(ch) for ch in f"splice_loop:{task}:{stream}"]
    return np.random.default_rng([int(seed), *key])


def site_probability(model_dir: str | Path, seqs: Sequence[str], batch_size: int = 256) -> np.ndarray:
    """``1 - P(non-site)`` for each sequence under a saved model directory (class 2 = non-site)."""
    from dnalm.predict import class_logits, load_model_dir

    if not len(seqs):
        return np.zeros(0)
    clf = load_model_dir(model_dir)
    logits = class_logits(clf, list(seqs), batch_size=batch_size, device="cpu")
    if logits.shape[1] <= NONSITE:
        raise ValueError(f"{model_dir}: a splice model needs 3 classes, got {logits.shape[1]}")
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return 1.0 - p[:, NONSITE]


def mine_round(
    task: str,
    spec: Mapping[str, Any],
    r: int,
    previous: Mapping[str, str | Path],
    model_dir: str | Path,
    heldout: str | Path,
    gtf: str | Path,
    fasta: str | Path,
    outputs: Mapping[str, str | Path],
    seed: int = 1,
    contigs: str | Path | None = None,
) -> dict[str, Any]:
    """Build round ``r``: round ``r - 1`` plus its model's false positives in train.

    Parameters
    ----------
    task : str
    spec : mapping
        ``tasks.<task>`` (its ``hard_negatives`` block: ``pool_size``, ``threshold``,
        ``max_added_per_round``).
    r : int
        Round number, >= 1.
    previous : mapping
        Round ``r - 1``'s ``train``, ``dev``, ``test``, ``card`` paths.
    model_dir : str or Path
        Model trained on round ``r - 1`` (:func:`dnalm.predict.load_model_dir`).
    heldout : str or Path
        Held-out pool (never mined).
    gtf, fasta, contigs : paths
        Annotation and genome.
    outputs : mapping
        ``train``, ``dev``, ``test``, ``card`` and ``added`` (gzip TSV of the added rows with
        their ``p_site``).
    seed : int, optional
        ``splits.seed``; the pool of round ``r`` is drawn from ``(seed, task, r)``.

    Returns
    -------
    stats : dict
        ``round``, ``pool``, ``false_positives`` (pool rows above threshold), ``added``.
    """
    if r < 1:
        raise ValueError(f"round must be >= 1, got {r}")
    hn = dict(spec.get("hard_negatives") or {})
    threshold = float(hn.get("threshold", 0.5))
    cap = int(hn.get("max_added_per_round", 2000))
    splits = _read_splits(previous)
    w = _window(splits, task)
    held = read_examples(heldout)
    tx = read_gtf_exons(gtf)
    with Genome(fasta, contigs) as g:
        ex = _exclusions(tx, g, splits, w, avoid_windows=held)
        pool = gtag_pool(tx, g, _rng(seed, task, f"round{r}"), w, int(hn.get("pool_size", 20000)), ex, f"hn{r}")
    p = site_probability(model_dir, [e.sequence for e in pool])
    fp = np.flatnonzero(p > threshold)
    order = fp[np.argsort(-p[fp], kind="stable")][:cap]
    added = [pool[i] for i in sorted(order.tolist())]
    parts = {**splits, "train": splits["train"] + added}
    check_no_leakage(parts)
    prev_card = _read_json(previous["card"])
    stats = dict(prev_card.get("stats", {}))
    rounds = list(stats.get("hard_negative_rounds", []))
    info = {"round": r, "pool": len(pool), "false_positives": int(len(fp)), "added": len(added),
            "threshold": threshold, "max_added_per_round": cap}  # fmt: skip
    rounds.append(info)
    stats["hard_negative_rounds"] = rounds
    sources = [(s["role"], s["path"]) for s in prev_card.get("sources", []) if Path(s["path"]).exists()]
    card = dataset_card(task, spec, parts, prev_card.get("negative_strategy"), sources, stats,
                        prev_card.get("seed"))  # fmt: skip
    for s in SPLITS:
        write_split(parts[s], outputs[s])
    _write_added(added, p[sorted(order.tolist())] if len(order) else np.zeros(0), outputs["added"])
    write_card(card, outputs["card"])
    log.info("%s round %d: pool %d, false positives %d, added %d", task, r, len(pool), len(fp), len(added))
    return info


def _write_added(rows: Sequence[Example], p: np.ndarray, path: str | Path) -> None:
    df = pd.DataFrame(
        {"source_id": [e.source_id for e in rows], "contig": [e.contig for e in rows],
         "start": [e.start for e in rows], "end": [e.end for e in rows],
         "strand": [e.strand for e in rows], "p_site": np.round(p, 6),
         "sequence": [e.sequence for e in rows]},
        columns=list(ADDED_COLUMNS),
    )  # fmt: skip
    with atomic.open_gzip(path) as gz:
        gz.write(df.to_csv(sep="\t", index=False).encode())


def _read_json(path: str | Path) -> dict[str, Any]:
    import json

    return json.loads(Path(path).read_text())


def wilson_ci(k: int, n: int, z: float = 1.959964) -> tuple[float | None, float | None]:
    """Wilson score 95% interval of a proportion ``k / n`` (None, None when ``n == 0``)."""
    if n <= 0:
        return None, None
    ph = k / n
    d = 1 + z * z / n
    c = (ph + z * z / (2 * n)) / d
    half = z * math.sqrt(ph * (1 - ph) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - half), min(1.0, c + half)


#: Recall on the test split's true sites at which :func:`heldout_scores` reads the held-out FPR.
EVAL_RECALL = 0.9


def heldout_scores(
    model_dir: str | Path, held: Sequence[str], test: pd.DataFrame, threshold: float
) -> dict[str, Any]:
    """Held-out metrics of one model: comparable across rounds and seeds.

    Parameters
    ----------
    model_dir : str or Path
        A saved splice model (3 classes).
    held : sequence of str
        The fixed held-out GT/AG non-sites.
    test : pandas.DataFrame
        The task's test split (fixed across rounds): its true sites (label != non-site) give
        the threshold-free numbers.
    threshold : float
        ``hard_negatives.threshold``.

    Returns
    -------
    dict
        ``heldout_fp`` / ``heldout_fpr`` at ``threshold``; ``heldout_auroc``, the AUROC of test
        true sites against held-out non-sites (calibration-free); ``heldout_fpr_at_recall``,
        the held-out FPR at the threshold passing :data:`EVAL_RECALL` of the test sites;
        ``n_test_sites``.
    """
    from sklearn.metrics import roc_auc_score

    ph = site_probability(model_dir, list(held))
    sites = test.loc[test["label"].to_numpy() != NONSITE, "sequence"].tolist()
    pt = site_probability(model_dir, sites)
    k = int((ph > threshold).sum())
    out: dict[str, Any] = {"heldout_fp": k, "heldout_fpr": k / len(ph) if len(ph) else None,
                           "n_test_sites": len(pt), "heldout_auroc": None,
                           "heldout_fpr_at_recall": None}  # fmt: skip
    if len(pt) and len(ph):
        y = np.r_[np.ones(len(pt)), np.zeros(len(ph))]
        out["heldout_auroc"] = float(roc_auc_score(y, np.r_[pt, ph]))
        cut = float(np.quantile(pt, 1.0 - EVAL_RECALL, method="lower"))
        out["heldout_fpr_at_recall"] = float((ph >= cut).mean())
    return out


def train_round(
    task: str,
    spec: Mapping[str, Any],
    r: int,
    dataset: Mapping[str, str | Path],
    heldout: str | Path,
    out_dir: str | Path,
    ft_kwargs: Mapping[str, Any],
    seed: int = 1,
    num_threads: int | None = None,
    trained: str | Path | None = None,
) -> dict[str, Any]:
    """Train the loop's model on round ``r``; write ``out_dir``/{model/, metrics.json, ...}.

    With ``trained``, a fine-tuning run folder (``metrics.json``, ``model/``) of the same model
    on the same data, that run's files are copied instead of training again.

    ``ft_kwargs`` are :func:`dnalm.finetune.finetune` settings (from ``finetune:``);
    ``hard_negatives.epochs`` and ``hard_negatives.min_steps`` override theirs when set.

    ``out_dir/round.json`` holds the round's summary: ``test_mcc``, train size, rows added
    this round, and, on the fixed held-out pool (:func:`heldout_scores`), the false-positive
    rate at ``threshold`` with its Wilson 95% CI, the AUROC against the test sites and the
    FPR at :data:`EVAL_RECALL` test recall. With ``hard_negatives.eval_seeds`` > 1, models of
    seeds ``seed + 1, ...`` are trained on the same data only to be scored the same way
    (``per_seed``, and the ``*_mean``/``*_min``/``*_max`` keys); the mining model stays the
    ``seed`` one.
    """
    import shutil
    import tempfile

    from dnalm.finetune import finetune

    hn = dict(spec.get("hard_negatives") or {})
    model = str(hn.get("model", "cnn"))
    threshold = float(hn.get("threshold", 0.5))
    n_seeds = int(hn.get("eval_seeds", 1))
    out_dir = Path(out_dir)
    ft_kwargs = dict(ft_kwargs)
    for key in ("epochs", "min_steps"):  # the loop's own training length, if set
        if hn.get(key) is not None:
            ft_kwargs[key] = int(hn[key])

    def fit(s: int, where: Path) -> dict[str, Any]:
        return finetune(dataset["train"], dataset["dev"], dataset["test"], where, model, seed=s,
                        task=task, num_threads=num_threads, card=dataset.get("card"), n_classes=3,
                        **ft_kwargs)  # fmt: skip

    metrics = _copy_run(Path(trained), out_dir, model) if trained is not None else fit(seed, out_dir)
    held = read_split(heldout)["sequence"].tolist()
    test = read_split(dataset["test"])
    main = heldout_scores(out_dir / "model", held, test, threshold)
    per_seed = [{"seed": seed, "test_mcc": metrics.get("mcc"), **main}]
    for s in range(seed + 1, seed + n_seeds):
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=f".eval_seed{s}_") as tmp:
            m = fit(s, Path(tmp))
            per_seed.append({"seed": s, "test_mcc": m.get("mcc"),
                             **heldout_scores(Path(tmp) / "model", held, test, threshold)})  # fmt: skip
            shutil.rmtree(tmp, ignore_errors=True)
    k, n = main["heldout_fp"], len(held)
    lo, hi = wilson_ci(k, n)
    card = _read_json(dataset["card"])
    rounds = card.get("stats", {}).get("hard_negative_rounds", [])
    this = next((x for x in rounds if x.get("round") == r), None)
    summary = {
        "task": task, "round": r, "model": model, "seed": seed, "threshold": threshold,
        "n_train": sum(card["counts"]["train"].values()), "n_test": sum(card["counts"]["test"].values()),
        "added": this["added"] if this else 0, "pool": this["pool"] if this else 0,
        "pool_false_positives": this["false_positives"] if this else 0,
        "test_mcc": metrics.get("mcc"),
        "heldout_n": n, **main, "heldout_fpr_ci": [lo, hi],
        "eval_recall": EVAL_RECALL, "eval_seeds": len(per_seed), "per_seed": per_seed,
    }  # fmt: skip
    for key in ("heldout_fpr", "heldout_auroc", "heldout_fpr_at_recall", "test_mcc"):
        vals = [x[key] for x in per_seed if x[key] is not None]
        summary[f"{key}_mean"] = float(np.mean(vals)) if vals else None
        summary[f"{key}_min"] = float(np.min(vals)) if vals else None
        summary[f"{key}_max"] = float(np.max(vals)) if vals else None
    atomic.write_json(out_dir / "round.json", summary)
    return summary


def _copy_run(src: Path, out_dir: Path, model: str) -> dict[str, Any]:
    import shutil

    metrics = _read_json(src / "metrics.json")
    if metrics.get("model") != model:
        raise ValueError(f"{src}/metrics.json: model {metrics.get('model')!r}, expected {model!r}")
    with atomic.atomic_dir(out_dir / "model") as tmp:
        shutil.copytree(src / "model", tmp, dirs_exist_ok=True)
    atomic.write_json(out_dir / "metrics.json", metrics)
    return metrics


def _vs_round0(row: pd.Series, first: pd.Series) -> str:
    """Whether a round's held-out FPR is clearly below/above round 0's.

    With several seeds per round, clearly means the seed ranges do not overlap; with one, the
    Wilson 95% intervals do not overlap.
    """
    if row["round"] == first["round"]:
        return "reference"
    if int(row["eval_seeds"]) > 1 and int(first["eval_seeds"]) > 1:
        lo, hi, lo0, hi0 = (row["heldout_fpr_min"], row["heldout_fpr_max"],
                            first["heldout_fpr_min"], first["heldout_fpr_max"])  # fmt: skip
    else:
        lo, hi, lo0, hi0 = (row["heldout_fpr_lo"], row["heldout_fpr_hi"],
                            first["heldout_fpr_lo"], first["heldout_fpr_hi"])  # fmt: skip
    if hi < lo0:
        return "lower"
    if lo > hi0:
        return "higher"
    return "no clear change"


ROUND_COLUMNS = (
    "task", "round", "model", "n_train", "added", "pool", "pool_false_positives", "test_mcc",
    "heldout_n", "heldout_fp", "heldout_fpr", "heldout_fpr_lo", "heldout_fpr_hi",
    "heldout_auroc", "n_test_sites", "heldout_fpr_at_recall", "eval_seeds",
    "heldout_fpr_mean", "heldout_fpr_min", "heldout_fpr_max", "heldout_auroc_mean",
    "heldout_fpr_at_recall_mean", "test_mcc_mean", "fpr_vs_round0",
)  # fmt: skip
"""Columns of ``rounds.tsv``: the mining model's numbers (seed ``splits.seed``), then the
means and ranges over ``hard_negatives.eval_seeds`` models, and ``fpr_vs_round0``."""


def rounds_table(paths: Sequence[str | Path], out: str | Path) -> pd.DataFrame:
    """One row per round from the ``round.json`` files, written as a TSV (rounds sorted).

    Every round is scored on the same held-out pool and test split, so the rows compare;
    ``fpr_vs_round0`` says ``lower``/``higher`` only when the round's held-out FPR is outside
    round 0's seed range (several seeds) or Wilson interval (one seed), else
    ``no clear change``: a loop that does not reduce false positives is reported as such.
    """
    rows = [_read_json(p) for p in paths]
    df = pd.DataFrame(rows).sort_values("round").reset_index(drop=True)
    ci = df.pop("heldout_fpr_ci")
    df["heldout_fpr_lo"] = [c[0] for c in ci]
    df["heldout_fpr_hi"] = [c[1] for c in ci]
    for col in ROUND_COLUMNS:  # round.json files written before these keys existed
        if col not in df.columns:
            df[col] = df["heldout_fpr"] if col.startswith("heldout_fpr_m") else None
    df["eval_seeds"] = df["eval_seeds"].fillna(1).astype(int)
    df["fpr_vs_round0"] = [_vs_round0(row, df.iloc[0]) for _, row in df.iterrows()]
    df = df[list(ROUND_COLUMNS)]
    atomic.write_text(out, df.to_csv(sep="\t", index=False, float_format="%.4f"))
    return df
