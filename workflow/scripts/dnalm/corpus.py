"""Pretraining corpus: N-free, non-overlapping random-length pieces of a genome, per chromosome.

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

Lengths are in bp. DNABERT tied the longest piece to k (509 + k bp, i.e. 512 tokens); here
``min_len``/``max_len`` are bp for every k, and a ``max_len``-bp piece becomes
``max_len - k + 1`` k-mers plus ``[CLS]``/``[SEP]``, i.e. ``max_len - k + 3`` tokens (507 for
the default 510 bp and k=6). ``k`` only checks that ``min_len >= k`` and is recorded.

Storage (see docs/ARCHITECTURE.md, "Corpus shards"): ``{chrom}.seq.npy`` uint8 base codes
(A=0, T=1, C=2, G=3) of all pieces concatenated (pass by pass, genome order), and
``{chrom}.idx.npy`` int64 ``(n, 3)`` = (offset, length, split), split 0 = train, 1 =
validation, plus ``{chrom}.meta.json`` (parameters and base accounting, read by
:func:`gather_stats`). No k-mer text is stored: tokens are made on the fly with
:func:`dnalm.kmers.codes_to_ids`. Both arrays are written incrementally (memory is bounded
by the chunk size, not the chromosome length) and atomically; the same seed gives the same
bytes regardless of ``chunk_size``. The FASTA is read twice: a scan counts the kept bases, so
pass ``p`` can write straight into its region ``[p * kept_bp, (p + 1) * kept_bp)`` of the
pre-sized ``.seq.npy``; the second read feeds all passes at once.

Since every pass stores each kept base exactly once, the pieces of pass ``p`` are the rows
whose offset lies in that region, and joining them in order gives the kept genome.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from dnalm._validate import validate_k, validate_probability
from dnalm.kmers import seq_to_codes

__all__ = [
    "build_corpus_shard",
    "Shard",
    "open_shard",
    "iter_pieces",
    "gather_stats",
    "shard_files",
]

log = logging.getLogger("dnalm.corpus")

SPLITS = {"train": 0, "val": 1, "validation": 1}
_HEADER_BYTES = 128  # fixed .npy header size so the final shape can be written in place
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


# --------------------------------------------------------------------------- .npy writer
def _npy_header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    body = f"{{'descr': {dtype.str!r}, 'fortran_order': False, 'shape': {shape!r}, }}"
    hlen = _HEADER_BYTES - 10
    if len(body) + 1 > hlen:
        raise ValueError(f"shape {shape} too large for the .npy header")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", hlen) + (body.ljust(hlen - 1) + "\n").encode()


class _RawAppender:
    """Append rows of one dtype to a hidden temporary raw file next to ``path``."""

    def __init__(self, path: Path, tag: str, dtype: np.dtype, row_shape=()) -> None:
        self.tmp = path.with_name(f".{path.name}.{tag}.tmp{os.getpid()}")
        self.dtype = np.dtype(dtype)
        self.row_shape = tuple(row_shape)
        self.n = 0
        self._fh = open(self.tmp, "wb")  # noqa: SIM115 - closed in close/abort

    def append(self, rows: np.ndarray) -> None:
        self._fh.write(np.ascontiguousarray(rows, dtype=self.dtype).tobytes())
        self.n += rows.shape[0]

    def close(self) -> None:
        self._fh.close()

    def abort(self) -> None:
        self._fh.close()
        self.tmp.unlink(missing_ok=True)


class _RegionWriter:
    """Append uint8 rows at consecutive positions of an open file (``os.pwrite``), from ``start``."""

    def __init__(self, fd: int, start: int) -> None:
        self.fd = fd
        self.start = start
        self.n = 0

    def append(self, rows: np.ndarray) -> None:
        view = memoryview(np.ascontiguousarray(rows, dtype=np.uint8)).cast("B")
        while view:
            done = os.pwrite(self.fd, view, self.start + self.n)
            view = view[done:]
            self.n += done


def _assemble_npy(path: Path, parts: list[_RawAppender], shifts: list[int] | None = None) -> Path:
    """Concatenate raw parts into a temporary ``.npy`` next to ``path``; return its path.

    Memory is bounded (4 MiB blocks). ``shifts``: per part, a value added to column 0 (the
    piece offsets) of 2-D parts. The caller renames the result onto ``path``.
    """
    dtype, row_shape = parts[0].dtype, parts[0].row_shape
    n = sum(part.n for part in parts)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    rows_per_block = max(1, (4 << 20) // (dtype.itemsize * int(np.prod(row_shape, dtype=np.int64))))
    buf = np.empty((rows_per_block, *row_shape), dtype=dtype)  # the only buffer: 4 MiB
    try:
        with open(tmp, "wb") as out:
            out.write(_npy_header(dtype, (n, *row_shape)))
            for i, part in enumerate(parts):
                shift = shifts[i] if shifts else 0
                with open(part.tmp, "rb") as src:
                    while got := src.readinto(memoryview(buf).cast("B")):
                        rows = buf[: got // (buf.nbytes // rows_per_block)]
                        if shift:
                            rows[:, 0] += shift
                        out.write(memoryview(rows).cast("B"))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


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


def _validate_params(k: int, min_len: int, max_len: int, coverage: int, val_fraction: float):
    validate_k(k)
    for name, v in (("min_len", min_len), ("max_len", max_len), ("coverage", coverage)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ValueError(f"`{name}` must be a positive integer, got {v!r}")
    if min_len < k:
        raise ValueError(f"`min_len`={min_len} must be >= k={k} (a piece needs one k-mer)")
    if max_len < 2 * min_len:
        raise ValueError(f"`max_len`={max_len} must be >= 2 * min_len = {2 * min_len}")
    validate_probability(val_fraction, "val_fraction")


def build_corpus_shard(
    fasta_path: str | Path,
    chrom: str,
    out_seq: str | Path,
    out_idx: str | Path,
    k: int = 6,
    min_len: int = 10,
    max_len: int = 510,
    coverage: int = 5,
    seed: int = 1,
    val_fraction: float = 0.01,
    *,
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
    k : int, optional
        k-mer size the corpus is for; ``min_len`` must be >= k. Default is 6.
    min_len, max_len : int, optional
        Shortest and longest piece in bp. Defaults are 10 and 510.
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

    _validate_params(k, min_len, max_len, coverage, val_fraction)
    if chunk_size < 1:
        raise ValueError(f"`chunk_size` must be >= 1, got {chunk_size!r}")
    fasta_path = Path(fasta_path)
    out_seq, out_idx = Path(out_seq), Path(out_idx)
    out_meta = Path(out_meta) if out_meta else _meta_path(out_seq)
    fa = _open_fasta(fasta_path)
    if chrom not in fa.references:
        raise ValueError(f"{fasta_path}: no sequence named {chrom!r}")
    length = fa.get_reference_length(chrom)
    for p in (out_seq, out_idx, out_meta):
        p.parent.mkdir(parents=True, exist_ok=True)

    sinks: list[_PassSink] = []
    seq_tmp = out_seq.with_name(f".{out_seq.name}.tmp{os.getpid()}")
    fd = idx_tmp = None
    bar = tqdm(total=2 * length, unit="bp", unit_scale=True, disable=not verbose, desc=chrom)
    try:
        # read 1 sizes the output: pass p then writes its bases straight into its own region
        # [p * kept, (p + 1) * kept) of the final array; read 2 feeds every pass at once
        scan = _scan(fa, chrom, length, chunk_size, min_len, bar)
        kept = length - scan["nonacgt_bp"] - scan["short_segment_bp"]
        fd = os.open(seq_tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, _npy_header(np.dtype(np.uint8), (coverage * kept,)))
        os.ftruncate(fd, _HEADER_BYTES + coverage * kept)
        acc = {"short_segment_bp": 0, "n_segments": 0}
        for p in range(coverage):
            cut_rng = _pass_rng(seed, chrom, p, 0)
            offset = int(cut_rng.integers(0, max_len))
            sinks.append(
                _PassSink(
                    _Cutter(min_len, max_len, offset, _Uniforms(cut_rng)),
                    _Uniforms(_pass_rng(seed, chrom, p, 1)),
                    val_fraction,
                    _RegionWriter(fd, _HEADER_BYTES + p * kept),
                    _RawAppender(out_idx, f"p{p}", np.int64, (3,)),
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
                raise AssertionError(f"{key}: {acc[key]} when cutting, {scan[key]} when scanning")
        os.close(fd)
        fd = None
        idx_tmp = _assemble_npy(
            out_idx, [sk.idx_w for sk in sinks], [p * kept for p in range(coverage)]
        )
        os.replace(seq_tmp, out_seq)
        os.replace(idx_tmp, out_idx)
    except BaseException:
        seq_tmp.unlink(missing_ok=True)
        if idx_tmp is not None:
            idx_tmp.unlink(missing_ok=True)
        raise
    finally:
        if fd is not None:
            os.close(fd)
        bar.close()
        fa.close()
        for sink in sinks:
            sink.idx_w.abort()
    acc = {**scan, "base_counts": acc["base_counts"]}

    excluded = acc["nonacgt_bp"] + acc["short_segment_bp"]
    meta = {
        "chrom": chrom,
        "fasta": fasta_path.name,
        "params": {
            "k": k,
            "min_len": min_len,
            "max_len": max_len,
            "coverage": coverage,
            "seed": seed,
            "val_fraction": val_fraction,
        },
        "length_bp": length,
        "nonacgt_bp": acc["nonacgt_bp"],
        "short_segment_bp": acc["short_segment_bp"],
        "n_excluded_bp": excluded,
        "kept_bp": length - excluded,
        "n_segments": acc["n_segments"],
        "stored_bp": coverage * kept,
        "n_pieces": {
            "train": sum(sk.counts["n_train"] for sk in sinks),
            "val": sum(sk.counts["n_val"] for sk in sinks),
        },
        # every pass stores each kept base once
        "base_counts": {
            b: coverage * int(n) for b, n in zip("ATCG", acc["base_counts"], strict=True)
        },
        "offsets": [sk.offset for sk in sinks],
    }
    try:
        _write_text_atomic(out_meta, json.dumps(meta, indent=2) + "\n")
    except BaseException:
        out_seq.unlink(missing_ok=True)
        out_idx.unlink(missing_ok=True)
        raise
    log.info(
        "%s: %d bp, %d excluded, %d pieces (%d val), %d bp stored",
        chrom,
        length,
        excluded,
        sum(meta["n_pieces"].values()),
        meta["n_pieces"]["val"],
        meta["stored_bp"],
    )
    return meta


# --------------------------------------------------------------------------- reading
class Shard(NamedTuple):
    """A memory-mapped corpus shard: ``seq`` uint8 (n_bp,), ``idx`` int64 (n_pieces, 3)."""

    seq: np.ndarray
    idx: np.ndarray


def _sibling(seq_path: Path, suffix: str) -> Path:
    name = seq_path.name
    if not name.endswith(".seq.npy"):
        raise ValueError(f"{seq_path}: a shard sequence file must end with .seq.npy")
    return seq_path.with_name(name[: -len(".seq.npy")] + suffix)


def _meta_path(seq_path: Path) -> Path:
    return _sibling(Path(seq_path), ".meta.json")


def open_shard(seq_path: str | Path) -> Shard:
    """Memory-map ``{chrom}.seq.npy`` and its ``{chrom}.idx.npy``.

    Raises ``ValueError`` naming the file when either is missing or malformed.
    """
    seq_path = Path(seq_path)
    idx_path = _sibling(seq_path, ".idx.npy")
    for path in (seq_path, idx_path):
        if not path.is_file():
            raise ValueError(f"{path}: shard file not found")
    seq = np.load(seq_path, mmap_mode="r")
    idx = np.load(idx_path, mmap_mode="r")
    if seq.dtype != np.uint8 or seq.ndim != 1:
        raise ValueError(f"{seq_path}: expected a 1-D uint8 array, got {seq.dtype} {seq.shape}")
    if idx.dtype != np.int64 or idx.ndim != 2 or idx.shape[1] != 3:
        raise ValueError(f"{idx_path}: expected int64 of shape (n, 3), got {idx.dtype} {idx.shape}")
    if idx.shape[0] and int(idx[-1, 0] + idx[-1, 1]) != seq.shape[0]:
        raise ValueError(
            f"{idx_path}: last piece ends at {int(idx[-1, 0] + idx[-1, 1])}, "
            f"but {seq_path.name} holds {seq.shape[0]} bases"
        )
    return Shard(seq, idx)


def iter_pieces(shard: Shard, split: int | str | None = None) -> Iterator[np.ndarray]:
    """Yield each piece's base codes (uint8 views, shape=(length,)) in stored order.

    ``split``: None for all pieces, 0/"train" or 1/"val" for one split.
    """
    if isinstance(split, str):
        if split not in SPLITS:
            raise ValueError(f"`split` must be one of {sorted(SPLITS)} or 0/1, got {split!r}")
        split = SPLITS[split]
    if split not in (None, 0, 1):
        raise ValueError(f"`split` must be None, 0 or 1, got {split!r}")
    for off, n, s in np.asarray(shard.idx):
        if split is None or s == split:
            yield shard.seq[off : off + n]


def shard_files(chrom_sizes: str | Path, shard_dir: str | Path) -> list[str]:
    """The shard files (``.seq.npy``, ``.idx.npy``, ``.meta.json``) of every chromosome.

    Parameters
    ----------
    chrom_sizes : str or Path
        Tab-separated ``name<TAB>length`` lines (the genome checkpoint's ``chrom.sizes``).
    shard_dir : str or Path
        Directory of the shards, e.g. ``results/corpus/{genome}/k{k}/shards``.

    Returns
    -------
    paths : list of str
        Three paths per chromosome, in ``chrom.sizes`` order.
    """
    chroms = []
    with open(chrom_sizes) as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            name = line.split("\t")[0].strip()
            if not name or "/" in name:
                raise ValueError(f"{chrom_sizes}:{i}: bad chromosome name {name!r}")
            chroms.append(name)
    if not chroms:
        raise ValueError(f"{chrom_sizes}: no chromosomes listed")
    d = Path(shard_dir)
    return [str(d / f"{c}{ext}") for c in chroms for ext in (".seq.npy", ".idx.npy", ".meta.json")]


# --------------------------------------------------------------------------- statistics
def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _hist_edges(min_len: int, max_len: int, n_bins: int = 50) -> np.ndarray:
    """Integer bin edges over [min_len, max_len); full-length pieces get their own last bin."""
    width = max(1, -(-(max_len - min_len) // n_bins))
    edges = list(range(min_len, max_len, width))
    return np.asarray(edges + [max_len, max_len + 1], dtype=np.int64)


def gather_stats(
    shard_paths: Sequence[str | Path], out_json: str | Path, out_png: str | Path | None = None
) -> dict:
    """Summarise corpus shards into ``stats.json`` (and a piece-length histogram PNG).

    Parameters
    ----------
    shard_paths : sequence of str or Path
        ``{chrom}.seq.npy`` files; their ``.idx.npy`` and ``.meta.json`` are read alongside.
    out_json : str or Path
        Output JSON: ``params``, ``k``, ``chromosomes`` (per chromosome: length, stored,
        kept, excluded and N bp, pieces train/val, GC), ``totals``, ``length_histogram``
        (``edges``, ``counts``; the last bin is exactly ``max_len``), ``full_length_share``,
        ``mean_length``, ``gc``, ``tokens_per_full_piece`` and ``bytes_per_stored_bp``.
    out_png : str or Path, optional
        Piece-length histogram. Default is None (no figure).

    Returns
    -------
    stats : dict
        The content of ``out_json``.
    """
    if not shard_paths:
        raise ValueError("`shard_paths` is empty")
    params = None
    chroms: dict[str, dict] = {}
    length_counts = None
    n_bytes = 0
    for sp in map(Path, shard_paths):
        mp = _meta_path(sp)
        if not mp.is_file():
            raise ValueError(f"{mp}: shard metadata not found (rebuild the shard)")
        meta = json.loads(mp.read_text())
        if params is None:
            params = meta["params"]
            length_counts = np.zeros(params["max_len"] + 1, dtype=np.int64)
        elif meta["params"] != params:
            raise ValueError(f"{mp}: parameters {meta['params']} differ from {params}")
        shard = open_shard(sp)
        lengths = np.asarray(shard.idx[:, 1])
        if lengths.size and (
            lengths.min() < params["min_len"] or lengths.max() > params["max_len"]
        ):
            raise ValueError(f"{sp}: piece lengths outside [min_len, max_len]")
        length_counts += np.bincount(lengths, minlength=length_counts.shape[0])
        n_val = int(np.count_nonzero(np.asarray(shard.idx[:, 2])))
        counts = meta["base_counts"]
        stored = meta["stored_bp"]
        chroms[meta["chrom"]] = {
            "length_bp": meta["length_bp"],
            "stored_bp": stored,
            "kept_bp": meta["kept_bp"],
            "excluded_bp": meta["n_excluded_bp"],
            "nonacgt_bp": meta["nonacgt_bp"],
            "short_segment_bp": meta["short_segment_bp"],
            "n_segments": meta["n_segments"],
            "n_pieces_train": int(lengths.shape[0] - n_val),
            "n_pieces_val": n_val,
            "gc": (counts["C"] + counts["G"]) / stored if stored else None,
            "base_counts": counts,
        }
        n_bytes += sp.stat().st_size + _sibling(sp, ".idx.npy").stat().st_size

    def total(key: str) -> int:
        return int(sum(c[key] for c in chroms.values()))

    n_pieces = int(length_counts.sum())
    stored = total("stored_bp")
    gc_bp = sum(c["base_counts"]["C"] + c["base_counts"]["G"] for c in chroms.values())
    edges = _hist_edges(params["min_len"], params["max_len"])
    hist = np.add.reduceat(length_counts[edges[0] :], edges[:-1] - edges[0])
    hist = hist[: len(edges) - 1]
    stats = {
        "k": params["k"],
        "params": params,
        "n_chromosomes": len(chroms),
        "chromosomes": chroms,
        "totals": {
            key: total(key)
            for key in (
                "length_bp",
                "stored_bp",
                "kept_bp",
                "excluded_bp",
                "nonacgt_bp",
                "short_segment_bp",
                "n_pieces_train",
                "n_pieces_val",
            )
        },
        "n_pieces": n_pieces,
        "length_histogram": {"edges": edges.tolist(), "counts": hist.tolist()},
        "full_length_share": float(length_counts[params["max_len"]] / n_pieces)
        if n_pieces
        else 0.0,
        "mean_length": stored / n_pieces if n_pieces else 0.0,
        "gc": gc_bp / stored if stored else None,
        "tokens_per_full_piece": params["max_len"] - params["k"] + 3,
        "bytes_per_stored_bp": n_bytes / stored if stored else None,
    }
    out_json = Path(out_json)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    _write_text_atomic(out_json, json.dumps(stats, indent=2) + "\n")
    if out_png is not None:
        _plot_lengths(edges, hist, params, Path(out_png))
    return stats


def _plot_lengths(edges: np.ndarray, hist: np.ndarray, params: dict, out_png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    widths = np.diff(edges)
    ax.bar(
        edges[:-2],
        hist[:-1],
        width=widths[:-1],
        align="edge",
        color="#4c72b0",
        edgecolor="none",
        label="random length",
    )
    # the full-length bin is 1 bp wide: draw it as wide as its neighbours to keep it visible
    ax.bar(
        edges[-2],
        hist[-1],
        width=widths[0],
        align="edge",
        color="#dd8452",
        edgecolor="none",
        label=f"full length ({params['max_len']} bp)",
    )
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.set_yscale("log")
    ax.set_xlabel("piece length (bp)")
    ax.set_ylabel("pieces")
    ax.set_title(
        f"corpus pieces: {params['min_len']}-{params['max_len']} bp, "
        f"coverage {params['coverage']}, k={params['k']}"
    )
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_png.with_name(f".{out_png.name}.tmp{os.getpid()}")
    fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    os.replace(tmp, out_png)
