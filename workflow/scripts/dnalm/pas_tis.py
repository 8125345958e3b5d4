"""Genomic signal regions from a GTF: polyadenylation signals (PAS) and translation start sites (TIS).

Both tasks are binary (1 = annotated signal, 0 = the same motif elsewhere), with fixed-length
windows read on the transcript strand and the motif at a fixed offset:

=====  ==========================================================  ================================
task   positives (label 1)                                         negatives (label 0)
=====  ==========================================================  ================================
pas    a PAS hexamer (``hexamers``, default :data:`PAS_HEXAMERS`)  the same hexamer, drawn in introns
       starting 16-35 nt upstream of a transcript 3' end           and flanks (+-5 kb) of transcripts
       (:data:`PAS_RANGE`; the best-ranked hexamer, then the one   on their strand, away from every
       nearest -21 wins)                                           3' end and every positive window
tis    the annotated start ATG (``start_codon`` row, else the      ATGs inside transcripts (exons and
       first CDS base), when the genome has ATG there              introns) on their strand, away
                                                                   from every positive window
=====  ==========================================================  ================================

A window of length ``L`` puts the motif's first base at ``(L - len(motif)) // 2`` (DeepGSR's
606-bp PAS windows: hexamer at 300). Each negative carries the motif of one positive (same
hexamer mix). Positive and negative windows never overlap; positives are deduplicated by
position (transcripts sharing a 3' end or start codon count once).
"""

from __future__ import annotations

import bisect
import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from dnalm.dataset import Example
from dnalm.fasta import Genome
from dnalm.gene_windows import fetch_window, genic_spans, known_transcripts
from dnalm.splice import _TID, _gtf_fields
from dnalm.textio import open_text

__all__ = [
    "PAS_HEXAMERS",
    "PAS_RANGE",
    "TxModel",
    "read_gtf_models",
    "pas_examples",
    "tis_examples",
]

log = logging.getLogger(__name__)

#: AATAAA and its common variants, most frequent first (Beaudoing et al. 2000; Tian et al. 2005).
PAS_HEXAMERS = ("AATAAA", "ATTAAA", "AGTAAA", "TATAAA", "CATAAA", "GATAAA", "AATATA", "AATACA",
                "AATAGA", "ACTAAA", "AAGAAA", "AATGAA")  # fmt: skip
#: A PAS hexamer starts 16-35 nt upstream of the 3' end (it lies within -35..-10).
PAS_RANGE = (10, 35)
_NEG_FLANK = 5000  # bp on each side of a transcript where negatives are drawn
_END_GUARD = 100  # negatives keep this far from every transcript 3' end


class TxModel(NamedTuple):
    """One transcript of a GTF (1-based closed coordinates, as in the file)."""

    contig: str
    strand: str
    exons: list[tuple[int, int]]
    cds: list[tuple[int, int]]
    start_codon: list[tuple[int, int]]


def read_gtf_models(
    path: str | Path, need_cds: bool = False, config_key: str | None = None
) -> dict[str, TxModel]:
    """Exons, CDS and start_codon rows of every transcript of a GTF.

    Parameters
    ----------
    path : str or Path
    need_cds : bool, optional
        Raise when the file has no CDS or start_codon row (TIS needs them). Default is False.
    config_key : str, optional
        Config path of the GTF, named in that error. Default is None.

    Returns
    -------
    dict of str to TxModel
        Exons, CDS and start codons sorted by start, repeats removed.

    Raises
    ------
    ValueError
        ``"<path>:<line>: ..."`` for a malformed line or a row without ``transcript_id``;
        ``"<path>: ..."`` when there are no exons, or (``need_cds``) no CDS/start_codon rows.
    """
    tx: dict[str, TxModel] = {}
    with open_text(path) as fh:
        for ln, line in enumerate(fh, 1):
            if not line.strip() or line.startswith("#"):
                continue
            f = _gtf_fields(line, path, ln)
            if f[2] not in ("exon", "CDS", "start_codon"):
                continue
            m = _TID.search(f[8])
            if not m:
                raise ValueError(f"{path}:{ln}: {f[2]} row without transcript_id")
            tid = m.group(1) if m.group(1) is not None else m.group(2)
            t = tx.get(tid)
            if t is None:
                t = tx[tid] = TxModel(f[0], f[6], [], [], [])
            elif (t.contig, t.strand) != (f[0], f[6]):
                raise ValueError(f"{path}:{ln}: transcript {tid} switches from {t.contig}{t.strand} to {f[0]}{f[6]}")
            {"exon": t.exons, "CDS": t.cds, "start_codon": t.start_codon}[f[2]].append((int(f[3]), int(f[4])))
    for t in tx.values():
        for lst in (t.exons, t.cds, t.start_codon):
            lst[:] = sorted(set(lst))
    if not any(t.exons for t in tx.values()):
        raise ValueError(f"{path}: no exon rows with a transcript_id")
    if need_cds and not any(t.cds or t.start_codon for t in tx.values()):
        where = f" (config key `{config_key}`)" if config_key else ""
        raise ValueError(
            f"{path}{where}: no CDS or start_codon rows; a tis task needs a GTF with coding "
            "annotation (GENCODE/Ensembl `*.annotation.gtf`, not an exon-only file)"
        )
    return tx


# ----------------------------------------------------------------------------- shared helpers


def _motif_window(g: int, strand: str, length: int, motif_len: int) -> tuple[int, int]:
    """Genomic ``[a, b)`` of the window whose oriented index ``(L - m) // 2`` is the motif's start.

    ``g`` is the motif's leftmost genomic base (0-based).
    """
    flank = (length - motif_len) // 2
    a = g - flank if strand == "+" else g + motif_len + flank - length
    return a, a + length


class _Intervals:
    """Sorted, merged intervals per contig with an overlap test."""

    def __init__(self, items: Sequence[tuple[str, int, int]]):
        by: dict[str, list[list[int]]] = defaultdict(list)
        for c, s, e in sorted(items):
            cur = by[c]
            if cur and s <= cur[-1][1]:
                cur[-1][1] = max(cur[-1][1], e)
            else:
                cur.append([s, e])
        self._starts = {c: [s for s, _ in v] for c, v in by.items()}
        self._ends = {c: [e for _, e in v] for c, v in by.items()}

    def overlaps(self, c: str, s: int, e: int) -> bool:
        starts = self._starts.get(c)
        if not starts:
            return False
        i = bisect.bisect_left(starts, e) - 1  # last interval starting before e
        return i >= 0 and self._ends[c][i] > s


class _Taken:
    """Starts of already chosen windows (all of one length) per contig."""

    def __init__(self, length: int):
        self.length = length
        self._starts: dict[str, list[int]] = defaultdict(list)

    def overlaps(self, c: str, s: int) -> bool:
        v = self._starts[c]
        i = bisect.bisect_left(v, s)
        return (i < len(v) and v[i] - s < self.length) or (i > 0 and s - v[i - 1] < self.length)

    def add(self, c: str, s: int) -> None:
        bisect.insort(self._starts[c], s)


def _known(models: dict[str, TxModel], genome: Genome, unknown_contigs: str, source) -> dict[str, TxModel]:
    """Stranded transcripts with exons on the genome's contigs, sorted by id."""
    known = known_transcripts({tid: models[tid] for tid in sorted(models)}, genome, unknown_contigs, source)
    return {tid: t for tid, t in known.items() if t.strand in ("+", "-") and t.exons}


def _negatives(
    spans: list[tuple[str, int, int, str]],
    genome: Genome,
    rng: np.random.Generator,
    motifs: list[str],
    length: int,
    exclude: _Intervals,
    guard: _Intervals | None,
    max_draws_each: int = 200,
    chunk: int = 2000,
) -> tuple[list[Example], int]:
    """One window per entry of ``motifs`` carrying that motif on the span's strand.

    Candidates are motif occurrences in random ``chunk``-bp pieces of ``spans`` (contig, start,
    end, strand; 0-based) whose window stays in the genome, has no N, overlaps nothing in
    ``exclude`` (nor another negative) and whose motif overlaps nothing in ``guard``.
    Returns the windows and the number of motifs left without one.
    """
    if not spans or not motifs:
        return [], len(motifs)
    lens = np.array([e - s for _, s, e, _ in spans], dtype=np.float64)
    p = lens / lens.sum()
    taken = _Taken(length)
    out: list[Example] = []
    missing = 0
    for mi, motif in enumerate(motifs):
        pat = re.compile(f"(?={motif})")
        m = len(motif)
        found = False
        for _ in range(max_draws_each):
            c, s, e, strand = spans[int(rng.choice(len(spans), p=p))]
            a = s + int(rng.integers(0, max(1, e - s - chunk) + 1))
            b = min(a + chunk, e, genome.sizes[c])
            if b - a < m:
                continue
            seq = genome.fetch(c, a, b, strand)
            hits = [h.start() for h in pat.finditer(seq)]
            if not hits:
                continue
            i = hits[int(rng.integers(0, len(hits)))]
            g = a + i if strand == "+" else b - i - m  # leftmost genomic base of the motif
            wa, wb = _motif_window(g, strand, length, m)
            if not genome.within(c, wa, wb) or exclude.overlaps(c, wa, wb) or taken.overlaps(c, wa):
                continue
            if guard is not None and guard.overlaps(c, g, g + m):
                continue
            win = genome.fetch(c, wa, wb, strand)
            if "N" in win:
                continue
            taken.add(c, wa)
            out.append(Example(win, 0, c, wa, wb, strand, f"neg:{mi}:{motif}:{c}:{g}"))
            found = True
            break
        missing += not found
    return out, missing


def _check_length(length: int, task_key: str) -> None:
    if not isinstance(length, int) or isinstance(length, bool) or length < 12:
        raise ValueError(f"config key `{task_key}.window`: an integer >= 12 (bp) is needed, got {length!r}")


# ----------------------------------------------------------------------------- PAS


def pas_examples(
    models: dict[str, TxModel],
    genome: Genome,
    rng: np.random.Generator,
    window: int = 606,
    hexamers: Sequence[str] = PAS_HEXAMERS,
    unknown_contigs: str = "skip",
    source: str | Path = "genes.gtf",
    task_key: str = "tasks.pas",
) -> tuple[list[Example], dict]:
    """PAS windows (label 1) and same-hexamer windows elsewhere (label 0).

    Parameters
    ----------
    models : dict
        From :func:`read_gtf_models`.
    genome : Genome
    rng : numpy.random.Generator
    window : int, optional
        Window length in bp; the hexamer starts at ``(window - 6) // 2``. Default is 606.
    hexamers : sequence of str, optional
        Signals, in order of preference. Default is :data:`PAS_HEXAMERS`.
    unknown_contigs : {"skip", "error"}, optional
        Default is "skip".
    source : str or Path, optional
        The GTF, named in errors. Default is "genes.gtf".
    task_key : str, optional
        Config path of the task, named in errors. Default is "tasks.pas".

    Returns
    -------
    examples : list of Example
        Positives sorted by position, then negatives.
    stats : dict
    """
    _check_length(window, task_key)
    hexamers = [h.upper() for h in hexamers]
    bad = [h for h in hexamers if len(h) != 6 or set(h) - set("ACGT")]
    if bad or not hexamers:
        raise ValueError(f"config key `{task_key}.hexamers`: 6-letter ACGT strings needed, got {bad or hexamers}")
    known = _known(models, genome, unknown_contigs, source)
    lo, hi = PAS_RANGE
    ends = set()
    for t in known.values():
        end = t.exons[-1][1] if t.strand == "+" else t.exons[0][0] - 1  # boundary after the last base
        ends.add((t.contig, end, t.strand))
    stats = {"transcripts": len(models), "transcript_3p_ends": len(ends), "no_hexamer": 0, "out_of_bounds": 0, "has_n": 0}
    pos: list[Example] = []
    for c, end, strand in sorted(ends):
        # oriented region [-hi, -lo) upstream of the 3' end
        ra, rb = (end - hi, end - lo) if strand == "+" else (end + lo, end + hi)
        if not genome.within(c, ra, rb):
            stats["out_of_bounds"] += 1
            continue
        region = genome.fetch(c, ra, rb, strand)
        best = None
        for rank, h in enumerate(hexamers):
            for i in (x.start() for x in re.finditer(f"(?={h})", region)):
                key = (rank, abs(i - (hi - 21)))  # closest to -21 among the best-ranked
                if best is None or key < best[0]:
                    best = (key, h, i)
        if best is None:
            stats["no_hexamer"] += 1
            continue
        _, h, i = best
        g = ra + i if strand == "+" else rb - i - 6
        wa, wb = _motif_window(g, strand, window, 6)
        seq = fetch_window(genome, c, wa, wb, strand, stats)
        if seq is None:
            continue
        pos.append(Example(seq, 1, c, wa, wb, strand, f"pas:{h}:{c}:{end}:{strand}"))
    exclude = _Intervals([(e.contig, e.start, e.end) for e in pos])
    guard = _Intervals([(c, e - _END_GUARD, e + _END_GUARD) for c, e, _ in ends])
    spans = []
    for t in known.values():
        a = max(0, t.exons[0][0] - 1 - _NEG_FLANK)
        b = min(genome.sizes[t.contig], t.exons[-1][1] + _NEG_FLANK)
        spans.append((t.contig, a, b, t.strand))
    motifs = [e.source_id.split(":")[1] for e in pos]
    neg, missing = _negatives(spans, genome, rng, motifs, window, exclude, guard)
    stats.update(positives=len(pos), negatives=len(neg), negatives_missing=missing,
                 hexamers={h: sum(m == h for m in motifs) for h in hexamers if h in motifs})  # fmt: skip
    if missing:
        log.warning("pas: no negative found for %d of %d positives", missing, len(pos))
    return pos + neg, stats


# ----------------------------------------------------------------------------- TIS


def _start_base(t: TxModel) -> tuple[int, int] | None:
    """0-based genomic span of the start ATG: start_codon row, else the first CDS bases."""
    if t.start_codon:
        if t.strand == "+":
            s = t.start_codon[0][0] - 1
        else:
            s = t.start_codon[-1][1] - 3
        return s, s + 3
    if t.cds:
        if t.strand == "+":
            s = t.cds[0][0] - 1
        else:
            s = t.cds[-1][1] - 3
        return s, s + 3
    return None


def tis_examples(
    models: dict[str, TxModel],
    genome: Genome,
    rng: np.random.Generator,
    window: int = 603,
    unknown_contigs: str = "skip",
    source: str | Path = "genes.gtf",
    task_key: str = "tasks.tis",
) -> tuple[list[Example], dict]:
    """Start-ATG windows (label 1) and windows of other ATGs inside transcripts (label 0).

    Parameters
    ----------
    models : dict
        From :func:`read_gtf_models` (with CDS or start_codon rows).
    genome : Genome
    rng : numpy.random.Generator
    window : int, optional
        Window length in bp; the ATG starts at ``(window - 3) // 2``. Default is 603.
    unknown_contigs, source, task_key
        As in :func:`pas_examples`.

    Returns
    -------
    examples : list of Example
    stats : dict
        ``not_atg`` counts annotated starts whose genome bases are not ATG (dropped).
    """
    _check_length(window, task_key)
    known = _known(models, genome, unknown_contigs, source)
    starts = set()
    for t in known.values():
        sp = _start_base(t)
        if sp is not None:
            starts.add((t.contig, sp[0], t.strand))
    stats = {"transcripts": len(models), "coding_transcripts": sum(bool(t.cds or t.start_codon) for t in known.values()),
             "start_sites": len(starts), "not_atg": 0, "out_of_bounds": 0, "has_n": 0}  # fmt: skip
    pos: list[Example] = []
    for c, g, strand in sorted(starts):
        wa, wb = _motif_window(g, strand, window, 3)
        seq = fetch_window(genome, c, wa, wb, strand, stats)
        if seq is None:
            continue
        f = (window - 3) // 2
        if seq[f : f + 3] != "ATG":
            stats["not_atg"] += 1
            continue
        pos.append(Example(seq, 1, c, wa, wb, strand, f"tis:{c}:{g}:{strand}"))
    exclude = _Intervals([(e.contig, e.start, e.end) for e in pos])
    spans = genic_spans(known)
    neg, missing = _negatives(spans, genome, rng, ["ATG"] * len(pos), window, exclude, None)
    stats.update(positives=len(pos), negatives=len(neg), negatives_missing=missing)
    if missing:
        log.warning("tis: no negative found for %d of %d positives", missing, len(pos))
    return pos + neg, stats
