"""Atomic file writes: write to a temporary sibling, then ``os.replace``; nothing partial survives.

The one home for atomic output in dnalm:

- :func:`atomic_path` yields a temporary file path (libraries that write by name: matplotlib, numpy);
- :func:`atomic_paths` does the same for a set of files written together (one result, many files);
- :func:`write_bytes` / :func:`write_text` / :func:`write_json` write a whole payload at once;
- :func:`open_gzip` streams a deterministic gzip (mtime 0, no file name) into place;
- :func:`gzip_bytes` is the in-memory form of the same deterministic gzip;
- :func:`atomic_dir` yields a temporary directory that replaces ``dest`` whole (model folders).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

__all__ = [
    "atomic_path",
    "atomic_paths",
    "atomic_dir",
    "open_gzip",
    "gzip_bytes",
    "write_bytes",
    "write_text",
    "write_json",
]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(dest: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; on success move it to ``dest``, on error delete it.

    The temporary name keeps ``dest``'s suffixes (plus ``suffix``) so that libraries that infer
    formats from extensions (``.gz``, ``.png``) behave. The result gets the usual permissions
    (0666 minus the umask), not ``mkstemp``'s private 0600.
    """
    dest = Path(dest)
    with _temporary(dest, suffix) as tmp_path:
        yield tmp_path
        if dest.is_dir():
            raise IsADirectoryError(f"{dest}: is a directory, not a file")
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, dest)


@contextlib.contextmanager
def atomic_paths(dests: Mapping[str, str | Path]) -> Iterator[dict[str, Path]]:
    """:func:`atomic_path` for files that form one result: yield ``{name: temporary path}``.

    On success every destination is checked before any is replaced, so a destination that is a
    directory (the usual way a move fails) raises ``IsADirectoryError`` naming it with none of the
    files moved; on error every temporary file is deleted.
    """
    with contextlib.ExitStack() as stack:
        tmp = {name: stack.enter_context(_temporary(Path(d))) for name, d in dests.items()}
        yield tmp
        for d in dests.values():
            if Path(d).is_dir():
                raise IsADirectoryError(f"{d}: is a directory, not a file")
        for name, d in dests.items():
            os.chmod(tmp[name], 0o666 & ~_umask())
            os.replace(tmp[name], d)


@contextlib.contextmanager
def _temporary(dest: Path, suffix: str = "") -> Iterator[Path]:
    """A temporary sibling of ``dest`` (its suffixes kept), deleted on exit unless moved."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{dest.name}.", suffix=".tmp" + "".join(dest.suffixes) + suffix, dir=dest.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(dest: str | Path) -> Iterator[Path]:
    """Yield an empty temporary directory next to ``dest``; on success it replaces ``dest`` whole.

    An existing ``dest`` is removed only after the new content is complete. On error the
    temporary directory is deleted and ``dest`` is left as it was.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if dest.is_dir() and not dest.is_symlink():
            old = dest.with_name(f".{dest.name}.old{os.getpid()}")
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            if dest.exists() or dest.is_symlink():
                dest.unlink()
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def open_gzip(dest: str | Path, compresslevel: int = 6) -> Iterator[BinaryIO]:
    """Yield a binary file object that writes deterministic gzip (mtime 0, no name) to ``dest``."""
    with (
        atomic_path(dest) as tmp,
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=compresslevel) as gz,
    ):
        yield gz  # type: ignore[misc]


def gzip_bytes(data: bytes, compresslevel: int = 6) -> bytes:
    """Deterministic gzip of ``data`` (mtime 0, no file name)."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=compresslevel) as gz:
        gz.write(data)
    return buf.getvalue()


def write_bytes(dest: str | Path, data: bytes) -> Path:
    """Atomically write ``data`` to ``dest``."""
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)
    return Path(dest)


def write_text(dest: str | Path, text: str) -> Path:
    """Atomically write ``text`` (UTF-8) to ``dest``."""
    return write_bytes(dest, text.encode())


def write_json(dest: str | Path, obj: Any, indent: int | None = 2) -> Path:
    """Atomically write ``obj`` as JSON with sorted keys and a final newline."""
    return write_text(dest, json.dumps(obj, indent=indent, sort_keys=True, default=str) + "\n")
