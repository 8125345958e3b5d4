"""Splice sites from a GTF: donor(0) / acceptor(1) / non-site(2) windows centred on the site.

Exons (1-based closed ``[S, E]``) are grouped by ``transcript_id`` and sorted by start (minus
strand transcripts list them descending). Each site is a *boundary* ``b``, a 0-based position
between two bases, and its window is ``[b - W/2, b + W/2)`` read on the transcript's strand:

============  ================  ==============  ===================================
site          + strand b        - strand b      oriented window
============  ================  ==============  ===================================
donor         E (exon end)      S - 1           intron ``GT`` at [W/2, W/2+2)
acceptor      S - 1             E               intron ``AG`` at [W/2-2, W/2)
============  ================  ==============  ===================================

Donors are the 5' exon ends of all but the transcript's last exon; acceptors the 3' exon
starts of all but its first. Non-sites are genic positions on the transcript strand that are
not annotated boundaries; half of them are *hard* cases carrying ``GT`` or ``AG`` exactly where
a real site would have it.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
from tqdm import tqdm

from dnalm.contigs import write_renamed
from dnalm.dataset import Example
from dnalm.fasta import Genome
from dnalm.gene_windows import fetch_window, genic_spans, known_transcripts
from dnalm.textio import open_text

__all__ = [
    "DONOR",
    "ACCEPTOR",
    "NONSITE",
    "Site",
    "read_gtf_exons",
    "splice_sites",
    "normalize_gtf",
    "splice_examples",
]

log = logging.getLogger(__name__)

DONOR, ACCEPTOR, NONSITE = 0, 1, 2
# The whole key: ``orig_transcript_id "X"`` is another attribute. Values are quoted (GTF2.2) or bare.
# A quoted value holds no ``;`` (a missing closing quote must not swallow the next attributes).
_TID = re.compile(r'(?:^|;)\s*transcript_id\s+(?:"([^";]*)"\s*(?:;|$)|([^;\s"]+))')


class Site(NamedTuple):
    contig: str
    boundary: int
    strand: str
    label: int
    transcript: str


class Transcript(NamedTuple):
    contig: str
    strand: str
    exons: list[tuple[int, int]]


def _gtf_fields(line: str, path, ln: int) -> list[str]:
    f = line.rstrip("\r\n").split("\t")
    if len(f) != 9:
        raise ValueError(f"{path}:{ln}: GTF needs 9 tab-separated columns, got {len(f)}")
    try:
        s, e = int(f[3]), int(f[4])
    except ValueError:
        raise ValueError(f"{path}:{ln}: non-integer start/end {f[3]!r}/{f[4]!r}") from None
    if s < 1 or e < s:
        raise ValueError(f"{path}:{ln}: bad interval {s}-{e} (1-based closed)")
    if f[6] not in ("+", "-", "."):
        raise ValueError(f"{path}:{ln}: strand must be +, - or ., got {f[6]!r}")
    if f[8].count('"') % 2:
        raise ValueError(f"{path}:{ln}: unbalanced quotes in the attribute column: {f[8][:80]!r}")
    return f


def read_gtf_exons(path: str | Path) -> dict[str, Transcript]:
    """Exons of every transcript: {transcript_id: Transcript(contig, strand, sorted exons)}.

    The ``transcript_id`` attribute is matched by its whole key (``orig_transcript_id`` is
    not it). A transcript's repeated exon lines (same start and end) count once, so they add
    no spurious donor or acceptor.

    Raises
    ------
    ValueError
        ``"<path>:<line>: ..."`` for a malformed feature line, an exon without
        ``transcript_id`` or a transcript changing contig/strand; ``"<path>: ..."`` for a
        truncated gzip stream.
    """
    tx: dict[str, Transcript] = {}
    with open_text(path) as fh:
        for ln, line in enumerate(fh, 1):
            if not line.strip() or line.startswith("#"):
                continue
            f = _gtf_fields(line, path, ln)
            if f[2] != "exon":
                continue
            m = _TID.search(f[8])
            if not m:
                raise ValueError(f"{path}:{ln}: exon without transcript_id")
            tid = m.group(1) if m.group(1) is not None else m.group(2)
            t = tx.get(tid)
            if t is None:
                t = tx[tid] = Transcript(f[0], f[6], [])
            elif (t.contig, t.strand) != (f[0], f[6]):
                raise ValueError(
                    f"{path}:{ln}: transcript {tid} switches from {t.contig}{t.strand} to {f[0]}{f[6]}"
                )
            t.exons.append((int(f[3]), int(f[4])))
    n_dup = 0
    for t in tx.values():
        uniq = sorted(set(t.exons))
        n_dup += len(t.exons) - len(uniq)
        t.exons[:] = uniq
    if n_dup:
        log.info("%s: %d repeated exon line(s) ignored", path, n_dup)
    return tx


def splice_sites(transcripts: dict[str, Transcript]) -> list[Site]:
    """Donor and acceptor boundaries of multi-exon transcripts, deduplicated, sorted."""
    seen: dict[tuple[str, int, str, int], Site] = {}
    for tid in sorted(transcripts):
        t = transcripts[tid]
        ex = t.exons
        if len(ex) < 2 or t.strand not in ("+", "-"):
            continue
        if t.strand == "+":
            sites = [(e, DONOR) for _, e in ex[:-1]] + [(s - 1, ACCEPTOR) for s, _ in ex[1:]]
        else:
            sites = [(s - 1, DONOR) for s, _ in ex[1:]] + [(e, ACCEPTOR) for _, e in ex[:-1]]
        for b, lab in sites:
            seen.setdefault((t.contig, b, t.strand, lab), Site(t.contig, b, t.strand, lab, tid))
    return sorted(seen.values(), key=lambda s: (s.contig, s.boundary, s.strand, s.label))


def normalize_gtf(
    src: str | Path, out: str | Path, genome_fasta: str | Path, contigs: str | Path | None = None
) -> dict:
    """Copy a GTF to ``out`` (gzip, mtime 0) with contig names mapped to the genome's.

    Every feature line is validated (``path:line`` errors). Lines on unknown contigs keep
    their name and are counted.
    """
    genome = Genome(genome_fasta, contigs)
    try:
        stats = write_renamed(
            src,
            out,
            genome.canonical,
            lambda line, ln: (
                None if not line.strip() or line.startswith("#") else _gtf_fields(line, src, ln)
            ),
        )
    finally:
        genome.close()
    log.info("gtf %s: %s", src, stats)
    return stats


def _is_canonical(seq: str, label: int, h: int) -> bool:
    return seq[h : h + 2] == "GT" if label == DONOR else seq[h - 2 : h] == "AG"


def splice_examples(
    transcripts: dict[str, Transcript],
    genome: Genome,
    rng: np.random.Generator,
    window: int = 400,
    unknown_contigs: str = "skip",
    source: str | Path = "genes.gtf",
    hard_fraction: float = 0.5,
    verbose: bool = True,
) -> tuple[list[Example], dict]:
    """Donor, acceptor and non-site windows (labels 0/1/2).

    Parameters
    ----------
    transcripts : dict
        From :func:`read_gtf_exons`.
    genome : Genome
    rng : numpy.random.Generator
    window : int, optional
        Window length (even). Default is 400.
    unknown_contigs : str, optional
        ``error`` or ``skip``. Default is ``skip``.
    source : str or Path, optional
        Name used in error messages. Default is ``genes.gtf``.
    hard_fraction : float, optional
        Share of non-sites carrying GT/AG at the site position. Default is 0.5.
    verbose : bool, optional
        Default is True.

    Returns
    -------
    examples : list of Example
        Donors and acceptors (sorted by position), then non-sites; non-sites number the mean
        of the donor and acceptor counts.
    stats : dict
        Counts and ``canonical_rate`` (share of donors with GT and acceptors with AG).
    """
    if window < 4 or window % 2:
        raise ValueError(f"`window` must be an even integer >= 4, got {window!r}")
    h = window // 2
    known = known_transcripts(transcripts, genome, unknown_contigs, source)
    stats = {
        "transcripts": len(transcripts),
        "unknown_contig_transcripts": len(transcripts) - len(known),
        "out_of_bounds": 0,
        "has_n": 0,
    }
    sites = splice_sites(known)
    true = {(s.contig, s.boundary, s.strand) for s in sites}
    out: list[Example] = []
    canon = {DONOR: [0, 0], ACCEPTOR: [0, 0]}
    for s in tqdm(sites, desc="splice sites", disable=not verbose):
        a, b = s.boundary - h, s.boundary + h
        seq = fetch_window(genome, s.contig, a, b, s.strand, stats)
        if seq is None:
            continue
        canon[s.label][0] += _is_canonical(seq, s.label, h)
        canon[s.label][1] += 1
        kind = "donor" if s.label == DONOR else "acceptor"
        sid = f"{kind}:{s.transcript}:{s.boundary}"
        out.append(Example(seq, s.label, s.contig, a, b, s.strand, sid))
    n_d, n_a = canon[DONOR][1], canon[ACCEPTOR][1]
    stats.update(donors=n_d, acceptors=n_a)
    stats["canonical_rate"] = {
        "donor_GT": canon[DONOR][0] / n_d if n_d else None,
        "acceptor_AG": canon[ACCEPTOR][0] / n_a if n_a else None,
        "all": (canon[DONOR][0] + canon[ACCEPTOR][0]) / (n_d + n_a) if n_d + n_a else None,
    }
    n_non = (n_d + n_a) // 2
    n_hard = int(round(n_non * hard_fraction))
    spans = genic_spans(known, min_exons=2)
    nonsites = _nonsites(spans, genome, rng, h, true, n_hard, n_non - n_hard, verbose)
    stats.update(
        nonsites=len(nonsites), nonsites_hard=sum(":hard:" in e.source_id for e in nonsites)
    )
    return out + nonsites, stats


def _nonsites(spans, genome, rng, h, true, n_hard, n_easy, verbose, max_draws_each=500):
    out: list[Example] = []
    if not spans or n_hard + n_easy == 0:
        return out
    lens = np.array([e - s for _, s, e, _ in spans], dtype=np.float64)
    p = lens / lens.sum()
    taken: set[tuple[str, int, str]] = set()
    want = {"hard": n_hard, "easy": n_easy}
    got = {"hard": 0, "easy": 0}
    budget = max_draws_each * (n_hard + n_easy)
    bar = tqdm(total=n_hard + n_easy, desc="non-sites", disable=not verbose)
    draws = 0
    while draws < budget and (got["hard"] < n_hard or got["easy"] < n_easy):
        idx = rng.choice(len(spans), size=1024, p=p)
        u = rng.random(1024)
        for i, r in zip(idx, u, strict=True):
            draws += 1
            c, s, e, strand = spans[int(i)]
            b = s + int(r * (e - s))
            key = (c, b, strand)
            if key in true or key in taken or not genome.within(c, b - h, b + h):
                continue
            seq = genome.fetch(c, b - h, b + h, strand)
            if "N" in seq:
                continue
            hard = seq[h : h + 2] == "GT" or seq[h - 2 : h] == "AG"
            kind = "hard" if hard else "easy"
            if got[kind] >= want[kind]:
                continue
            taken.add(key)
            got[kind] += 1
            out.append(
                Example(seq, NONSITE, c, b - h, b + h, strand, f"neg:{len(out)}:{kind}:{c}:{b}")
            )
            bar.update()
            if got["hard"] >= n_hard and got["easy"] >= n_easy:
                break
    bar.close()
    if len(out) < n_hard + n_easy:
        log.warning("splice: only %d of %d non-sites found", len(out), n_hard + n_easy)
    return out
