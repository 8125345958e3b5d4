"""Build one corpus shard: N-free, non-overlapping random-length pieces of a chromosome.

DNABERT's ``cut_no_overlap`` (``process_pretrain_data.py``), generalised and made N-safe:

1. One chromosome is streamed from a faidx-indexed (bgzip) FASTA in chunks, upper-cased (the
   base codes of :func:`dnalm.kmers.seq_to_codes` are case-blind) and split at every run of N
   or other non-ACGT characters into N-free *segments*. Pieces never cross an N run: each
   segment is cut on its own. Segments shorter than ``min_len`` are dropped; their bases are
   counted, together with the non-ACGT bases, as ``n_excluded_bp``.
2. Each segment is cut into consecutive, non-overlapping pieces: while more than ``max_len``
   bases remain, with probability 0.5 a full ``max_len`` piece is taken, otherwise a length
   drawn uniformly from ``[min_len, max_len]``; the remainder (at most ``max_len``) is the
   last piece. A draw that would leave fewer than ``min_len`` bases is shortened so that
   exactly ``min_len`` remain, so no base of a kept segment is lost (DNABERT dropped such
   remainders; this needs ``max_len >= 2 * min_len``).
3. ``coverage`` passes are made over the chromosome. Pass ``p`` has its own random stream
   (``seed``, chromosome name, ``p``) and its own start offset ``o_p`` drawn uniformly from
   ``[0, max_len)``: in every segment longer than ``max_len`` the first ``o_p`` bases form
   a head piece and the cutting above starts after it (an ``o_p`` below ``min_len`` means no
   head). Passes therefore differ in their cut points; one pass covers every kept base once.
4. Each piece goes to validation with probability ``val_fraction`` (its own stream).

Lengths are in bp and the shard does not depend on k: DNABERT tied the longest piece to k
(509 + k bp, i.e. 512 tokens); here a ``max_len``-bp piece becomes ``max_len - k + 1`` k-mers
plus ``[CLS]``/``[SEP]``, i.e. ``max_len - k + 3`` tokens (507 for the default 510 bp and
k=6), and readers skip pieces shorter than their k.

Storage: see :mod:`dnalm.corpus.shard`. Both arrays are written incrementally (memory is
bounded by the chunk size, not the chromosome length) and atomically; the same seed gives the
same bytes regardless of ``chunk_size``. The FASTA is read twice: a scan counts the kept bases,
so pass ``p`` can write straight into its region ``[p * kept_bp, (p + 1) * kept_bp)`` of the
pre-sized ``.seq.npy``; the second read feeds all passes at once. Since every pass stores each
kept base exactly once, the pieces of pass ``p`` are the rows whose offset lies in that region,
and joining them in order gives the kept genome.
"""

from __future__ import annotations

import contextlib
import logging
import os
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dnalm._validate import validate_probability
from dnalm.atomic import atomic_path, write_json
from dnalm.corpus._npy import HEADER_BYTES, RawAppender, RegionWriter, assemble_npy, npy_header
from dnalm.corpus.shard import meta_path
from dnalm.kmers import seq_to_codes

__all__ = ["build_corpus_shard", "contig_settings"]

log = logging.getLogger("dnalm.corpus")

_BLOCK = 1 << 16  # uniforms drawn per refill of a random stream


# --------------------------------------------------------------------------- random streams
def _pass_rng(seed: int, chrom: str, pass_index: int, stream: int) -> np.random.Generator:
    """The generator of one (seed, chromosome, pass, purpose) stream; chrom hashed with CRC32."""
    key = zlib.crc32(chrom.encode("utf-8"))
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, key, int(pass_index), int(stream)])


class _Uniforms:
    """Sequential uniforms in [0, 1) read from a generator in fixed blocks.

    ``peek``/``advance`` let a vectorised cutter look ahead and consume only what it used,
    so the values a piece gets do not depend on how the chromosome was chunked.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._buf = np.empty(0)
        self._pos = 0

    def peek(self, n: int) -> np.ndarray:
        while self._buf.shape[0] - self._pos < n:
            need = max(_BLOCK, n - (self._buf.shape[0] - self._pos))
            self._buf = np.concatenate([self._buf[self._pos :], self._rng.random(need)])
            self._pos = 0
        return self._buf[self._pos : self._pos + n]

    def advance(self, n: int) -> None:
        self._pos += n

    def take(self, n: int) -> np.ndarray:
        out = self.peek(n).copy()
        self.advance(n)
        return out


# --------------------------------------------------------------------------- cutting
class _Cutter:
    """Cut the N-free segments of one pass into pieces (lengths only), streaming."""

    def __init__(self, min_len: int, max_len: int, offset: int, draws: _Uniforms) -> None:
        self.min_len = min_len
        self.max_len = max_len
        self.head = offset if offset >= min_len else 0
        self.draws = draws
        self.span = max_len - min_len + 1
        self.mean_len = 0.5 * max_len + 0.5 * (min_len + max_len) / 2

    def _lengths(self, u: np.ndarray) -> np.ndarray:
        """Piece lengths from uniform pairs, shape (m, 2) -> (m,)."""
        rand = self.min_len + np.minimum((u[:, 1] * self.span).astype(np.int64), self.span - 1)
        return np.where(u[:, 0] < 0.5, self.max_len, rand)

    def cut(self, avail: int, final: bool, started: bool) -> tuple[list[int], int, bool]:
        """Cut the first pieces of ``avail`` uncut bases of one segment.

        ``final``: the segment ends after these bases. ``started``: the head decision of this
        segment was already made. Returns (piece lengths, bases consumed, started). When not
        final, only pieces that are certain whatever the segment's true length are cut; the
        rest (fewer than max_len + min_len bases) is left for the next chunk.
        """
        lo, hi = self.min_len, self.max_len
        pieces: list[int] = []
        pos = 0
        if not started:
            if final:
                if avail < lo:
                    return [], 0, True  # too short: dropped by the caller
                if self.head and avail > hi and avail - self.head >= lo:
                    pieces.append(self.head)
                    pos = self.head
                started = True
            elif avail >= hi + lo:
                if self.head:
                    pieces.append(self.head)
                    pos = self.head
                started = True
            else:
                return [], 0, False
        limit = avail - (hi + lo)  # a piece starting at <= limit leaves >= min_len after a full cut
        while pos <= limit:
            m = int((limit - pos) // self.mean_len) + 16
            lengths = self._lengths(self.draws.peek(2 * m).reshape(m, 2))
            starts = pos + np.concatenate([[0], np.cumsum(lengths[:-1])])
            n_ok = int(np.searchsorted(starts, limit, side="right"))
            self.draws.advance(2 * n_ok)
            pieces.extend(lengths[:n_ok].tolist())
            pos = int(starts[n_ok - 1] + lengths[n_ok - 1])
        if final:
            rest = avail - pos
            while rest > hi:
                length = int(self._lengths(self.draws.take(2).reshape(1, 2))[0])
                if rest - length < lo:
                    length = rest - lo
                pieces.append(length)
                pos += length
                rest -= length
            pieces.append(rest)
            pos = avail
        return pieces, pos, started


class _PassSink:
    """One coverage pass: feed chunks of codes in order; pieces go to the writers."""

    def __init__(self, cutter, splits, val_fraction, seq_w, idx_w, acc=None, offset=0) -> None:
        self.cutter = cutter
        self.splits = splits
        self.val_fraction = val_fraction
        self.seq_w = seq_w
        self.idx_w = idx_w
        self.acc = acc  # base accounting (first pass only), or None
        self.offset = offset
        if acc is not None:
            acc.setdefault("base_counts", np.zeros(4, dtype=np.int64))
        self.pending = np.empty(0, dtype=np.uint8)  # uncut tail of the open segment
        self.open_seg = False
        self.started = False
        self.counts = {"n_train": 0, "n_val": 0}

    def feed(self, codes: np.ndarray, runs: list[list[int]], last: bool) -> None:
        """Process the next chunk of base codes (ACGT ``runs`` from :func:`_valid_runs`).

        ``last``: the chunk ends the chromosome.
        """
        for s, e in runs:
            if self.open_seg and s > 0:  # an N run closed the open segment
                self._emit(self.pending, final=True)
                self.open_seg = False
            if self.open_seg:
                data = np.concatenate([self.pending, codes[s:e]])
            else:
                data = codes[s:e]
                self.started = False
                if self.acc is not None:
                    self.acc["n_segments"] += 1
            final = bool(e < codes.shape[0] or last)
            self.pending = self._emit(data, final)
            self.open_seg = not final
        if self.open_seg and (not runs or last):  # an all-N chunk closed it
            self._emit(self.pending, final=True)
            self.open_seg = False

    def _emit(self, data: np.ndarray, final: bool) -> np.ndarray:
        """Cut ``data`` (uncut bases of the open segment), write pieces, return the rest."""
        pieces, used, self.started = self.cutter.cut(data.shape[0], final, self.started)
        if final and not pieces:  # segment shorter than min_len
            if self.acc is not None:
                self.acc["short_segment_bp"] += data.shape[0]
            return data[:0]
        if pieces:
            lens = np.asarray(pieces, dtype=np.int64)
            split = (self.splits.take(lens.shape[0]) < self.val_fraction).astype(np.int64)
            offs = self.seq_w.n + np.concatenate([[0], np.cumsum(lens[:-1])])
            self.idx_w.append(np.stack([offs, lens, split], axis=1))
            self.seq_w.append(data[:used])
            if self.acc is not None:
                cut = data[:used]
                self.acc["base_counts"] += [np.count_nonzero(cut == b) for b in range(4)]
            n_val = int(split.sum())
            self.counts["n_val"] += n_val
            self.counts["n_train"] += int(lens.shape[0]) - n_val
        return data[used:]


def _fetch_codes(fa, chrom: str, start: int, end: int) -> np.ndarray:
    """Base codes (:func:`dnalm.kmers.seq_to_codes`) of ``chrom[start:end]``."""
    return seq_to_codes(fa.fetch(chrom, start, end))


def _valid_runs(codes: np.ndarray) -> np.ndarray:
    """(start, end) of maximal runs of ACGT codes (< 4), shape (r, 2)."""
    valid = np.concatenate([[False], codes < 4, [False]])
    edges = np.flatnonzero(valid[1:] != valid[:-1])
    return edges.reshape(-1, 2)


def _scan(fa, chrom: str, length: int, chunk_size: int, min_len: int, bar) -> dict:
    """First read: non-ACGT bases, segments and bases of too-short segments."""
    acc = {"nonacgt_bp": 0, "short_segment_bp": 0, "n_segments": 0}
    open_len = 0  # length so far of the segment open at the chunk end (0: none)

    def close(n: int) -> None:
        if n < min_len:
            acc["short_segment_bp"] += n

    for start in range(0, length, chunk_size):
        end = min(start + chunk_size, length)
        codes = _fetch_codes(fa, chrom, start, end)
        acc["nonacgt_bp"] += int(codes.shape[0] - np.count_nonzero(codes < 4))
        runs = _valid_runs(codes)
        for s, e in runs.tolist():
            if open_len and s > 0:
                close(open_len)
                open_len = 0
            if not open_len:
                acc["n_segments"] += 1
            open_len += e - s
            if e < codes.shape[0]:
                close(open_len)
                open_len = 0
        if open_len and runs.shape[0] == 0:
            close(open_len)
            open_len = 0
        bar.update(end - start)
    if open_len:
        close(open_len)
    return acc


def _open_fasta(fasta_path: Path):
    import pysam

    if not fasta_path.is_file():
        raise ValueError(f"{fasta_path}: FASTA file not found")
    try:
        return pysam.FastaFile(str(fasta_path))
    except (OSError, ValueError) as e:
        raise ValueError(f"{fasta_path}: cannot open as an indexed FASTA ({e})") from None


def contig_settings(corpus: Mapping[str, Any], val_contigs: Sequence[str], chrom: str) -> dict[str, Any]:
    """The :func:`build_corpus_shard` settings of one contig: the ``corpus`` section, or held out.

    Without ``val_contigs`` every contig gets the ``corpus`` settings as they are (``val_fraction``
    of its pieces go to validation). With them, a listed contig becomes validation only
    (``val_fraction`` 1, one pass: no two validation pieces share a base) and every other contig
    training only (``val_fraction`` 0), so validation scores sequence no training piece holds.

    Parameters
    ----------
    corpus : mapping
        ``min_len``, ``max_len``, ``coverage``, ``seed``, ``val_fraction`` (config ``corpus``).
    val_contigs : sequence of str
        ``genomes.<g>.val_contigs``.
    chrom : str
    """
    out = dict(corpus)
    if chrom in val_contigs:
        out.update(val_fraction=1.0, coverage=1)
    elif val_contigs:
        out.update(val_fraction=0.0)
    return out


def _validate_params(min_len: int, max_len: int, coverage: int, val_fraction: float) -> None:
    for name, v in (("min_len", min_len), ("max_len", max_len), ("coverage", coverage)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ValueError(f"`{name}` must be a positive integer, got {v!r}")
    if max_len < 2 * min_len:
        raise ValueError(f"`max_len`={max_len} must be >= 2 * min_len = {2 * min_len}")
    validate_probability(val_fraction, "val_fraction")


def build_corpus_shard(
    fasta_path: str | Path,
    chrom: str,
    out_seq: str | Path,
    out_idx: str | Path,
    *,
    min_len: int = 10,
    max_len: int = 510,
    coverage: int = 5,
    seed: int = 1,
    val_fraction: float = 0.01,
    out_meta: str | Path | None = None,
    chunk_size: int = 1 << 20,
    verbose: bool = False,
) -> dict:
    """Cut one chromosome into a corpus shard (see the module docstring for the rules).

    Parameters
    ----------
    fasta_path : str or Path
        bgzip (or plain) FASTA with a ``.fai`` (and ``.gzi``) index.
    chrom : str
        Sequence name in the FASTA.
    out_seq : str or Path
        Output ``{chrom}.seq.npy``: uint8 base codes, shape=(n_stored_bp,).
    out_idx : str or Path
        Output ``{chrom}.idx.npy``: int64, shape=(n_pieces, 3) = (offset, length, split).
    min_len, max_len : int, optional
        Shortest and longest piece in bp; ``max_len >= 2 * min_len``. Defaults are 10 and 510.
    coverage : int, optional
        Passes over the chromosome. Default is 5.
    seed : int, optional
        Seed of every random stream. Default is 1.
    val_fraction : float, optional
        Probability that a piece is a validation piece. Default is 0.01.
    out_meta : str or Path, optional
        Sidecar JSON with parameters and base counts. Default is ``{chrom}.meta.json`` next to
        ``out_seq``.
    chunk_size : int, optional
        Bases fetched per read; memory is O(chunk_size). Default is 1 MiB.
    verbose : bool, optional
        Show a tqdm progress bar. Default is False.

    Returns
    -------
    meta : dict
        What ``out_meta`` holds: parameters, ``length_bp``, ``nonacgt_bp`` (N and other non-ACGT),
        ``short_segment_bp``, ``n_excluded_bp``, ``kept_bp``, ``n_segments``, ``stored_bp``,
        ``n_pieces`` (train, val), ``base_counts`` (A, T, C, G), ``offsets`` per pass.
    """
    from tqdm import tqdm

    _validate_params(min_len, max_len, coverage, val_fraction)
    if chunk_size < 1:
        raise ValueError(f"`chunk_size` must be >= 1, got {chunk_size!r}")
    fasta_path = Path(fasta_path)
    out_seq, out_idx = Path(out_seq), Path(out_idx)
    out_meta = Path(out_meta) if out_meta else meta_path(out_seq)
    fa = _open_fasta(fasta_path)
    if chrom not in fa.references:
        fa.close()
        raise ValueError(f"{fasta_path}: no sequence named {chrom!r}")
    length = fa.get_reference_length(chrom)

    sinks: list[_PassSink] = []
    fd = None
    bar = tqdm(total=2 * length, unit="bp", unit_scale=True, disable=not verbose, desc=chrom)
    # All three outputs appear together: each is written to a temporary sibling (deleted on
    # error) and renamed only once all are complete, the metadata last, so a meta.json
    # always sits next to a complete shard.
    with contextlib.ExitStack() as outputs:
        meta_tmp = outputs.enter_context(atomic_path(out_meta))
        idx_tmp = outputs.enter_context(atomic_path(out_idx))
        seq_tmp = outputs.enter_context(atomic_path(out_seq))
        try:
            # read 1 sizes the output: pass p then writes its bases straight into its own region
            # [p * kept, (p + 1) * kept) of the final array; read 2 feeds every pass at once
            scan = _scan(fa, chrom, length, chunk_size, min_len, bar)
            kept = length - scan["nonacgt_bp"] - scan["short_segment_bp"]
            fd = os.open(seq_tmp, os.O_WRONLY | os.O_TRUNC)
            os.write(fd, npy_header(np.dtype(np.uint8), (coverage * kept,)))
            os.ftruncate(fd, HEADER_BYTES + coverage * kept)
            acc = {"short_segment_bp": 0, "n_segments": 0}
            for p in range(coverage):
                cut_rng = _pass_rng(seed, chrom, p, 0)
                offset = int(cut_rng.integers(0, max_len))
                sinks.append(
                    _PassSink(
                        _Cutter(min_len, max_len, offset, _Uniforms(cut_rng)),
                        _Uniforms(_pass_rng(seed, chrom, p, 1)),
                        val_fraction,
                        RegionWriter(fd, HEADER_BYTES + p * kept),
                        RawAppender(out_idx, f"p{p}", np.int64, (3,)),
                        acc if p == 0 else None,
                        offset,
                    )
                )
            for start in range(0, length, chunk_size):
                end = min(start + chunk_size, length)
                codes = _fetch_codes(fa, chrom, start, end)
                if codes.shape[0] != end - start:
                    raise ValueError(
                        f"{fasta_path}: {chrom}:{start}-{end} returned {codes.shape[0]} bases"
                    )
                runs = _valid_runs(codes).tolist()
                for sink in sinks:
                    sink.feed(codes, runs, last=end == length)
                bar.update(end - start)
            for sink in sinks:
                sink.idx_w.close()
                if sink.open_seg or sink.seq_w.n != kept:
                    raise AssertionError(f"a pass stored {sink.seq_w.n} bp, expected {kept}")
            for key in ("short_segment_bp", "n_segments"):
                if acc[key] != scan[key]:
                    raise AssertionError(
                        f"{key}: {acc[key]} when cutting, {scan[key]} when scanning"
                    )
            os.close(fd)
            fd = None
            assemble_npy(idx_tmp, [sk.idx_w for sk in sinks], [p * kept for p in range(coverage)])
        finally:
            if fd is not None:
                os.close(fd)
            bar.close()
            fa.close()
            for sink in sinks:
                sink.idx_w.abort()
        meta = _meta(
            chrom,
            fasta_path,
            length,
            scan,
            acc["base_counts"],
            sinks,
            dict(
                min_len=min_len,
                max_len=max_len,
                coverage=coverage,
                seed=seed,
                val_fraction=val_fraction,
            ),
        )
        write_json(meta_tmp, meta)
    log.info(
        "%s: %d bp, %d excluded, %d pieces (%d val), %d bp stored",
        chrom,
        length,
        meta["n_excluded_bp"],
        sum(meta["n_pieces"].values()),
        meta["n_pieces"]["val"],
        meta["stored_bp"],
    )
    return meta


def _meta(chrom, fasta_path, length, scan, base_counts, sinks, params) -> dict:
    """The ``{chrom}.meta.json`` content of a finished build."""
    excluded = scan["nonacgt_bp"] + scan["short_segment_bp"]
    coverage = params["coverage"]
    return {
        "chrom": chrom,
        "fasta": fasta_path.name,
        "params": params,
        "length_bp": length,
        "nonacgt_bp": scan["nonacgt_bp"],
        "short_segment_bp": scan["short_segment_bp"],
        "n_excluded_bp": excluded,
        "kept_bp": length - excluded,
        "n_segments": scan["n_segments"],
        "stored_bp": coverage * (length - excluded),
        "n_pieces": {
            "train": sum(sk.counts["n_train"] for sk in sinks),
            "val": sum(sk.counts["n_val"] for sk in sinks),
        },
        # every pass stores each kept base once
        "base_counts": {b: coverage * int(n) for b, n in zip("ATCG", base_counts, strict=True)},
        "offsets": [sk.offset for sk in sinks],
    }
