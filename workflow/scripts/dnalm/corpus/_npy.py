"""Streamed ``.npy`` writing for shard building: fixed-size headers, raw parts, in-place regions.

The corpus arrays are too large to hold in memory, so they are written piecewise: the base
codes straight into their final positions of a pre-sized file (:class:`RegionWriter`), the
index rows into one raw part per coverage pass (:class:`RawAppender`) joined at the end
(:func:`assemble_npy`).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

HEADER_BYTES = 128  # fixed .npy header size so the final shape can be written in place


def npy_header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    body = f"{{'descr': {dtype.str!r}, 'fortran_order': False, 'shape': {shape!r}, }}"
    hlen = HEADER_BYTES - 10
    if len(body) + 1 > hlen:
        raise ValueError(f"shape {shape} too large for the .npy header")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", hlen) + (body.ljust(hlen - 1) + "\n").encode()


class RawAppender:
    """Append rows of one dtype to a hidden temporary raw file next to ``path``.

    These are the per-pass index parts: a pass's piece count is known only after the whole
    chromosome was streamed, and all passes are cut at once, so their rows go to one raw file
    each (memory stays bounded) and are joined by :func:`assemble_npy` at the end. They are
    never outputs; :meth:`abort` deletes them, which the builder does on success and error.
    """

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


class RegionWriter:
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


def assemble_npy(dest: Path, parts: list[RawAppender], shifts: list[int]) -> None:
    """Concatenate raw parts into the ``.npy`` file ``dest`` (a temporary path).

    Memory is bounded (4 MiB blocks). ``shifts``: per part, a value added to column 0 (the
    piece offsets) of its rows.
    """
    dtype, row_shape = parts[0].dtype, parts[0].row_shape
    n = sum(part.n for part in parts)
    rows_per_block = max(1, (4 << 20) // (dtype.itemsize * int(np.prod(row_shape, dtype=np.int64))))
    buf = np.empty((rows_per_block, *row_shape), dtype=dtype)  # the only buffer: 4 MiB
    with open(dest, "wb") as out:
        out.write(npy_header(dtype, (n, *row_shape)))
        for part, shift in zip(parts, shifts, strict=True):
            with open(part.tmp, "rb") as src:
                while got := src.readinto(memoryview(buf).cast("B")):
                    rows = buf[: got // (buf.nbytes // rows_per_block)]
                    if shift:
                        rows[:, 0] += shift
                    out.write(memoryview(rows).cast("B"))
