"""Genome scan with a fine-tuned classifier (DNABERT's Prom-scan): strided windows, streamed.

:func:`scan_genome` slides a window of the model's input length ``W`` along each scanned
interval (whole contigs, or merged BED regions) with step ``stride``; windows start at
``start, start + stride, ...`` and end inside the interval (an interval shorter than ``W``
gives no window and is counted). Windows are read from the indexed FASTA and predicted in
chunks of ``chunk`` windows, so memory stays flat whatever the genome size: only one chunk's
sequence and one merged region are held at a time.

Outputs (each written atomically; on error none is left behind):

- **bedGraph** (and **BigWig** through ``pyBigWig``, chrom sizes from the FASTA's ``.fai``):
  the class probability of each window, drawn over its central ``stride`` bp
  ``[s + (W - stride) // 2, +stride)`` (clipped to the window and the contig), so consecutive
  windows tile the track without overlap.
- **Called regions** (BED6): windows with probability ``>= threshold``, their full extents
  ``[s, s + W)`` merged when they overlap or touch; kept when at least ``min_len`` bp long.
  name ``region<i>``, score ``round(1000 * max p)``, strand ``.``.

With ``strand="both"`` each window and its reverse complement are scored and the larger
probability is kept (a promoter model sees promoters of either orientation); ``"+"`` scores
the forward strand only. Windows where more than ``max_n`` of the bases are ``N`` (assembly
gaps) are not predicted and leave a gap in the track.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dnalm import atomic
from dnalm.bed import read_bed
from dnalm.contigs import prefix_resolver
from dnalm.fasta import open_indexed
from dnalm.seq import revcomp

__all__ = ["STRANDS", "ScanResult", "iter_window_probs", "output_paths", "read_regions",
           "region_recall", "scan_genome", "scan_intervals"]

log = logging.getLogger("dnalm.scan")

#: Strand choices of :func:`scan_genome`.
STRANDS = ("+", "-", "both")


@dataclass
class ScanResult:
    """What :func:`scan_genome` wrote and counted."""

    outputs: dict[str, str] = field(default_factory=dict)
    n_windows: int = 0
    n_skipped_n: int = 0
    n_short_intervals: int = 0
    n_bases: int = 0
    n_regions: int = 0
    contigs: list[str] = field(default_factory=list)
    truth: dict | None = None

    def as_dict(self) -> dict:
        return {
            "outputs": self.outputs, "n_windows": self.n_windows,
            "n_skipped_n": self.n_skipped_n, "n_short_intervals": self.n_short_intervals,
            "n_bases": self.n_bases, "n_regions": self.n_regions, "contigs": self.contigs,
        }


def read_regions(
    path: str | Path, sizes: dict[str, int], merge: bool = True
) -> list[tuple[str, int, int]]:
    """BED intervals (first 3 columns), sorted and (unless ``merge`` is False) merged; contigs
    must be in ``sizes``.

    Raises
    ------
    ValueError
        ``<file>:<line>: ...`` for a line with fewer than 3 columns, non-integer or
        out-of-range coordinates, or a contig missing from the genome.
    """
    p = Path(path)
    resolve = prefix_resolver(sizes)  # chr1 / 1, chrM / MT: as score-variants matches them
    raw: list[tuple[str, int, int]] = []
    for iv in read_bed(p):
        contig = resolve(iv.contig)
        if contig is None:
            raise ValueError(f"{p}:{iv.line}: contig {iv.contig!r} is not in the genome")
        if iv.end > sizes[contig]:
            raise ValueError(f"{p}:{iv.line}: interval {iv.contig}:{iv.start}-{iv.end} is outside the "
                             f"contig (length {sizes[contig]})")
        raw.append((contig, iv.start, iv.end))
    order = {c: i for i, c in enumerate(sizes)}
    raw.sort(key=lambda t: (order[t[0]], t[1], t[2]))
    if not merge:
        return raw
    merged: list[tuple[str, int, int]] = []
    for c, s, e in raw:
        if merged and merged[-1][0] == c and s <= merged[-1][2]:
            merged[-1] = (c, merged[-1][1], max(merged[-1][2], e))
        else:
            merged.append((c, s, e))
    return merged


def scan_intervals(
    sizes: dict[str, int],
    contigs: Sequence[str] | None = None,
    regions: Sequence[tuple[str, int, int]] | None = None,
) -> list[tuple[str, int, int]]:
    """Intervals to scan: ``regions`` if given, else whole ``contigs`` (default all, FASTA order).

    Raises
    ------
    ValueError
        Naming a contig of ``contigs`` that is not in the genome.
    """
    if regions is not None:
        return list(regions)
    names = list(sizes) if not contigs else list(contigs)
    missing = [c for c in names if c not in sizes]
    if missing:
        raise ValueError(f"--contigs: {missing} not in the genome (it has {list(sizes)[:10]}...)")
    return [(c, 0, sizes[c]) for c in names]


def iter_window_probs(
    model,
    k: int | None,
    fasta,
    contig: str,
    start: int,
    end: int,
    window: int,
    stride: int,
    batch_size: int = 64,
    chunk: int | None = None,
    device=None,
    positive_class: int = 1,
    max_n: float = 0.5,
    strand: str = "+",
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Window starts and probabilities over ``[start, end)`` of one contig, chunk by chunk.

    Parameters
    ----------
    model, k
        As returned by :func:`dnalm.predict.load_classifier`.
    fasta : pysam.FastaFile
    window, stride : int
        Window length (bp) and step.
    chunk : int, optional
        Windows read and predicted together. Default is ``16 * batch_size``.
    max_n : float, optional
        Windows with a larger fraction of ``N`` are skipped (not yielded). Default is 0.5.
    strand : {"+", "-", "both"}, optional
        Score the window as read, its reverse complement, or both (the larger probability
        is kept). Default is "+".

    Yields
    ------
    starts : numpy.ndarray, shape=(m,), dtype=int64
        0-based window starts (predicted windows only).
    probs : numpy.ndarray, shape=(m,), dtype=float64
        Probability of ``positive_class``.
    """
    from dnalm.predict import predict_proba

    chunk = chunk or 16 * batch_size
    last = end - window  # last valid start
    for c0 in range(start, last + 1, stride * chunk):
        starts = np.arange(c0, min(c0 + stride * chunk, last + 1), stride, dtype=np.int64)
        seq = fasta.fetch(contig, int(starts[0]), int(starts[-1]) + window).upper()
        offs = starts - starts[0]
        wins = [seq[o : o + window] for o in offs]
        keep = np.array([w.count("N") <= max_n * window for w in wins], dtype=bool)
        if not keep.any():
            yield starts[:0], np.zeros(0)
            continue
        kept = [w for w, ok in zip(wins, keep, strict=True) if ok]
        if strand == "-":
            kept = [revcomp(w) for w in kept]
        elif strand == "both":
            kept += [revcomp(w) for w in kept]
        p = predict_proba(model, kept, k, batch_size=batch_size, device=device)[:, positive_class]
        if strand == "both":
            p = np.maximum(p[: len(p) // 2], p[len(p) // 2 :])
        yield starts[keep], p


def region_recall(
    regions: Sequence[tuple[str, int, int]],
    sites: Sequence[tuple[str, int, int]],
    scanned: Sequence[tuple[str, int, int]],
) -> dict:
    """Recall and precision of called regions against known sites (e.g. annotated TSSs).

    Parameters
    ----------
    regions, sites, scanned : sequence of (contig, start, end)
        Called regions, known sites and the scanned intervals (0-based half-open).

    Returns
    -------
    dict
        ``n_sites`` (sites overlapping a scanned interval: only they can be found),
        ``n_sites_found`` (of those, overlapping a called region), ``recall``;
        ``n_regions``, ``n_regions_with_site`` (overlapping any site), ``precision``
        (None when there is nothing to divide by).
    """
    import bisect

    def index(ivs):
        by: dict[str, tuple[list[int], list[int]]] = {}
        for c, s, e in sorted(ivs):
            starts, ends = by.setdefault(c, ([], []))
            starts.append(s)
            ends.append(max(e, ends[-1]) if ends else e)  # running max: ends stay sorted
        return by

    def hits(by, c, s, e) -> bool:
        if c not in by:
            return False
        starts, ends = by[c]
        i = bisect.bisect_left(starts, e)  # intervals starting before e
        return i > 0 and ends[i - 1] > s

    scan_ix, reg_ix, site_ix = index(scanned), index(regions), index(sites)
    inside = [t for t in sites if hits(scan_ix, *t)]
    found = sum(hits(reg_ix, *t) for t in inside)
    with_site = sum(hits(site_ix, *r) for r in regions)
    return {"n_sites": len(inside), "n_sites_found": found,
            "recall": found / len(inside) if inside else None,
            "n_regions": len(regions), "n_regions_with_site": with_site,
            "precision": with_site / len(regions) if regions else None}  # fmt: skip


class _RegionCaller:
    """Merges above-threshold windows into regions, streaming (one open region at a time)."""

    def __init__(self, fh, threshold: float, min_len: int) -> None:
        self.fh, self.threshold, self.min_len = fh, threshold, min_len
        self.open: list | None = None  # [contig, start, end, max_p]
        self.n = 0

    def add(self, contig: str, starts: np.ndarray, probs: np.ndarray, window: int) -> None:
        for s, p in zip(starts[probs >= self.threshold].tolist(),
                        probs[probs >= self.threshold].tolist(), strict=True):
            r = self.open
            if r is not None and r[0] == contig and s <= r[2]:
                r[2] = max(r[2], s + window)
                r[3] = max(r[3], p)
            else:
                self.flush()
                self.open = [contig, s, s + window, p]

    def flush(self) -> None:
        r = self.open
        if r is not None and r[2] - r[1] >= self.min_len:
            self.n += 1
            self.fh.write(f"{r[0]}\t{r[1]}\t{r[2]}\tregion{self.n}\t{round(1000 * r[3])}\t.\n")
        self.open = None


def output_paths(out_prefix: str | Path, bigwig: bool = True) -> dict[str, str]:
    """The files :func:`scan_genome` writes for ``out_prefix``, by kind."""
    prefix = str(out_prefix)
    paths = {"bedgraph": f"{prefix}.bedGraph", "bed": f"{prefix}.bed", "json": f"{prefix}.json"}
    if bigwig:
        paths["bigwig"] = f"{prefix}.bw"
    return paths


def scan_genome(
    model,
    k: int | None,
    genome: str | Path,
    out_prefix: str | Path,
    window: int,
    stride: int,
    contigs: Sequence[str] | None = None,
    regions: str | Path | None = None,
    threshold: float = 0.5,
    min_len: int = 0,
    batch_size: int = 64,
    device=None,
    positive_class: int = 1,
    max_n: float = 0.5,
    strand: str = "+",
    bigwig: bool = True,
    truth: str | Path | None = None,
    verbose: bool = False,
) -> ScanResult:
    """Scan a genome and write ``<out>.bedGraph``, ``<out>.bw``, ``<out>.bed`` and ``<out>.json``.

    Parameters
    ----------
    model, k
        As returned by :func:`dnalm.predict.load_classifier`.
    genome : str or pathlib.Path
        Indexed FASTA (``.fai``; bgzip with ``.gzi``, or plain).
    out_prefix : str or pathlib.Path
    window : int
        Model input length in bp (the task card's ``window_length``).
    stride : int
        Step between window starts (bp).
    contigs : sequence of str, optional
        Contigs to scan whole. Default is every contig of the FASTA (ignored with ``regions``).
    regions : str or pathlib.Path, optional
        BED of intervals to scan (merged first).
    threshold : float, optional
        Windows with probability ``>= threshold`` are called. Default is 0.5.
    min_len : int, optional
        Minimum called-region length (bp). Default is 0.
    batch_size : int, optional
        Default is 64. The track does not depend on it.
    strand : {"+", "-", "both"}, optional
        Strand(s) scored; "both" keeps the larger probability of a window and its reverse
        complement. Default is "+".
    bigwig : bool, optional
        Also write the BigWig (needs ``pyBigWig``). Default is True.
    truth : str or pathlib.Path, optional
        BED of known sites (e.g. annotated TSSs); ``<out>.json`` then holds their
        :func:`region_recall` as ``truth``. Default is None.
    verbose : bool, optional
        Progress bar over scanned bases. Default is False.

    Returns
    -------
    ScanResult

    Raises
    ------
    ValueError
        Bad arguments, a BED line (``<file>:<line>``), unknown contigs, or a missing
        ``pyBigWig`` when ``bigwig`` is True.
    """
    from tqdm.auto import tqdm

    if window < 1 or stride < 1:
        raise ValueError(f"window ({window}) and stride ({stride}) must be positive")
    if strand not in STRANDS:
        raise ValueError(f"strand must be one of {STRANDS}, got {strand!r}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
    if bigwig:
        try:
            import pyBigWig
        except ImportError:
            raise ValueError("writing the BigWig needs the pyBigWig package (pip install "
                             "pyBigWig), or pass --no-bigwig") from None
    gpath = Path(genome)
    with open_indexed(gpath) as fa:
        sizes = dict(zip(fa.references, fa.lengths, strict=True))
    ivs = scan_intervals(sizes, contigs, read_regions(regions, sizes) if regions else None)
    sites = read_regions(truth, sizes, merge=False) if truth else None
    res = ScanResult()
    res.contigs = list(dict.fromkeys(c for c, _, _ in ivs))
    paths = output_paths(out_prefix, bigwig)
    half = (window - stride) // 2
    with contextlib.ExitStack() as stack:
        fa = stack.enter_context(open_indexed(gpath))
        tmp = stack.enter_context(atomic.atomic_paths(paths))
        bg = stack.enter_context(open(tmp["bedgraph"], "w"))
        bed = stack.enter_context(open(tmp["bed"], "w"))
        bw = None
        if bigwig:
            bw = pyBigWig.open(str(tmp["bigwig"]), "w")
            stack.callback(bw.close)
            # scanned contigs first (entries must follow header order), then the rest
            order = res.contigs + [c for c in sizes if c not in res.contigs]
            bw.addHeader([(c, int(sizes[c])) for c in order], maxZooms=10)
        caller = _RegionCaller(bed, threshold, min_len)
        total = sum(e - s for _, s, e in ivs)
        bar = stack.enter_context(tqdm(total=total, disable=not verbose, unit="bp", desc="scan"))
        for contig, s, e in ivs:
            if e - s < window:
                res.n_short_intervals += 1
                bar.update(e - s)
                continue
            n_kept, done = 0, s
            for starts, probs in iter_window_probs(model, k, fa, contig, s, e, window, stride,
                                                   batch_size, None, device, positive_class,
                                                   max_n, strand):
                n_kept += len(starts)
                if len(starts) == 0:
                    continue
                lo = starts + max(half, 0)
                hi = lo + min(stride, window)
                bg.writelines(f"{contig}\t{a}\t{b}\t{p:.6g}\n"
                              for a, b, p in zip(lo.tolist(), hi.tolist(), probs.tolist(),
                                                 strict=True))
                if bw is not None:
                    bw.addEntries([contig] * len(lo), lo.tolist(), ends=hi.tolist(),
                                  values=probs.astype(float).tolist())
                caller.add(contig, starts, probs, window)
                bar.update(min(int(starts[-1]) + stride, e) - done)
                done = min(int(starts[-1]) + stride, e)
            caller.flush()
            res.n_windows += n_kept
            res.n_skipped_n += (e - window - s) // stride + 1 - n_kept
            res.n_bases += e - s
            bar.update(e - done)
        caller.flush()
        res.n_regions = caller.n
        res.outputs = {name: p for name, p in paths.items()}
        bg.flush()
        bed.flush()
        extra = {}
        if sites is not None:
            called = [(f[0], int(f[1]), int(f[2])) for f in
                      (ln.split("\t") for ln in Path(tmp["bed"]).read_text().splitlines())]
            extra["truth"] = {"path": str(truth), **region_recall(called, sites, ivs)}
            res.truth = extra["truth"]
        atomic.write_json(tmp["json"], res.as_dict() | {
            "window": window, "stride": stride, "threshold": threshold, "min_len": min_len,
            "positive_class": positive_class, "max_n": max_n, "strand": strand,
            "genome": str(gpath)} | extra)
    log.info("scanned %d bp in %d windows; %d regions called", res.n_bases, res.n_windows,
             res.n_regions)
    return res
