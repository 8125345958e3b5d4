"""Build one benchmark task: positives, negatives, leakage-free splits, TSVs and card.json.

``build_dataset(task, spec, inputs, outputs, ...)`` dispatches on ``spec["kind"]``:

========  ==========================================  ===========================
kind      positives                                   negatives (default)
========  ==========================================  ===========================
promoter  EPD TSS windows (``window``, ``subset``)    ``substitute``
tfbs      narrowPeak summit +- ``flank``, top-N       ``gc_matched``
splice    donors (0), acceptors (1) from a GTF        non-sites (2), half hard
pas       PAS hexamers near GTF 3' ends (1)           same hexamer elsewhere (0)
tis       annotated start ATGs from a GTF (1)         other ATGs in transcripts (0)
imported  a user's dataset (``format``, ``path``)     as given
========  ==========================================  ===========================

Output: ``{train,dev,test}.tsv.gz`` (gzip, mtime 0) with header
``sequence label contig start end strand source_id`` and ``card.json``. Same seed, same bytes.
Kind ``expression`` (a regression) is built by :func:`dnalm.expression.build_expression_dataset`.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dnalm import epd, importers, negatives, pas_tis, splice, tfbs
from dnalm.dataset import DEFAULT_K, Example, dataset_card, write_card, write_split
from dnalm.expression import build_expression_dataset
from dnalm.fasta import Genome
from dnalm.fetch import obtain
from dnalm.splits import SPLITS, cap_per_class, check_no_leakage, dedupe, split_examples

__all__ = [
    "DEFAULT_NEGATIVES",
    "build_dataset",
    "prepare_annotation",
]

log = logging.getLogger(__name__)

DEFAULT_NEGATIVES = {"promoter": "substitute", "tfbs": "gc_matched"}
PROMOTER_MARGIN = 1000


def _task_rng(seed: int, task: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(task.encode())])


def _check_labels(examples: Sequence[Example], task: str) -> None:
    labels = sorted({ex.label for ex in examples})
    if len(labels) < 2:
        raise ValueError(f"task {task!r}: only label(s) {labels}; a classification task needs >= 2")
    if labels != list(range(len(labels))):
        raise ValueError(f"task {task!r}: labels must be 0..{len(labels) - 1}, got {labels}")


def _promoter(task, spec, inputs, rng, verbose):
    g = Genome(inputs["fasta"], inputs.get("contigs"))
    proms = epd.read_promoters(inputs["epd"])
    window = tuple(spec["window"])
    pos, st = epd.promoter_examples(
        proms,
        g,
        window,
        spec.get("subset", "all"),
        spec.get("unknown_contigs", "skip"),
        inputs["epd"],
    )
    if not pos:
        raise ValueError(f"task {task!r}: no promoter windows from {inputs['epd']} ({st})")
    strategy = spec.get("negatives", DEFAULT_NEGATIVES["promoter"])
    exclude = []
    for p in proms:  # every promoter, not only the subset
        c = g.canonical(p.contig)
        if c is not None:
            exclude.append((c, *epd.promoter_window(p.tss0, p.strand, window)))
    negs, nst = negatives.make_negatives(
        strategy, pos, rng, g, exclude, PROMOTER_MARGIN, label=0, verbose=verbose
    )
    g.close()
    return pos + negs, strategy, {"positives": st, "negatives": nst}


def _tfbs(task, spec, inputs, rng, verbose):
    g = Genome(inputs["fasta"], inputs.get("contigs"))
    peaks = tfbs.read_narrowpeak(inputs["peaks"])
    pos, st = tfbs.peak_examples(
        peaks,
        g,
        spec.get("flank", 50),
        spec.get("top_n"),
        spec.get("unknown_contigs", "skip"),
        inputs["peaks"],
    )
    if not pos:
        raise ValueError(f"task {task!r}: no usable peaks in {inputs['peaks']} ({st})")
    strategy = spec.get("negatives", DEFAULT_NEGATIVES["tfbs"])
    negs, nst = negatives.make_negatives(
        strategy, pos, rng, g, tfbs.peak_intervals(peaks, g), 0, label=0, verbose=verbose
    )
    g.close()
    return pos + negs, strategy, {"positives": st, "negatives": nst}


def _splice(task, spec, inputs, rng, verbose):
    g = Genome(inputs["fasta"], inputs.get("contigs"))
    tx = splice.read_gtf_exons(inputs["gtf"])
    w = spec.get("window", 400)
    if not isinstance(w, int):
        raise ValueError(
            f"config key `tasks.{task}.window`: splice window must be an integer, got {w!r}"
        )
    exs, st = splice.splice_examples(
        tx, g, rng, w, spec.get("unknown_contigs", "skip"), inputs["gtf"], verbose=verbose
    )
    g.close()
    if not exs:
        raise ValueError(f"task {task!r}: no splice sites in {inputs['gtf']}")
    return exs, "splice_nonsites", st


def _gsr(task, spec, inputs, rng, verbose):
    kind = spec["kind"]
    key = f"annotations.{spec.get('genome')}.gtf"
    models = pas_tis.read_gtf_models(inputs["gtf"], need_cds=kind == "tis", config_key=key)
    g = Genome(inputs["fasta"], inputs.get("contigs"))
    common = {"unknown_contigs": spec.get("unknown_contigs", "skip"), "source": inputs["gtf"],
              "task_key": f"tasks.{task}"}  # fmt: skip
    if spec.get("window") is not None:
        common["window"] = spec["window"]
    if kind == "pas":
        hexamers = spec.get("hexamers") or pas_tis.PAS_HEXAMERS
        exs, st = pas_tis.pas_examples(models, g, rng, hexamers=hexamers, **common)
    else:
        exs, st = pas_tis.tis_examples(models, g, rng, **common)
    g.close()
    if not any(e.label == 1 for e in exs):
        raise ValueError(f"task {task!r}: no {kind} sites in {inputs['gtf']} ({st})")
    return exs, "same_motif_elsewhere", st


def build_dataset(
    task: str,
    spec: Mapping[str, Any],
    inputs: Mapping[str, str | Path],
    outputs: Mapping[str, str | Path],
    splits: Mapping[str, Any] | None = None,
    verbose: bool = True,
) -> dict[str, Any]:
    """Build task ``task`` and write its three split TSVs and card.

    Parameters
    ----------
    task : str
        Task key (seeds the negative sampler together with ``splits.seed``).
    spec : mapping
        ``tasks.<task>`` from config.
    inputs : mapping
        ``fasta`` (+ ``contigs``) and ``epd`` / ``peaks`` / ``gtf`` by kind; for ``imported``
        ``path`` (+ ``labels``).
    outputs : mapping
        ``train``, ``dev``, ``test``, ``card`` paths.
    splits : mapping, optional
        ``{train, dev, test, seed}``. Default is 80/10/10, seed 1.
    verbose : bool, optional
        Default is True.

    Returns
    -------
    card : dict
    """
    splits = dict(splits or {})
    seed = int(splits.get("seed", 1))
    fractions = {k: splits[k] for k in SPLITS if k in splits}
    kind = spec.get("kind")
    if kind == "expression":  # regression: its own split columns (dnalm.expression)
        return build_expression_dataset(task, spec, inputs, outputs, splits)
    rng = _task_rng(seed, task)
    given: dict[str, list[Example]] | None = None
    if kind == "promoter":
        examples, strategy, stats = _promoter(task, spec, inputs, rng, verbose)
    elif kind == "tfbs":
        examples, strategy, stats = _tfbs(task, spec, inputs, rng, verbose)
    elif kind == "splice":
        examples, strategy, stats = _splice(task, spec, inputs, rng, verbose)
    elif kind in ("pas", "tis"):
        examples, strategy, stats = _gsr(task, spec, inputs, rng, verbose)
    elif kind == "imported":
        with contextlib.ExitStack() as stack:  # with the genome's FASTA: rows checked against it
            genome = (stack.enter_context(Genome(inputs["fasta"], inputs.get("contigs")))
                      if "fasta" in inputs else None)  # fmt: skip
            data, _ = importers.import_examples(
                spec["format"],
                inputs["path"],
                inputs.get("labels"),
                spec.get("label_set"),
                int(spec.get("k", DEFAULT_K)),
                genome,
            )
        strategy, stats = None, {"format": spec["format"]}
        if isinstance(data, dict):
            given, examples = data, [ex for s in SPLITS for ex in data[s]]
        else:
            examples = data
        stats["with_coordinates"] = importers.require_coordinates(
            examples, task, spec.get("genome")
        )
    else:
        raise ValueError(f"config key `tasks.{task}.kind`: unknown kind {kind!r}")
    _check_labels(examples, task)
    if spec.get("max_per_class") is not None and given is None:
        examples, dropped = cap_per_class(
            examples, int(spec["max_per_class"]), _task_rng(seed, task + ":cap")
        )
        stats["capped_per_class"] = {str(k): v for k, v in dropped.items()}
    if given is not None:  # keep the source's splits; drop repeats (train first, then dev, test)
        kept, dst = dedupe(examples)
        keep = {id(ex) for ex in kept}
        parts = {s: [ex for ex in given[s] if id(ex) in keep] for s in SPLITS}
        check_no_leakage(parts)
        stats["dedupe"] = dst
        stats["splits_from_source"] = True
    else:
        parts, dst = split_examples(examples, fractions, seed, spec.get("holdout_chroms"))
        stats["dedupe"] = dst
    if spec.get("max_train") is not None:  # data-scarce version: cap train only
        n_labels = len({ex.label for ex in parts["train"]}) or 1
        parts["train"], dropped = cap_per_class(
            parts["train"], int(spec["max_train"]) // n_labels, _task_rng(seed, task + ":train")
        )
        stats["train_capped_per_class"] = {str(k): v for k, v in dropped.items()}
    sources = [
        (k, inputs[k]) for k in ("epd", "peaks", "gtf", "path", "labels", "contigs") if k in inputs
    ]
    if "fasta" in inputs:
        fai = Path(str(inputs["fasta"]) + ".fai")
        sources.append(("genome_fai", fai if fai.exists() else inputs["fasta"]))
    card = dataset_card(task, spec, parts, strategy, sources, stats, seed)
    for s in SPLITS:  # every check has passed: only now is anything written
        write_split(parts[s], outputs[s])
    write_card(card, outputs["card"])
    log.info("%s: %s", task, card["counts"])
    return card


def prepare_annotation(
    kind: str,
    sources: Mapping[str, Mapping[str, Any]],
    out: str | Path,
    fasta: str | Path,
    contigs: str | Path | None = None,
) -> dict:
    """Fetch an annotation source and write it with the genome's contig names.

    Parameters
    ----------
    kind : str
        ``epd`` (sources ``epd`` and optional ``epd_motifs``), ``gtf`` or ``peaks``.
    sources : mapping of name -> {url, md5, sha256, checksum}
    out : str or Path
        ``epd.tsv``, ``genes.gtf.gz`` or ``<experiment>.narrowPeak.gz``.
    fasta, contigs : str or Path
        The prepared genome and its ``contigs.tsv``.

    Returns
    -------
    stats : dict
    """
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=Path(out).parent, prefix=".fetch_") as tmp:
        paths = {k: obtain(v, tmp) for k, v in sources.items() if v}
        if kind == "epd":
            return epd.normalize_epd(paths["epd"], out, paths.get("epd_motifs"), contigs, fasta)
        if kind == "gtf":
            return splice.normalize_gtf(paths["gtf"], out, fasta, contigs)
        if kind == "peaks":
            return tfbs.normalize_peaks(paths["peaks"], out, fasta, contigs)
    raise ValueError(f"`kind` must be epd, gtf or peaks, got {kind!r}")
