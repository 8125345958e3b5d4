"""Reading text inputs: plain or gzip, with errors that name the file (the one home of both).

:func:`open_text` detects gzip by magic bytes, strips a BOM, and turns a truncated or corrupt
gzip stream into ``ValueError("<path>: truncated or corrupt gzip stream (...)")`` instead of a bare
``EOFError``/``zlib.error``. :func:`sha256sum` hashes a file or a folder.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from collections.abc import Iterator
from pathlib import Path

__all__ = ["open_text", "sha256sum", "gzip_error", "is_gzip"]

_GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def gzip_error(path: str | Path, err: BaseException) -> ValueError:
    """The ValueError dnalm raises for a truncated or corrupt gzip file."""
    return ValueError(f"{path}: truncated or corrupt gzip stream ({type(err).__name__}: {err})")


def is_gzip(path: str | Path) -> bool:
    """True when ``path`` starts with the gzip magic bytes."""
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


class _NamedReader(io.TextIOBase):
    """A text reader that re-raises gzip stream errors naming the file."""

    def __init__(self, inner: io.TextIOWrapper, path: Path) -> None:
        self._inner = inner
        self._path = path

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        try:
            return self._inner.read(size)
        except _GZIP_ERRORS as e:
            raise gzip_error(self._path, e) from None

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        try:
            return self._inner.readline(size)
        except _GZIP_ERRORS as e:
            raise gzip_error(self._path, e) from None

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def close(self) -> None:
        self._inner.close()
        super().close()

    @property
    def name(self) -> str:
        return str(self._path)


def open_text(path: str | Path) -> io.TextIOBase:
    """Open a plain or gzip text file (detected by magic bytes) for reading, BOM stripped.

    Raises
    ------
    ValueError
        Naming ``path`` when the file is missing, or (while reading) when its gzip stream is
        truncated or corrupt.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: file not found")
    if is_gzip(path):
        inner = io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    else:
        inner = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - wrapped and closed
    return _NamedReader(inner, path)


def sha256sum(path: str | Path) -> str:
    """SHA-256 of a file (or of the sorted files of a folder, name + bytes)."""
    h = hashlib.sha256()
    p = Path(path)
    files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            h.update(str(f.relative_to(p)).encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()
