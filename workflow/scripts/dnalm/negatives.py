"""Negative examples: one per positive, by a named strategy (see docs/datasets.md).

Strategies
----------
substitute     DeePromoter-style: split the positive into 20 parts, keep 8 at random, fill the
               other 12 with uniform random bases. Synthetic (no genome coordinates).
genomic        random N-free genome windows outside the excluded regions (padded).
tata_genomic   like ``genomic`` but the window must contain a TATA motif ``TATA[AT]A[AT]``.
gc_matched     random N-free genome windows outside the excluded regions whose GC fraction
               falls in the positive's 1% bin.
dinuc_shuffle  Altschul-Erickson dinucleotide shuffle of the positive. Synthetic.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict, deque
from collections.abc import Iterable

import numpy as np
from tqdm import tqdm

from dnalm.dataset import Example
from dnalm.fasta import Genome
from dnalm.sampling import allowed_regions, sample_windows
from dnalm.seq import gc_fraction
from dnalm.shuffle import dinuc_shuffle

__all__ = ["STRATEGIES", "TATA_RE", "substitute", "make_negatives"]

log = logging.getLogger(__name__)

STRATEGIES = ("substitute", "genomic", "tata_genomic", "gc_matched", "dinuc_shuffle")
TATA_RE = re.compile("TATA[AT]A[AT]")
_BASES = np.array(list("ACGT"))


def substitute(seq: str, rng: np.random.Generator, n_parts: int = 20, n_keep: int = 8) -> str:
    """DeePromoter's substituted negative of ``seq``.

    ``seq`` is cut into ``n_parts`` parts of ``len(seq) // n_parts`` bp; a remainder becomes one
    extra part (as DeePromoter does). ``n_keep`` of the parts, chosen at random, keep their
    bases; all others are replaced by uniform random bases.

    Parameters
    ----------
    seq : str, length L
    rng : numpy.random.Generator
    n_parts : int, optional
        Default is 20.
    n_keep : int, optional
        Default is 8.

    Returns
    -------
    negative : str, length L
    """
    L = len(seq)
    size = L // n_parts
    if size < 1:
        raise ValueError(f"`seq` of length {L} is shorter than n_parts={n_parts}")
    bounds = [(i * size, (i + 1) * size) for i in range(n_parts)]
    if n_parts * size < L:
        bounds.append((n_parts * size, L))
    keep = set(rng.choice(len(bounds), size=min(n_keep, len(bounds)), replace=False).tolist())
    out = []
    for i, (a, b) in enumerate(bounds):
        out.append(seq[a:b] if i in keep else "".join(_BASES[rng.integers(0, 4, b - a)]))
    return "".join(out)


def _gc_bin(seq: str) -> int:
    return min(99, int(gc_fraction(seq) * 100))


def make_negatives(
    strategy: str,
    positives: list[Example],
    rng: np.random.Generator,
    genome: Genome | None = None,
    exclude: Iterable[tuple[str, int, int]] = (),
    margin: int = 0,
    label: int = 0,
    max_draws_per_negative: int = 2000,
    verbose: bool = True,
) -> tuple[list[Example], dict]:
    """One negative per positive by ``strategy``.

    Parameters
    ----------
    strategy : str
        One of :data:`STRATEGIES`.
    positives : list of Example, length n
    rng : numpy.random.Generator
    genome : Genome, optional
        Needed by the genomic strategies. Default is None.
    exclude : iterable of (contig, start, end), optional
        Regions genomic negatives must not overlap (peaks, promoters). Default is none.
    margin : int, optional
        bp padding around ``exclude``. Default is 0.
    label : int, optional
        Label of the negatives. Default is 0.
    max_draws_per_negative : int, optional
        Budget of random windows per wanted negative before giving up. Default is 2000.
    verbose : bool, optional
        tqdm progress. Default is True.

    Returns
    -------
    negatives : list of Example, length <= n
    stats : dict
        What happened (matched counts, fallbacks), for the dataset card.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"`strategy` must be one of {STRATEGIES}, got {strategy!r}")
    n = len(positives)
    stats: dict = {"strategy": strategy, "requested": n}
    if strategy in ("substitute", "dinuc_shuffle"):
        negs = []
        for i, p in enumerate(tqdm(positives, desc=strategy, disable=not verbose)):
            seq = (
                substitute(p.sequence, rng)
                if strategy == "substitute"
                else dinuc_shuffle(p.sequence, rng)
            )
            negs.append(
                Example(
                    seq,
                    label,
                    ".",
                    None,
                    None,
                    ".",
                    f"neg:{i}:{strategy}:{p.source_id}",
                    group=p.source_id,
                )
            )
        stats["made"] = len(negs)
        return negs, stats
    if genome is None:
        raise ValueError(f"strategy {strategy!r} needs `genome`")
    lengths = {len(p.sequence) for p in positives}
    if len(lengths) != 1:
        raise ValueError(f"positives must share one length for {strategy!r}, got {sorted(lengths)}")
    length = lengths.pop()
    regions = allowed_regions(genome.sizes, exclude, margin)
    budget = max_draws_per_negative * max(n, 1)
    stream = sample_windows(genome, regions, length, rng, max_draws=budget)
    taken: set[tuple[str, int, str]] = set()
    pos_seqs = {p.sequence for p in positives}

    def fresh(c: str, s: int, strand: str, seq: str) -> bool:
        key = (c, s, strand)
        if key in taken or seq in pos_seqs:
            return False
        taken.add(key)
        return True

    negs: list[Example] = []
    bar = tqdm(total=n, desc=strategy, disable=not verbose)
    if strategy in ("genomic", "tata_genomic"):
        need_tata = strategy == "tata_genomic"
        for c, s, e, strand, seq in stream:
            if len(negs) >= n:
                break
            if need_tata and not TATA_RE.search(seq):
                continue
            if not fresh(c, s, strand, seq):
                continue
            negs.append(Example(seq, label, c, s, e, strand, f"neg:{len(negs)}"))
            bar.update()
        bar.close()
        stats["made"] = len(negs)
        if len(negs) < n:
            log.warning("%s: only %d of %d negatives found", strategy, len(negs), n)
        return negs, stats
    # gc_matched: fill per-bin pools until every positive's bin is served.
    want: dict[int, int] = defaultdict(int)
    pos_bins = [_gc_bin(p.sequence) for p in positives]
    for b in pos_bins:
        want[b] += 1
    pools: dict[int, deque] = defaultdict(deque)
    spare: dict[int, deque] = defaultdict(deque)
    missing = n
    draws = 0
    for c, s, e, strand, seq in stream:
        draws += 1
        if missing == 0:
            break
        b = _gc_bin(seq)
        if len(pools[b]) < want.get(b, 0):
            if fresh(c, s, strand, seq):
                pools[b].append((c, s, e, strand, seq))
                missing -= 1
                bar.update()
        elif len(spare[b]) < 4 and fresh(c, s, strand, seq):
            spare[b].append((c, s, e, strand, seq))
    bar.close()
    n_exact = n_fallback = 0
    max_dist = 0
    for i, b in enumerate(pos_bins):
        if pools[b]:
            w = pools[b].popleft()
            n_exact += 1
        else:  # nearest bin with a spare window
            cands = sorted((abs(k - b), k) for k, q in spare.items() if q)
            if not cands:
                continue
            d, k = cands[0]
            w = spare[k].popleft()
            n_fallback += 1
            max_dist = max(max_dist, d)
        c, s, e, strand, seq = w
        negs.append(Example(seq, label, c, s, e, strand, f"neg:{i}"))
    stats.update(
        made=len(negs),
        gc_bin_exact=n_exact,
        gc_bin_fallback=n_fallback,
        gc_bin_max_distance=max_dist,
        draws=draws,
    )
    if n_fallback or len(negs) < n:
        log.warning(
            "gc_matched: %d exact, %d nearest-bin, %d missing", n_exact, n_fallback, n - len(negs)
        )
    return negs, stats
