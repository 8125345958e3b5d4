"""Functional variants: select dbSNP/ClinVar alleles in a task's regions and score them.

What is computed (one ``score_variants`` call per task and model):

1. **Selection.** dbSNP alleles inside the task's high-attention regions (``regions.bed``)
   and ClinVar alleles inside the task's positive windows (dataset rows with the positive
   label and genome coordinates), each flagged ``in_attention``. VCFs are read one tabix
   region at a time (memory grows with the selection, never with the VCF). Multi-allelic
   records are split and trimmed to minimal REF/ALT; only SNVs are scored; indels and
   symbolic/non-ACGT alleles are skipped and counted. REF is checked against the genome
   (upper-cased); mismatches are counted, logged, listed in the summary and never scored.
2. **Windows** (``context``). DNABERT's ``SNP/mutate_seqs.py`` mutates the task's own
   sequences, so by default (``context="region"``) each variant (and each null SNV) is
   scored inside a positive dataset window of the task that contains it: of the containing
   windows (all ``L`` bp, looked up per contig with ``numpy.searchsorted`` on the sorted
   starts), the one whose centre is nearest the variant (ties: lowest start, then strand
   and ``source_id``). The window is that genome interval, reverse-complemented for ``-``
   rows like the dataset; the variant sits at ``pos0 - start`` of the forward window
   (``L - 1 - (pos0 - start)`` after reverse complement); ``offset`` in ``scores.tsv.gz``
   is its position in the classifier input, ``window`` the genome interval
   (``contig:start-end:strand``) and ``window_id`` the row's ``source_id``. A variant in no
   positive window (dbSNP alleles at the edge of an attention region) falls back to the
   centred window and is counted (``counts.<source>.centred_fallback``, ``window_id``
   ``centred``). With ``context="centred"`` every window is centred: the variant at offset
   ``L // 2`` (50 for 101 bp), on the strand of the selecting interval. Past a chromosome
   end a window is padded with ``N`` (its k-mers become ``[UNK]``). Why region is the
   default: a centred window around a variant 12+ bp from a motif is often predicted
   negative, and the noisy mid-range probabilities of such windows give large ``|logOR|``
   to benign variants; inside the positive window the classifier actually saw, the score
   measures the variant's effect on a confident prediction.
3. **Classifier scores** (DNABERT ``SNP.py``), with ``p`` the positive-class probability
   clipped to ``[eps, 1 - eps]``: ``diff = (p_alt - p_ref) * max(p_ref, p_alt)`` and
   ``logOR = log2(p_ref / (1 - p_ref)) - log2(p_alt / (1 - p_alt))`` (positive when the
   alt lowers the prediction).
4. **Zero-shot score** from the pretrained masked LM (GPN-style LLR). With overlapping
   k-mers the site at offset ``c`` is covered by the ``k`` tokens starting at
   ``c-k+1 .. c``; all ``k`` are replaced by ``[MASK]`` (so base ``c`` is hidden, while its
   neighbours stay visible through the adjacent tokens). For each masked token the model's
   logit of the alt k-mer minus the logit of the ref k-mer is taken (= log p(alt k-mer) -
   log p(ref k-mer): the softmax normaliser cancels); tokens whose k-mer holds an ``N`` are
   ignored. ``zero_shot`` is the mean over those tokens, averaged over the forward and the
   reverse-complement window (site at ``L-1-c``, complemented alleles). Negative = alt
   less likely than ref. The LLR is context-free, so it always uses the variant-centred
   forward window (``c = L // 2``) whatever ``context`` is.
5. **Ranking score** ``score = |logOR|`` (strength of the effect in either direction; unlike
   ``diff`` it does not shrink when the classifier saturates near 0 or 1).
6. **Significance.** ``null_size`` random SNVs (uniform position in a random positive
   window, uniform alt among the other three bases, seeded) are scored the same way;
   ``pvalue = (1 + #{null >= score}) / (null_size + 1)``; ``qvalue`` = Benjamini-Hochberg
   over all scored variants.
7. **ClinVar.** Joined on (contig, pos, ref, alt) after renaming and trimming. Classes
   from :func:`dnalm.clinvar.clinsig_class`. Summary: Fisher exact test (one-sided,
   ``scipy``) of (likely) pathogenic vs (likely) benign among high-scoring
   (``pvalue <= high_p``) vs other ClinVar variants, and AUROC (``sklearn``) of
   pathogenic (1) vs benign (0) by ``score``, ``|diff|`` and ``-zero_shot``.
8. **Scatter.** :func:`score_variant_shard` does steps 1-4 for the contigs of one shard
   (:func:`shard_contigs`: ``.fai`` contigs dealt round-robin by decreasing length) and
   reads only their tabix regions; :func:`summarise_variants` gathers the shards and does
   steps 5-7 (the null is scored once, there). Scores do not depend on the number of
   shards; :func:`score_variants` runs both steps in one process.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import math
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from dnalm import atomic, kmers
from dnalm import clinvar as cv
from dnalm import vcf as dvcf
from dnalm._compat import autocast, resolve_device

__all__ = [
    "Interval",
    "read_bed",
    "read_positive_windows",
    "task_window_length",
    "genome_window",
    "revcomp",
    "delta_scores",
    "benjamini_hochberg",
    "empirical_pvalues",
    "select_alleles",
    "classifier_delta",
    "zero_shot_llr",
    "shard_contigs",
    "score_variant_shard",
    "summarise_variants",
    "score_variants",
]

log = logging.getLogger("dnalm.variants")

CLINVAR_INFO = ("CLNSIG", "CLNDN", "GENEINFO", "CLNREVSTAT", "RS")
RANKING_SCORE = "abs_logOR"
CONTEXTS = ("region", "centred")
_COMP = str.maketrans("ACGTNacgtn", "TGCANtgcan")
_EPS = 1e-6


@dataclass(frozen=True)
class Interval:
    """A genome interval, 0-based half-open."""

    contig: str
    start: int
    end: int
    strand: str = "."
    name: str = "."


# ----------------------------------------------------------------------------- inputs


def read_bed(path: str | Path) -> list[Interval]:
    """BED3..6 intervals (``track``/``browser``/``#`` lines skipped), sorted by contig, start."""
    out = []
    with open(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.rstrip("\n").split("\t")
            if len(f) < 3:
                raise ValueError(f"{path}:{lineno}: BED needs at least 3 columns, got {len(f)}")
            try:
                s, e = int(f[1]), int(f[2])
            except ValueError:
                raise ValueError(f"{path}:{lineno}: start/end are not integers") from None
            if s < 0 or e <= s:
                raise ValueError(f"{path}:{lineno}: bad interval {s}-{e}")
            out.append(Interval(f[0], s, e, f[5] if len(f) > 5 else ".", f[3] if len(f) > 3 else "."))
    return sorted(out, key=lambda iv: (iv.contig, iv.start, iv.end))


def read_positive_windows(
    paths: Sequence[str | Path], positive_label: int = 1
) -> list[Interval]:
    """Genome windows of dataset rows with ``label == positive_label`` (rows without
    coordinates, e.g. shuffled negatives, are skipped), sorted and de-duplicated."""
    seen = set()
    for p in paths:
        df = pd.read_csv(p, sep="\t", usecols=["label", "contig", "start", "end", "strand", "source_id"],
                         dtype=str, keep_default_na=False)
        df = df[(df["label"] == str(positive_label)) & (df["start"] != ".") & (df["start"] != "")]
        for row in df.itertuples(index=False):
            seen.add(Interval(row.contig, int(row.start), int(row.end), row.strand or ".",
                              row.source_id))
    return sorted(seen, key=lambda iv: (iv.contig, iv.start, iv.end, iv.name))


def task_window_length(test_tsv: str | Path) -> int:
    """The task's input length: the length of the first sequence of a dataset TSV."""
    df = pd.read_csv(test_tsv, sep="\t", usecols=["sequence"], nrows=1, dtype=str)
    if df.empty:
        raise ValueError(f"{test_tsv}: dataset has no rows, cannot infer the window length")
    return len(df["sequence"].iloc[0])


class _Lookup:
    """Point-in-interval queries over merged intervals (per contig, numpy searchsorted)."""

    def __init__(self, intervals: Sequence[Interval]) -> None:
        by: dict[str, list[tuple[int, int]]] = {}
        for iv in sorted(intervals, key=lambda iv: (iv.contig, iv.start)):
            lst = by.setdefault(iv.contig, [])
            if lst and iv.start <= lst[-1][1]:
                lst[-1] = (lst[-1][0], max(lst[-1][1], iv.end))
            else:
                lst.append((iv.start, iv.end))
        self._s = {c: np.array([a for a, _ in v]) for c, v in by.items()}
        self._e = {c: np.array([b for _, b in v]) for c, v in by.items()}

    def contains(self, contig: str, pos0: int) -> bool:
        s = self._s.get(contig)
        if s is None:
            return False
        i = int(np.searchsorted(s, pos0, side="right")) - 1
        return i >= 0 and pos0 < self._e[contig][i]


# ----------------------------------------------------------------------------- windows and formulas


def revcomp(seq: str) -> str:
    """Reverse complement (ACGTN, case kept)."""
    return seq.translate(_COMP)[::-1]


def genome_window(
    fasta, contig: str, pos0: int, length: int, contig_len: int
) -> tuple[str, int]:
    """Upper-case window of ``length`` bp with base ``pos0`` at offset ``length // 2``.

    Positions before 0 or past ``contig_len`` are filled with ``N`` (documented choice:
    pad, not shift, so the variant keeps its offset; N k-mers become ``[UNK]``).

    Returns
    -------
    window : str, length ``length``
    offset : int
        ``length // 2``.
    """
    off = length // 2
    return _fetch_padded(fasta, contig, pos0 - off, pos0 - off + length, contig_len), off


def delta_scores(
    p_ref: np.ndarray, p_alt: np.ndarray, eps: float = _EPS
) -> tuple[np.ndarray, np.ndarray]:
    """DNABERT's ``diff`` and ``logOR`` from ref/alt positive-class probabilities.

    Parameters
    ----------
    p_ref, p_alt : array-like, shape=(n,)
    eps : float, optional
        Probabilities are clipped to ``[eps, 1 - eps]``. Default is 1e-6.

    Returns
    -------
    diff : numpy.ndarray, shape=(n,)
        ``(p_alt - p_ref) * max(p_ref, p_alt)``; 0.9 -> 0.5 gives -0.36.
    logOR : numpy.ndarray, shape=(n,)
        ``log2 odds(p_ref) - log2 odds(p_alt)``; 0.9 -> 0.5 gives 3.1699.
    """
    r = np.clip(np.asarray(p_ref, dtype=np.float64), eps, 1 - eps)
    a = np.clip(np.asarray(p_alt, dtype=np.float64), eps, 1 - eps)
    diff = (a - r) * np.maximum(r, a)
    logor = np.log2(r / (1 - r)) - np.log2(a / (1 - a))
    return diff, logor


def empirical_pvalues(obs: np.ndarray, null: np.ndarray, rtol: float = 1e-4) -> np.ndarray:
    """``(1 + #{null >= obs}) / (len(null) + 1)`` per observation (NaN if no null/obs).

    Null values within ``rtol`` (relative, plus 1e-9 absolute) of an observation count as
    ties (>=), so float noise between batch sizes cannot flip a p-value (a random SNV can
    be the very variant observed; CPU kernels differ by batch composition in about the 5th
    significant digit). Default ``rtol`` is 1e-4.
    """
    obs = np.asarray(obs, dtype=np.float64)
    null = np.sort(np.asarray(null, dtype=np.float64))
    null = null[np.isfinite(null)]
    if null.size == 0:
        return np.full(obs.shape, np.nan)
    ge = null.size - np.searchsorted(null, obs - rtol * np.abs(obs) - 1e-9, side="left")
    p = (1.0 + ge) / (null.size + 1.0)
    p[~np.isfinite(obs)] = np.nan
    return p


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaNs stay NaN and are not counted)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return q
    order = ok[np.argsort(p[ok], kind="stable")]
    ranked = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return q


# ----------------------------------------------------------------------------- selection


def _new_counts() -> dict:
    return {
        "regions": 0,
        "records": 0,
        "multiallelic_records": 0,
        "multiallelic_splits": 0,
        "alleles": 0,
        "snvs": 0,
        "indels_skipped": 0,
        "other_skipped": 0,
        "ref_mismatch": 0,
        "selected": 0,
        "ref_mismatch_examples": [],
    }


def select_alleles(
    vf,
    intervals: Sequence[Interval],
    fasta,
    lengths: Mapping[str, int],
    counts: dict,
    info_keys: Sequence[str] = (),
    source: str = "vcf",
    max_examples: int = 20,
) -> dict[tuple, tuple[dvcf.Allele, Interval]]:
    """SNV alleles inside ``intervals`` (streamed region by region), REF-checked.

    Parameters
    ----------
    vf : pysam.VariantFile
        Indexed VCF whose contig names are the genome's.
    intervals : sequence of Interval
    fasta : pysam.FastaFile
    lengths : mapping of str to int
    counts : dict
        Updated in place (records, multi-allelic splits, skipped indels, REF mismatches...).
    info_keys : sequence of str, optional
        INFO keys copied onto each allele. Default is none.
    source : str, optional
        Label for log lines. Default is "vcf".

    Returns
    -------
    selected : dict
        ``(contig, pos, ref, alt) -> (allele, first interval containing it)``, in genome order.
    """
    seen_records: set[tuple] = set()
    selected: dict[tuple, tuple[dvcf.Allele, Interval]] = {}
    for iv in intervals:
        counts["regions"] += 1
        clen = lengths.get(iv.contig)
        if clen is None:
            continue
        for rec, alleles in dvcf.iter_alleles(vf, iv.contig, iv.start, iv.end, info_keys):
            rkey = (rec.chrom, rec.pos, rec.ref, rec.alts)
            new_record = rkey not in seen_records
            if new_record:
                seen_records.add(rkey)
                counts["records"] += 1
                counts["alleles"] += len(alleles)
                if len(alleles) > 1:
                    counts["multiallelic_records"] += 1
                    counts["multiallelic_splits"] += len(alleles)
            for a in alleles:
                if not iv.start <= a.pos0 < iv.end or a.key in selected:
                    continue
                if a.is_symbolic or (len(a.ref) == 1 and len(a.alt) == 1 and
                                     (a.ref not in "ACGT" or a.alt not in "ACGT" or a.ref == a.alt)):
                    counts["other_skipped"] += new_record
                    continue
                if not a.is_snv:
                    counts["indels_skipped"] += new_record
                    continue
                if new_record:
                    counts["snvs"] += 1
                gref = fasta.fetch(a.contig, a.pos0, a.pos0 + 1).upper() if a.pos0 < clen else ""
                if gref != a.ref:
                    if new_record:
                        counts["ref_mismatch"] += 1
                        ex = f"{a.contig}:{a.pos} {a.ref}>{a.alt} genome={gref or '-'} id={a.id}"
                        if len(counts["ref_mismatch_examples"]) < max_examples:
                            counts["ref_mismatch_examples"].append(ex)
                        log.warning("%s: REF mismatch, not scored: %s", source, ex)
                    continue
                selected[a.key] = (a, iv)
    counts["selected"] = len(selected)
    return selected


# ----------------------------------------------------------------------------- models


def classifier_delta(
    model,
    k: int,
    ref_windows: Sequence[str],
    alt_windows: Sequence[str],
    batch_size: int = 64,
    device=None,
    positive_class: int = 1,
    verbose: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Positive-class probabilities of ref and alt windows (predicted in batches).

    Every batch is full: the last one is padded with copies of the last window (whose
    outputs are dropped). Kernels then always see the same shapes, so a window's
    probability does not depend on how many others are scored with it (bitwise, for a
    given device and thread count; a short last batch can take another kernel path and
    differ in the last float bits). This is what makes scattered runs identical.

    Returns
    -------
    p_ref, p_alt : numpy.ndarray, shape=(n,), dtype=float64
    """
    from dnalm.predict import predict_proba

    n = len(ref_windows)
    if n != len(alt_windows):
        raise ValueError("`ref_windows` and `alt_windows` differ in length")
    if n == 0:
        return np.zeros(0), np.zeros(0)
    seqs = list(ref_windows) + list(alt_windows)
    seqs += [seqs[-1]] * (-len(seqs) % batch_size)
    probs = predict_proba(model, seqs, k, batch_size=batch_size, device=device, verbose=verbose)
    p = probs[: 2 * n, positive_class]
    return p[:n], p[n:]


def _masked_llr_one_strand(mlm, k, windows, offsets, refs, alts, batch_size, dev, verbose):
    n = len(windows)
    out = np.full(n, np.nan)
    for b0 in tqdm(range(0, n, batch_size), disable=not verbose, desc="zero-shot"):
        sl = slice(b0, b0 + batch_size)
        # full batches (last row repeated) and a fixed number of masked tokens per batch, so
        # kernels see the same shapes whatever n is (see classifier_delta)
        pad = batch_size - len(windows[sl])
        w = windows[sl] + windows[-1:] * pad
        offs = offsets[sl] + offsets[-1:] * pad
        alt_w = [s[:c] + a + s[c + 1:]
                 for s, c, a in zip(w, offs, alts[sl] + alts[-1:] * pad, strict=True)]
        ids, mask = kmers.encode_batch(w, k)
        alt_ids, _ = kmers.encode_batch(alt_w, k)
        rows, cols = [], []
        for i, c in enumerate(offs):
            L = len(w[i])
            for j in range(max(0, c - k + 1), min(c, L - k) + 1):
                rows.append(i)
                cols.append(j + 1)  # +1 for [CLS]
        n_tok = len(rows)
        rows += rows[-1:] * (batch_size * k - n_tok)
        cols += cols[-1:] * (batch_size * k - n_tok)
        rows_a, cols_a = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)
        ref_tok = ids[rows_a, cols_a]
        alt_tok = alt_ids[rows_a, cols_a]
        masked = ids.copy()
        masked[rows_a, cols_a] = kmers.MASK_ID
        with autocast(dev):
            hidden = mlm.bert(
                input_ids=torch.from_numpy(masked).to(dev),
                attention_mask=torch.from_numpy(mask).to(dev),
            ).last_hidden_state
            logits = mlm.cls(hidden[torch.from_numpy(rows_a).to(dev), torch.from_numpy(cols_a).to(dev)])
        logits = logits.float().cpu().numpy()
        r = np.arange(len(rows_a))
        tok = logits[r, alt_tok] - logits[r, ref_tok]
        ok = (ref_tok != kmers.UNK_ID) & (alt_tok != kmers.UNK_ID)
        ok[n_tok:] = False  # padding tokens
        sums = np.zeros(len(w))
        cnt = np.zeros(len(w))
        np.add.at(sums, rows_a[ok], tok[ok])
        np.add.at(cnt, rows_a[ok], 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[sl] = np.where(cnt > 0, sums / np.maximum(cnt, 1), np.nan)[: batch_size - pad]
    return out


@torch.no_grad()
def zero_shot_llr(
    mlm,
    k: int,
    windows: Sequence[str],
    offsets: Sequence[int],
    refs: Sequence[str],
    alts: Sequence[str],
    batch_size: int = 64,
    device=None,
    verbose: bool = False,
) -> np.ndarray:
    """Masked-LM log-likelihood ratio of alt vs ref, averaged over both strands.

    Parameters
    ----------
    mlm : transformers.BertForMaskedLM
    k : int
    windows : sequence of str, length n
        Reference windows (forward strand), upper-case.
    offsets : sequence of int, length n
        0-based position of the variant in each window.
    refs, alts : sequence of str, length n
        Single bases (forward strand).
    batch_size : int, optional
        Default is 64. Results do not depend on it.
    device : optional
        Default is cuda if available, else cpu.

    Returns
    -------
    llr : numpy.ndarray, shape=(n,), dtype=float64
        Mean over the k masked tokens covering the site of ``logit(alt k-mer) -
        logit(ref k-mer)``, averaged over forward and reverse-complement windows
        (NaN when every covering k-mer holds an N on both strands).
    """
    n = len(windows)
    if n == 0:
        return np.zeros(0)
    dev = resolve_device(device)
    mlm.to(dev)
    mlm.eval()
    w = [s.upper() for s in windows]
    offs = [int(c) for c in offsets]
    for i, (s, c, r) in enumerate(zip(w, offs, refs, strict=True)):
        if s[c] != r.upper():
            raise ValueError(f"`windows`[{i}] has {s[c]!r} at offset {c}, but refs[{i}] is {r!r}")
    fwd = _masked_llr_one_strand(mlm, k, w, offs, [r.upper() for r in refs],
                                 [a.upper() for a in alts], batch_size, dev, verbose)
    rc_w = [revcomp(s) for s in w]
    rc_off = [len(s) - 1 - c for s, c in zip(w, offs, strict=True)]
    rev = _masked_llr_one_strand(mlm, k, rc_w, rc_off, [revcomp(r.upper()) for r in refs],
                                 [revcomp(a.upper()) for a in alts], batch_size, dev, verbose)
    both = np.vstack([fwd, rev])
    with np.errstate(invalid="ignore"):
        cnt = np.isfinite(both).sum(0)
        return np.where(cnt > 0, np.nansum(both, 0) / np.maximum(cnt, 1), np.nan)


def _load_mlm(directory):
    """``BertForMaskedLM`` and its k from a pretrained model directory."""
    from transformers import BertForMaskedLM

    k = kmers.load_tokenizer(directory).k  # validates the vocabulary
    m = BertForMaskedLM.from_pretrained(str(directory))
    m.eval()
    return m, k


# ----------------------------------------------------------------------------- scoring windows


def _fetch_padded(fasta, contig: str, start: int, end: int, contig_len: int) -> str:
    """Upper-case ``contig[start:end]``, ``N`` where the interval leaves the contig."""
    a, b = max(0, start), min(end, contig_len)
    if b <= a:
        return "N" * (end - start)
    return "N" * (a - start) + fasta.fetch(contig, a, b).upper() + "N" * (end - b)


class _WindowIndex:
    """Nearest-centred positive window containing a position (per contig, numpy searchsorted).

    Only windows of exactly ``L`` bp are indexed; sorted by (start, strand, name), so the
    containing windows of ``pos0`` are the slice of starts in ``[pos0 - L + 1, pos0]``.
    """

    def __init__(self, windows: Sequence[Interval], L: int) -> None:
        self.L = L
        by: dict[str, list[Interval]] = {}
        self.skipped = 0
        for iv in windows:
            if iv.end - iv.start != L:
                self.skipped += 1
                continue
            by.setdefault(iv.contig, []).append(iv)
        self._ivs = {c: sorted(v, key=lambda iv: (iv.start, iv.strand, iv.name))
                     for c, v in by.items()}
        self._starts = {c: np.fromiter((iv.start for iv in v), dtype=np.int64, count=len(v))
                        for c, v in self._ivs.items()}
        if self.skipped:
            log.warning("%d positive windows are not %d bp long and are not used as scoring "
                        "context", self.skipped, L)

    def find(self, contig: str, pos0: int) -> Interval | None:
        """The containing window whose centre is nearest ``pos0`` (ties: lowest start)."""
        s = self._starts.get(contig)
        if s is None:
            return None
        lo = int(np.searchsorted(s, pos0 - self.L + 1, side="left"))
        hi = int(np.searchsorted(s, pos0, side="right"))
        if hi <= lo:
            return None
        # twice the distance between base pos0 and the window centre start + (L - 1) / 2
        dist = np.abs(2 * s[lo:hi] + (self.L - 1) - 2 * pos0)
        return self._ivs[contig][lo + int(np.argmin(dist))]  # argmin: first = lowest start


@dataclass
class _Windows:
    """Classifier inputs of n variants (oriented like the dataset rows)."""

    ref: list[str]
    alt: list[str]
    offset: list[int]  # variant position in ref/alt
    strand: list[str]
    window: list[str]  # "contig:start-end:strand", 0-based half-open genome interval
    window_id: list[str]  # source_id of the positive window, or "centred"
    fallback: np.ndarray  # bool, region context without a containing window


_WINDOW_RE = re.compile(r"^(.+):(-?\d+)-(-?\d+):([+\-.])$")


def _scoring_windows(cands, fasta, lengths, L: int, index: _WindowIndex | None) -> _Windows:
    """Ref/alt classifier windows: the nearest-centred containing positive window
    (``index`` given) or, without one, the variant-centred window on the selection
    interval's strand."""
    out = _Windows([], [], [], [], [], [], np.zeros(len(cands), dtype=bool))
    for i, (a, iv) in enumerate(cands):
        hit = index.find(a.contig, a.pos0) if index is not None else None
        if hit is None:
            start, strand, wid = a.pos0 - L // 2, iv.strand, "centred"
            out.fallback[i] = index is not None
        else:
            start, strand, wid = hit.start, hit.strand, hit.name
        fwd = _fetch_padded(fasta, a.contig, start, start + L, lengths[a.contig])
        off = a.pos0 - start
        if fwd[off] != a.ref:
            raise ValueError(f"{a.contig}:{a.pos}: genome base {fwd[off]!r} is not REF {a.ref!r}")
        alt = fwd[:off] + a.alt + fwd[off + 1:]
        if strand == "-":
            fwd, alt, off = revcomp(fwd), revcomp(alt), L - 1 - off
        out.ref.append(fwd)
        out.alt.append(alt)
        out.offset.append(off)
        out.strand.append(strand)
        out.window.append(f"{a.contig}:{start}-{start + L}:{strand}")
        out.window_id.append(wid)
    return out


def _window_sequence(fasta, lengths, window: str) -> str:
    """The oriented classifier input named by a ``window`` column value."""
    m = _WINDOW_RE.match(window)
    if m is None:
        raise ValueError(f"bad window {window!r}, expected contig:start-end:strand")
    contig, s, e, strand = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
    seq = _fetch_padded(fasta, contig, s, e, lengths[contig])
    return revcomp(seq) if strand == "-" else seq


def _null_candidates(windows, fasta, lengths, L, n, rng):
    out = []
    if not windows or n <= 0:
        return out
    tries = 0
    while len(out) < n and tries < 50 * n:
        tries += 1
        iv = windows[int(rng.integers(len(windows)))]
        if iv.contig not in lengths:
            continue
        pos0 = int(rng.integers(iv.start, min(iv.end, lengths[iv.contig])))
        ref = fasta.fetch(iv.contig, pos0, pos0 + 1).upper()
        if ref not in "ACGT" or not ref:
            continue
        alt = "ACGT".replace(ref, "")[int(rng.integers(3))]
        out.append((dvcf.Allele(iv.contig, pos0 + 1, ref, alt, "null"), iv))
    return out


# ----------------------------------------------------------------------------- orchestration


def shard_contigs(lengths: Mapping[str, int], n_shards: int, shard: int) -> list[str]:
    """Contigs of shard ``shard`` (1-based) of ``n_shards``.

    Contigs are dealt round-robin in order of decreasing length (ties: input order, i.e.
    ``.fai`` order), so shards are static and balanced, every contig lands in exactly one
    shard, and with ``n_shards >= len(lengths)`` each shard holds at most one contig.

    Parameters
    ----------
    lengths : mapping of str to int
        Contig lengths in ``.fai`` order.
    n_shards : int
    shard : int
        1 .. ``n_shards``.

    Returns
    -------
    contigs : list of str
        In dealing order (longest first).
    """
    if isinstance(n_shards, bool) or not isinstance(n_shards, int | np.integer) or n_shards < 1:
        raise ValueError(f"`n_shards` must be an integer >= 1, got {n_shards!r}")
    if isinstance(shard, bool) or not isinstance(shard, int | np.integer) or not 1 <= shard <= n_shards:
        raise ValueError(f"`shard` must be in 1..{n_shards}, got {shard!r}")
    order = sorted(range(len(lengths)), key=lambda j: (-list(lengths.values())[j], j))
    names = list(lengths)
    return [names[j] for r, j in enumerate(order) if r % n_shards == shard - 1]


def _auroc(y: np.ndarray, s: np.ndarray):
    from sklearn.metrics import roc_auc_score

    ok = np.isfinite(s)
    y, s = y[ok], s[ok]
    if len(np.unique(y)) < 2:
        return None
    return float(roc_auc_score(y, s))


def _write_tsv_gz(df: pd.DataFrame, path: Path, float_format: str = "%.6g") -> None:
    buf = io.StringIO()
    df.to_csv(buf, sep="\t", index=False, na_rep="NA", float_format=float_format)
    atomic.write_bytes(path, gzip.compress(buf.getvalue().encode(), mtime=0))


def _write_tsv(df: pd.DataFrame, path: Path) -> None:
    with atomic.atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, na_rep="NA", float_format="%.6g")


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(x) else None
    return x


SCORE_COLUMNS = [
    "contig", "pos", "ref", "alt", "id", "source", "in_attention", "strand", "region",
    "window", "window_id", "offset",
    "p_ref", "p_alt", "diff", "logOR", "zero_shot", "score", "pvalue", "qvalue",
    "clnsig", "clinvar_class", "stars",
]
CLINVAR_COLUMNS = [
    "contig", "pos", "ref", "alt", "clinvar_id", "rsid", "in_attention", "in_dbsnp",
    "p_ref", "p_alt", "diff", "logOR", "zero_shot", "score", "pvalue", "qvalue",
    "clnsig", "clinvar_class", "stars", "CLNDN", "GENEINFO", "CLNREVSTAT",
]
# per-variant columns of a shard table (everything but the null-dependent pvalue/qvalue)
SHARD_COLUMNS = [c for c in SCORE_COLUMNS if c not in ("pvalue", "qvalue")] + [
    "in_dbsnp", "clinvar_id", "rsid", "CLNDN", "GENEINFO", "CLNREVSTAT",
]
_SHARD_FLOATS = ("p_ref", "p_alt", "diff", "logOR", "zero_shot", "score")
_SHARD_BOOLS = ("in_attention", "in_dbsnp")
_SHARD_INTS = ("pos", "offset")


def _check_context(context: str) -> None:
    if context not in CONTEXTS:
        raise ValueError(f"`context` must be one of {CONTEXTS}, got {context!r}")


def score_variant_shard(
    genome_fasta: str | Path,
    regions_bed: str | Path,
    datasets: Sequence[str | Path],
    classifier_dir: str | Path,
    output_table: str | Path,
    output_meta: str | Path,
    shard: int = 1,
    n_shards: int = 1,
    dbsnp_vcf: str | Path | None = None,
    clinvar_vcf: str | Path | None = None,
    lm_dir: str | Path | None = None,
    context: str = "region",
    batch_size: int = 64,
    positive_class: int = 1,
    device=None,
    verbose: bool = False,
) -> dict:
    """Select and score the variants on one shard's contigs (the scatter step).

    Only the tabix regions of this shard's contigs are read (see :func:`shard_contigs`).
    Scores do not depend on the null, so shards are independent; :func:`summarise_variants`
    adds p-values and everything else.

    Parameters
    ----------
    genome_fasta, regions_bed, datasets, classifier_dir, dbsnp_vcf, clinvar_vcf, lm_dir
        As in :func:`score_variants`.
    output_table : path
        ``.tsv.gz`` with :data:`SHARD_COLUMNS` (floats written round-trip exact).
    output_meta : path
        ``.json``: shard, n_shards, contigs, context, window_length, k, counts.
    shard, n_shards : int, optional
        Which shard (1-based) of how many. Default is 1 of 1.
    context : {"region", "centred"}, optional
        Classifier window of a variant. Default is "region".
    batch_size, positive_class, device, verbose
        As in :func:`score_variants`.

    Returns
    -------
    meta : dict
        What ``output_meta`` holds.
    """
    import pysam

    from dnalm.predict import load_classifier

    _check_context(context)
    fasta = pysam.FastaFile(str(genome_fasta))
    lengths = dict(zip(fasta.references, fasta.lengths, strict=True))
    mine = shard_contigs(lengths, n_shards, shard)
    keep = set(mine)
    L = task_window_length(datasets[0])
    attention = [iv for iv in read_bed(regions_bed) if iv.contig in keep]
    positives = [iv for iv in read_positive_windows(datasets, positive_class) if iv.contig in keep]
    att_lookup = _Lookup(attention)
    log.info("shard %d of %d: contigs %s; task window %d bp; %d high-attention regions; "
             "%d positive windows", shard, n_shards, ",".join(mine) or "-", L, len(attention),
             len(positives))

    counts: dict[str, dict] = {}
    selected: dict[tuple, dict] = {}
    if dbsnp_vcf is not None:
        c = counts["dbsnp"] = _new_counts()
        with dvcf.open_vcf(dbsnp_vcf) as vf:
            sel = select_alleles(vf, attention, fasta, lengths, c, source="dbsnp")
        for key, (a, iv) in sel.items():
            selected[key] = {"allele": a, "iv": iv, "dbsnp": True, "clinvar": None,
                             "in_attention": True}
        log.info("dbSNP: %d SNVs selected in high-attention regions (%d indels skipped, "
                 "%d REF mismatches)", c["selected"], c["indels_skipped"], c["ref_mismatch"])
    if clinvar_vcf is not None:
        c = counts["clinvar"] = _new_counts()
        with dvcf.open_vcf(clinvar_vcf) as vf:
            sel = select_alleles(vf, positives, fasta, lengths, c, info_keys=CLINVAR_INFO,
                                 source="clinvar")
        for key, (a, iv) in sel.items():
            ent = selected.get(key)
            if ent is None:
                selected[key] = {"allele": a, "iv": iv, "dbsnp": False, "clinvar": a,
                                 "in_attention": att_lookup.contains(a.contig, a.pos0)}
            else:
                ent["clinvar"] = a
        log.info("ClinVar: %d SNVs in positive windows (%d REF mismatches)",
                 c["selected"], c["ref_mismatch"])

    clf, k = load_classifier(classifier_dir)
    ents = list(selected.values())
    cands = [(e["allele"], e["iv"]) for e in ents]
    index = _WindowIndex(positives, L) if context == "region" else None
    win = _scoring_windows(cands, fasta, lengths, L, index)
    for src, flag in (("dbsnp", "dbsnp"), ("clinvar", "clinvar")):
        if src in counts:
            counts[src]["centred_fallback"] = int(sum(
                bool(fb) for e, fb in zip(ents, win.fallback, strict=True) if e[flag]))
    if win.fallback.any():
        log.warning("%d of %d variants lie in no %d-bp positive window and are scored in a "
                    "variant-centred window", int(win.fallback.sum()), len(ents), L)
    p_ref, p_alt = classifier_delta(clf, k, win.ref, win.alt, batch_size, device, positive_class,
                                    verbose)
    del clf
    diff, logor = delta_scores(p_ref, p_alt)
    if lm_dir is not None and ents:
        # the zero-shot LLR is context-free: always the variant-centred forward window
        zs_w, zs_off = [], []
        for a, _ in cands:
            w, off = genome_window(fasta, a.contig, a.pos0, L, lengths[a.contig])
            zs_w.append(w)
            zs_off.append(off)
        mlm, lm_k = _load_mlm(lm_dir)
        zs = zero_shot_llr(mlm, lm_k, zs_w, zs_off, [a.ref for a, _ in cands],
                           [a.alt for a, _ in cands], batch_size, device, verbose)
        del mlm
    else:
        zs = np.full(len(ents), np.nan)

    rows = []
    for i, e in enumerate(ents):
        a, iv, c = e["allele"], e["iv"], e["clinvar"]
        src = "both" if e["dbsnp"] and c is not None else ("dbsnp" if e["dbsnp"] else "clinvar")
        clnsig = c.info.get("CLNSIG", "") if c is not None else ""
        info = c.info if c is not None else {}
        rows.append({
            "contig": a.contig, "pos": a.pos, "ref": a.ref, "alt": a.alt,
            "id": a.id, "source": src, "in_attention": bool(e["in_attention"]),
            "strand": win.strand[i], "region": iv.name, "window": win.window[i],
            "window_id": win.window_id[i], "offset": win.offset[i],
            "p_ref": p_ref[i], "p_alt": p_alt[i], "diff": diff[i], "logOR": logor[i],
            "zero_shot": zs[i], "score": abs(logor[i]),
            "clnsig": clnsig or ("." if c is None else "missing"),
            "clinvar_class": cv.clinsig_class(clnsig) if c is not None else ".",
            "stars": cv.review_stars(info.get("CLNREVSTAT", "")) if c is not None else None,
            "in_dbsnp": bool(e["dbsnp"]),
            "clinvar_id": c.id if c is not None else ".",
            "rsid": ("rs" + info["RS"]) if info.get("RS") else ".",
            **{key: info.get(key, "") or "." for key in ("CLNDN", "GENEINFO", "CLNREVSTAT")},
        })
    df = pd.DataFrame(rows, columns=SHARD_COLUMNS)
    df["stars"] = df["stars"].astype("Int64")
    meta = {
        "shard": int(shard), "n_shards": int(n_shards), "contigs": mine, "context": context,
        "window_length": L, "k": k, "n_rows": len(df), "counts": counts,
    }
    _write_tsv_gz(df, Path(output_table), float_format="%.17g")
    atomic.write_text(output_meta, json.dumps(_jsonable(meta), indent=2) + "\n")
    return meta


def _read_shard_table(path: str | Path) -> pd.DataFrame:
    strings = [c for c in SHARD_COLUMNS if c not in _SHARD_FLOATS + _SHARD_INTS + ("stars",)]
    df = pd.read_csv(path, sep="\t", dtype={c: str for c in strings}, keep_default_na=False,
                     na_values={c: ["NA"] for c in (*_SHARD_FLOATS, "stars")})
    if list(df.columns) != SHARD_COLUMNS:
        raise ValueError(f"{path}: not a variant shard table (columns {list(df.columns)})")
    for c in _SHARD_FLOATS:
        df[c] = df[c].astype(np.float64)
    for c in _SHARD_INTS:
        df[c] = df[c].astype(np.int64)
    for c in _SHARD_BOOLS:
        df[c] = df[c] == "True"
    df["stars"] = df["stars"].astype("Int64")
    return df


def _merge_counts(metas: Sequence[Mapping], max_examples: int = 20) -> dict:
    """Sum the per-shard selection counts (REF-mismatch examples: first by position)."""
    out: dict[str, dict] = {}
    for m in metas:
        for src, c in m["counts"].items():
            acc = out.setdefault(src, {})
            for key, v in c.items():
                if isinstance(v, list):
                    acc.setdefault(key, []).extend(v)
                else:
                    acc[key] = acc.get(key, 0) + v

    def where(ex: str) -> tuple[str, int]:
        contig, pos = ex.split(" ", 1)[0].rsplit(":", 1)
        return contig, int(pos)

    for acc in out.values():
        if "ref_mismatch_examples" in acc:
            acc["ref_mismatch_examples"] = sorted(acc["ref_mismatch_examples"], key=where)[:max_examples]
    return out


def summarise_variants(
    shard_tables: Sequence[str | Path],
    shard_meta: Sequence[str | Path],
    genome_fasta: str | Path,
    datasets: Sequence[str | Path],
    classifier_dir: str | Path,
    outputs: Mapping[str, str | Path],
    normalise_counts: Mapping[str, str | Path] | None = None,
    context: str = "region",
    batch_size: int = 64,
    null_size: int = 1000,
    top_mutation_maps: int = 5,
    seed: int = 1,
    high_p: float = 0.05,
    fdr: float = 0.05,
    positive_class: int = 1,
    device=None,
    verbose: bool = False,
    labels: Mapping[str, str] | None = None,
) -> dict:
    """Gather the shards: random-SNV null, p-values, BH, ClinVar statistics, figures.

    Parameters
    ----------
    shard_tables, shard_meta : sequence of path
        All shards of one scatter (``.tsv.gz`` and ``.json`` of :func:`score_variant_shard`),
        in any order; they must be shards 1..n of the same n and context.
    Other parameters
        As in :func:`score_variants`.

    Returns
    -------
    summary : dict
        What ``summary.json`` holds. Identical for any number of shards, except ``scatter``.
    """
    import pysam
    from scipy.stats import fisher_exact

    from dnalm.mutagenesis import plot_mutation_maps, saturation_mutagenesis
    from dnalm.predict import load_classifier

    _check_context(context)
    outs = {k: Path(v) for k, v in outputs.items()}
    for p in outs.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    if len(shard_tables) != len(shard_meta) or not shard_tables:
        raise ValueError("`shard_tables` and `shard_meta` must be non-empty and of equal length")
    L = task_window_length(datasets[0])
    metas = []
    for p in shard_meta:
        m = json.loads(Path(p).read_text())
        for key, want in (("n_shards", len(shard_meta)), ("context", context), ("window_length", L)):
            if m.get(key) != want:
                raise ValueError(f"{p}: shard has {key}={m.get(key)!r}, expected {want!r}")
        metas.append(m)
    got = sorted(m["shard"] for m in metas)
    if got != list(range(1, len(metas) + 1)):
        raise ValueError(f"shards {got} are not 1..{len(metas)} exactly once ({list(shard_meta)})")
    tables = []
    for p, m in zip(shard_tables, metas, strict=True):
        t = _read_shard_table(p)
        if len(t) != m["n_rows"]:
            raise ValueError(f"{p}: {len(t)} rows, its metadata says {m['n_rows']}")
        tables.append(t)
    df = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=SHARD_COLUMNS)
    counts = _merge_counts(sorted(metas, key=lambda m: m["shard"]))
    for src, path in (normalise_counts or {}).items():
        if src in counts and path and Path(path).is_file():
            nc = json.loads(Path(path).read_text())
            counts[src]["outside_genome_records"] = nc.get("records_dropped", 0)
            counts[src]["outside_genome_contigs"] = nc.get("dropped_contigs", {})
    if "clinvar" in counts and counts["clinvar"].get("selected", 0) == 0:
        log.warning("ClinVar: no variant inside the positive windows of this task; "
                    "clinvar.tsv is empty and no AUROC/enrichment can be computed")

    # ---- null: random SNVs in positive windows, scored like the variants
    rng = np.random.default_rng(seed)
    fasta = pysam.FastaFile(str(genome_fasta))
    lengths = dict(zip(fasta.references, fasta.lengths, strict=True))
    positives = read_positive_windows(datasets, positive_class)
    clf, k = load_classifier(classifier_dir)
    for p, m in zip(shard_meta, metas, strict=True):
        if m.get("k") != k:
            raise ValueError(f"{p}: shard scored with k={m.get('k')}, classifier has k={k}")
    null = _null_candidates(positives, fasta, lengths, L, null_size, rng)
    nwin = _scoring_windows(null, fasta, lengths, L,
                            _WindowIndex(positives, L) if context == "region" else None)
    np_ref, np_alt = classifier_delta(clf, k, nwin.ref, nwin.alt, batch_size, device,
                                      positive_class, verbose)
    null_score = np.abs(delta_scores(np_ref, np_alt)[1])
    df["pvalue"] = empirical_pvalues(df["score"].to_numpy(np.float64), null_score)
    df["qvalue"] = benjamini_hochberg(df["pvalue"].to_numpy(np.float64))
    if len(df):
        df = df.sort_values(["score", "contig", "pos", "alt"], ascending=[False, True, True, True],
                            kind="stable").reset_index(drop=True)
    _write_tsv_gz(df[SCORE_COLUMNS], outs["scores"])
    cdf = df[df["source"].isin(["clinvar", "both"])]
    _write_tsv(cdf.reindex(columns=CLINVAR_COLUMNS), outs["clinvar"])

    # ---- ClinVar statistics
    two = cdf[cdf["clinvar_class"].isin(["pathogenic", "benign"])]
    y = (two["clinvar_class"] == "pathogenic").to_numpy(int)
    auroc = {
        "score": _auroc(y, two["score"].to_numpy(float)),
        "abs_diff": _auroc(y, np.abs(two["diff"].to_numpy(float))),
        "neg_zero_shot": _auroc(y, -two["zero_shot"].to_numpy(float)),
    }
    high = two["pvalue"].to_numpy(float) <= high_p
    table = [[int((high & (y == 1)).sum()), int((high & (y == 0)).sum())],
             [int((~high & (y == 1)).sum()), int((~high & (y == 0)).sum())]]
    if len(two) and y.any() and (y == 0).any():
        odds, fisher_p = fisher_exact(table, alternative="greater")
        (a_, b_), (c_, d_) = table
        haldane = ((a_ + 0.5) * (d_ + 0.5)) / ((b_ + 0.5) * (c_ + 0.5))
    else:
        odds = fisher_p = haldane = None
        log.warning("ClinVar: need both pathogenic and benign variants for AUROC/Fisher "
                    "(%d pathogenic, %d benign)", int(y.sum()), int((y == 0).sum()))
    if auroc["score"] is not None:
        log.info("AUROC pathogenic vs benign by %s: %.3f; Fisher OR %.3g, p %.3g",
                 RANKING_SCORE, auroc["score"], odds if odds is not None else float("nan"),
                 fisher_p if fisher_p is not None else float("nan"))

    # ---- mutation maps and figures
    maps, seqs, titles, marks = [], [], [], []
    for r in df.head(top_mutation_maps).to_dict("records"):
        seq = _window_sequence(fasta, lengths, r["window"])
        m, _ = saturation_mutagenesis(clf, seq, k, batch_size, device, positive_class)
        maps.append(m)
        seqs.append(seq)
        marks.append(int(r["offset"]))  # the variant's own offset in the classifier input
        titles.append(f"{r['contig']}:{r['pos']} {r['ref']}>{r['alt']} ({r['source']}, "
                      f"ClinVar {r['clinvar_class']}), {r['window_id']} {r['strand']}: "
                      f"p_ref={r['p_ref']:.3f} p_alt={r['p_alt']:.3f} logOR={r['logOR']:.2f}")
    plot_mutation_maps(maps, seqs, titles, marks, outs["fig_maps"])
    _plot_scores(df, null_score, outs["fig_scores"])
    _plot_top(df, outs["fig_top"])

    n_fallback = int((df["window_id"] == "centred").sum()) if context == "region" else 0
    summary = {
        **dict(labels or {}),
        "window_length": L,
        "k": k,
        "context": context,
        "centred_fallback": n_fallback,
        "ranking_score": RANKING_SCORE,
        "high_scoring": f"empirical pvalue <= {high_p} against {len(null_score)} random SNVs",
        "counts": counts,
        "n_scored": int(len(df)),
        "n_scored_dbsnp": int(df["in_dbsnp"].sum()) if len(df) else 0,
        "n_scored_clinvar": int(len(cdf)),
        "n_null": int(len(null_score)),
        "null_quantiles": {str(q): float(np.quantile(null_score, q)) for q in (0.5, 0.9, 0.95, 0.99)}
        if len(null_score) else {},
        "n_significant_fdr": int((df["qvalue"] <= fdr).sum()) if len(df) else 0,
        "fdr": fdr,
        "clinvar_classes": cv.class_counts(cdf["clinvar_class"]) if len(cdf) else cv.class_counts([]),
        "auroc_pathogenic_vs_benign": auroc,
        "enrichment": {
            "table": {"high_pathogenic": table[0][0], "high_benign": table[0][1],
                      "low_pathogenic": table[1][0], "low_benign": table[1][1]},
            "odds_ratio": odds,
            "odds_ratio_haldane": haldane,
            "fisher_pvalue": fisher_p,
            "alternative": "greater",
        },
        "top": [
            {"variant": f"{r.contig}:{r.pos}:{r.ref}:{r.alt}", "source": r.source,
             "clinvar_class": r.clinvar_class, "score": r.score, "pvalue": r.pvalue}
            for r in df.head(10).itertuples(index=False)
        ],
        "scatter": {"n_shards": len(metas),
                    "contigs": {str(m["shard"]): m["contigs"] for m in sorted(metas, key=lambda m: m["shard"])}},
    }
    summary = _jsonable(summary)
    atomic.write_text(outs["summary"], json.dumps(summary, indent=2) + "\n")
    return summary


def score_variants(
    genome_fasta: str | Path,
    regions_bed: str | Path,
    datasets: Sequence[str | Path],
    classifier_dir: str | Path,
    outputs: Mapping[str, str | Path],
    dbsnp_vcf: str | Path | None = None,
    clinvar_vcf: str | Path | None = None,
    lm_dir: str | Path | None = None,
    normalise_counts: Mapping[str, str | Path] | None = None,
    context: str = "region",
    n_shards: int = 1,
    batch_size: int = 64,
    null_size: int = 1000,
    top_mutation_maps: int = 5,
    seed: int = 1,
    high_p: float = 0.05,
    fdr: float = 0.05,
    positive_class: int = 1,
    device=None,
    verbose: bool = False,
    labels: Mapping[str, str] | None = None,
) -> dict:
    """Select, score and summarise the functional variants of one task and model.

    In one process: :func:`score_variant_shard` for shards 1..``n_shards`` (into a
    temporary directory next to the outputs), then :func:`summarise_variants`. The workflow
    runs the same two steps as separate jobs (rules ``variant_score_shard`` and
    ``variant_score``).

    Parameters
    ----------
    genome_fasta : path
        bgzip FASTA with ``.fai`` (and ``.gzi``); genome contig names.
    regions_bed : path
        High-attention regions (BED6, genome coordinates).
    datasets : sequence of path
        The task's dataset TSVs (train/dev/test); positive windows come from all of them,
        the window length from the first.
    classifier_dir : path
        Fine-tuned classifier (``dnalm.predict.load_classifier``).
    outputs : mapping
        Paths for ``scores`` (.tsv.gz), ``clinvar`` (.tsv), ``summary`` (.json),
        ``fig_scores``, ``fig_top``, ``fig_maps`` (.png).
    dbsnp_vcf, clinvar_vcf : path, optional
        Normalised, indexed VCFs (genome contig names). Default is None (source skipped).
    lm_dir : path, optional
        Pretrained masked LM for the zero-shot score. Default is None (column is NaN).
    normalise_counts : mapping, optional
        ``{"dbsnp": json, "clinvar": json}`` from ``vcf_normalise`` (outside-genome
        contigs) copied into the summary. Default is None.
    context : {"region", "centred"}, optional
        Classifier window: the nearest-centred positive dataset window containing the
        variant (``region``, DNABERT's mutate-the-task's-sequences) or a window centred
        on it (``centred``). Default is "region".
    n_shards : int, optional
        Contig shards scored one after the other (results do not depend on it). Default is 1.
    batch_size, null_size, top_mutation_maps, seed : int, optional
        Defaults 64, 1000, 5, 1.
    high_p : float, optional
        Empirical p-value threshold defining "high-scoring" for the Fisher test.
        Default is 0.05.
    fdr : float, optional
        BH threshold for ``n_significant``. Default is 0.05.
    positive_class : int, optional
        Label of the positive windows and the class whose probability is scored.
        Default is 1.
    device : optional
        Default is cuda if available, else cpu.
    labels : mapping, optional
        ``task`` / ``model`` names written into the summary.

    Returns
    -------
    summary : dict
        What ``summary.json`` holds.
    """
    _check_context(context)
    summary_path = Path(outputs["summary"])
    summary_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".variant_shards.", dir=summary_path.parent) as tmp:
        tables, metas = [], []
        for i in range(1, n_shards + 1):
            tables.append(Path(tmp) / f"{i}-of-{n_shards}.tsv.gz")
            metas.append(Path(tmp) / f"{i}-of-{n_shards}.json")
            score_variant_shard(genome_fasta, regions_bed, datasets, classifier_dir, tables[-1],
                                metas[-1], shard=i, n_shards=n_shards, dbsnp_vcf=dbsnp_vcf,
                                clinvar_vcf=clinvar_vcf, lm_dir=lm_dir, context=context,
                                batch_size=batch_size, positive_class=positive_class,
                                device=device, verbose=verbose)
        return summarise_variants(tables, metas, genome_fasta, datasets, classifier_dir, outputs,
                                  normalise_counts=normalise_counts, context=context,
                                  batch_size=batch_size, null_size=null_size,
                                  top_mutation_maps=top_mutation_maps, seed=seed, high_p=high_p,
                                  fdr=fdr, positive_class=positive_class, device=device,
                                  verbose=verbose, labels=labels)


# ----------------------------------------------------------------------------- figures

_CLASS_ORDER = ["pathogenic", "benign", "uncertain", "conflicting", "other", "missing"]
_CLASS_COLOR = {"pathogenic": "#c0392b", "benign": "#2e86c1", "uncertain": "#7f8c8d",
                "conflicting": "#8e44ad", "other": "#b7950b", "missing": "#aaaaaa",
                ".": "#555555"}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")


def _plot_scores(df: pd.DataFrame, null: np.ndarray, path: Path) -> None:
    plt = _plt()
    groups, names = [], []
    for cls in _CLASS_ORDER:
        v = df.loc[df["clinvar_class"] == cls, "score"].to_numpy(float)
        if v.size:
            groups.append(v)
            names.append(f"ClinVar {cls}\n(n={v.size})")
    v = df.loc[df["source"] == "dbsnp", "score"].to_numpy(float)
    if v.size:
        groups.append(v)
        names.append(f"dbSNP only\n(n={v.size})")
    if len(null):
        groups.append(np.asarray(null, float))
        names.append(f"random SNVs\n(n={len(null)})")
    fig, ax = plt.subplots(figsize=(1.4 * max(len(groups), 2) + 2, 4))
    if groups:
        ax.boxplot(groups, showfliers=False)
        rng = np.random.default_rng(0)
        for i, g in enumerate(groups, start=1):
            ax.scatter(i + rng.uniform(-0.15, 0.15, g.size), g, s=6, alpha=0.5, color="k")
        ax.set_xticks(range(1, len(names) + 1), names, fontsize=8)
    else:
        ax.text(0.5, 0.5, "no variants scored", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel("|logOR| (ranking score)")
    ax.set_title("Variant scores by ClinVar significance")
    _save(fig, path)
    plt.close(fig)


def _plot_top(df: pd.DataFrame, path: Path, n: int = 20) -> None:
    plt = _plt()
    top = df.head(n)
    fig, ax = plt.subplots(figsize=(8, 0.3 * max(len(top), 3) + 1))
    if len(top):
        lab = [f"{r.contig}:{r.pos} {r.ref}>{r.alt} [{r.source}]" for r in top.itertuples()]
        col = [_CLASS_COLOR.get(c, "#555555") for c in top["clinvar_class"]]
        ax.barh(range(len(top)), top["score"], color=col)
        ax.set_yticks(range(len(top)), lab, fontsize=7)
        ax.invert_yaxis()
        for c in _CLASS_ORDER + ["."]:
            if (top["clinvar_class"] == c).any():
                ax.barh([0], [0], color=_CLASS_COLOR[c], label="not in ClinVar" if c == "." else c)
        ax.legend(fontsize=7, loc="lower right")
    else:
        ax.text(0.5, 0.5, "no variants scored", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("|logOR| (ranking score)")
    ax.set_title(f"Top {len(top)} candidate functional variants")
    _save(fig, path)
    plt.close(fig)
