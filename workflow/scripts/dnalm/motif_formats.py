"""Known-motif files in MEME, JASPAR and TRANSFAC formats: one reader that dispatches by content.

Every reader returns what :func:`dnalm.meme.read_meme` returns: an ordered ``dict`` from motif id
to a float64 probability matrix of shape ``(w, 4)``, columns ``A, C, G, T``, rows summing to 1.
Count matrices (JASPAR, TRANSFAC) are divided by each position's total. The id is the matrix
accession where the format has one (``>MA0139.1 CTCF`` -> ``MA0139.1``; TRANSFAC ``AC``, else
``ID``), the same id JASPAR's own MEME export puts on its ``MOTIF`` lines, so one database gives
the same motifs in all three formats.

- **JASPAR** (``*_jaspar.txt``, ``.jaspar``, ``.pfm``): a ``>ID name`` header, then four rows
  ``A  [ 4.00 19.00 ... ]`` (letters in any order; brackets optional). Unlabelled rows are read
  in ``A, C, G, T`` order.
- **TRANSFAC** (JASPAR's ``*_transfac.txt`` export and the classic layout): records of
  two-letter tags (``AC``, ``ID``, ``DE``, ``XX``, ``CC``, ...) closed by ``//``; the matrix
  starts at a ``P0`` (or JASPAR's ``PO``) line naming the letter columns and has one row per
  position: ``01  4.0  16.0  0.0  0.0  A`` (a trailing consensus letter is ignored).

Errors are ``ValueError("<path>:<line>: <problem>")``; nothing is returned for a bad file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from dnalm import atomic
from dnalm.meme import ALPHABET, is_number, read_meme
from dnalm.textio import open_text

__all__ = [
    "FORMATS",
    "detect_format",
    "read_jaspar",
    "read_motifs",
    "read_transfac",
    "write_jaspar",
    "write_transfac",
]

FORMATS = ("meme", "jaspar", "transfac")
_EXTENSIONS = {".meme": "meme", ".jaspar": "jaspar", ".pfm": "jaspar", ".transfac": "transfac",
               ".tf": "transfac", ".dat": "transfac"}  # fmt: skip
_TRANSFAC_TAGS = {"AC", "ID", "NA", "DE", "XX", "VV", "BF", "BA", "CC", "P0", "PO", "//"}
_JASPAR_ROW = re.compile(r"^(?:([ACGTacgt])\s*)?\[?\s*([^\[\]]*?)\s*\]?\s*$")
_NAME_RE = re.compile(r"^\S+$")


def _lines(path: Path) -> list[str]:
    with open_text(path) as fh:
        return fh.read().replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _last_line(lines: list[str]) -> int:
    """Number of the last non-blank line (where a truncated record ends); 1 for a blank file."""
    return next((i for i in range(len(lines), 0, -1) if lines[i - 1].strip()), 1)


def _numbers(path: Path, lineno: int, fields: list[str], what: str) -> list[float]:
    out = []
    for f in fields:
        try:
            v = float(f)
        except ValueError:
            raise ValueError(f"{path}:{lineno}: {what}: {f!r} is not a number") from None
        if not np.isfinite(v) or v < 0:
            raise ValueError(f"{path}:{lineno}: {what}: {f!r} is not a finite count >= 0")
        out.append(v)
    return out


def _to_probabilities(path: Path, lineno: int, name: str, counts: np.ndarray) -> np.ndarray:
    """(w, 4) counts -> probabilities; a position without counts is an error naming it."""
    totals = counts.sum(axis=1)
    zero = np.flatnonzero(totals <= 0)
    if zero.size:
        raise ValueError(
            f"{path}:{lineno}: motif {name!r} position {int(zero[0]) + 1} has no counts (all zero)"
        )
    return counts / totals[:, None]


def detect_format(path: str | Path) -> str:
    """The format of a motif file: ``meme``, ``jaspar`` or ``transfac``.

    The content decides: a ``MEME version`` line is MEME, a first line starting with ``>`` is
    JASPAR, a first line opening with a TRANSFAC tag (``AC``, ``ID``, ``XX``, ``P0``, ...) is
    TRANSFAC. Only when the content says nothing (e.g. an empty file) does the extension decide.

    Raises
    ------
    ValueError
        ``"<path>:<line>: ..."`` when neither content nor extension tells the format.
    """
    path = Path(path)
    lines = _lines(path)
    first = next(((i, ln.strip()) for i, ln in enumerate(lines, 1) if ln.strip()), None)
    if any(ln.lstrip().startswith("MEME version") for ln in lines[:200]):
        return "meme"
    if first is not None:
        lineno, text = first
        if text.startswith(">"):
            return "jaspar"
        if text.split()[0] in _TRANSFAC_TAGS:
            return "transfac"
    name = path.name.lower().removesuffix(".gz")
    for ext, fmt in _EXTENSIONS.items():
        if name.endswith(ext):
            return fmt
    if name.endswith("_jaspar.txt"):
        return "jaspar"
    if name.endswith("_transfac.txt"):
        return "transfac"
    where = f"{path}:{first[0]}" if first else f"{path}:1"
    seen = repr(first[1][:40]) if first else "an empty file"
    raise ValueError(
        f"{where}: not a known-motif file (MEME needs a 'MEME version' line, JASPAR a '>ID name' "
        f"header, TRANSFAC AC/ID/P0 records); found {seen}"
    )


def read_motifs(path: str | Path, fmt: str | None = None) -> dict[str, np.ndarray]:
    """Read a known-motif file in MEME, JASPAR or TRANSFAC format.

    Parameters
    ----------
    path : str or pathlib.Path
        The motif file (plain or gzip).
    fmt : {None, "meme", "jaspar", "transfac"}, optional
        The format; None detects it (:func:`detect_format`). Default is None.

    Returns
    -------
    dict of str to numpy.ndarray, shape=(w, 4)
        Motif id to float64 probabilities, columns A, C, G, T, in file order.

    Raises
    ------
    ValueError
        ``"<path>:<line>: <problem>"`` for any malformed record, an unknown format or ``fmt``.
    """
    path = Path(path)
    if fmt is None:
        fmt = detect_format(path)
    if fmt == "meme":
        return read_meme(path)
    if fmt == "jaspar":
        return read_jaspar(path)
    if fmt == "transfac":
        return read_transfac(path)
    raise ValueError(f"`fmt` must be None or one of {list(FORMATS)}, got {fmt!r}")


def read_jaspar(path: str | Path) -> dict[str, np.ndarray]:
    """Read a JASPAR-format count matrix file (one or many ``>ID name`` records).

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    dict of str to numpy.ndarray, shape=(w, 4)
        Matrix id (first field of the header) to probabilities, columns A, C, G, T.

    Raises
    ------
    ValueError
        ``"<path>:<line>: ..."`` for a row before any header, a header without an id, a
        duplicate id, a record with other than 4 rows (truncated), a repeated or missing
        letter, rows of unequal length, a non-numeric or negative count, an all-zero position,
        or a file without any header.
    """
    path = Path(path)
    lines = _lines(path)
    motifs: dict[str, np.ndarray] = {}
    name: str | None = None
    head = 0
    rows: list[tuple[int, str | None, list[float]]] = []

    def close(at: int) -> None:
        if name is None:
            return
        if len(rows) != 4:
            raise ValueError(
                f"{path}:{at}: motif {name!r} (header at line {head}) has {len(rows)} matrix "
                "rows, expected 4 (A, C, G, T): truncated record?"
            )
        letters = [r[1] for r in rows]
        if all(x is None for x in letters):
            letters = list(ALPHABET)
        elif any(x is None for x in letters) or sorted(letters) != sorted(ALPHABET):
            raise ValueError(
                f"{path}:{rows[0][0]}: motif {name!r} rows are labelled {letters}, expected each "
                "of A, C, G, T once"
            )
        widths = {len(r[2]) for r in rows}
        if len(widths) != 1:
            bad = next(r for r in rows if len(r[2]) != len(rows[0][2]))
            raise ValueError(
                f"{path}:{bad[0]}: motif {name!r} row {bad[1] or ''} has {len(bad[2])} values, "
                f"but line {rows[0][0]} has {len(rows[0][2])} (rows of unequal length)"
            )
        if 0 in widths:
            raise ValueError(f"{path}:{rows[0][0]}: motif {name!r} has an empty matrix")
        by = {letter: r[2] for letter, r in zip(letters, rows, strict=True)}
        counts = np.array([by[b] for b in ALPHABET], dtype=np.float64).T
        motifs[name] = _to_probabilities(path, head, name, counts)

    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith(">"):
            close(lineno)
            fields = line[1:].split()
            if not fields:
                raise ValueError(f"{path}:{lineno}: '>' header without a matrix id")
            name, head, rows = fields[0], lineno, []
            if name in motifs:
                raise ValueError(f"{path}:{lineno}: duplicate motif id {name!r}")
            continue
        if name is None:
            raise ValueError(
                f"{path}:{lineno}: matrix row before any '>ID name' header: {line[:40]!r}"
            )
        if len(rows) == 4:
            raise ValueError(
                f"{path}:{lineno}: motif {name!r} (header at line {head}) has more than 4 rows"
            )
        m = _JASPAR_ROW.match(line)
        if m is None:
            raise ValueError(f"{path}:{lineno}: malformed matrix row {line[:40]!r}")
        letter = m.group(1).upper() if m.group(1) else None
        values = _numbers(path, lineno, m.group(2).split(), f"motif {name!r}")
        rows.append((lineno, letter, values))
    if name is None:
        raise ValueError(f"{path}:1: no '>ID name' header: not a JASPAR-format file")
    close(_last_line(lines))
    return motifs


def read_transfac(path: str | Path) -> dict[str, np.ndarray]:
    """Read a TRANSFAC-format matrix file (JASPAR's TRANSFAC export or the classic layout).

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    dict of str to numpy.ndarray, shape=(w, 4)
        Accession (``AC``; ``ID`` when there is no ``AC``) to probabilities, columns A, C, G, T.

    Raises
    ------
    ValueError
        ``"<path>:<line>: ..."`` for a matrix row outside a ``P0``/``PO`` block, a ``P0`` line
        that does not name A, C, G and T, positions out of order, a row with a missing or extra
        value, a non-numeric or negative count, an all-zero position, a record without an id or
        without a matrix, a duplicate id, a record not closed by ``//`` (truncated file), or a
        file without records.
    """
    path = Path(path)
    lines = _lines(path)
    motifs: dict[str, np.ndarray] = {}
    start: int | None = None  # first line of the open record
    ids: dict[str, str] = {}
    cols: list[int] | None = None  # P0 column -> index in ALPHABET
    in_matrix = False
    rows: list[list[float]] = []
    p0_line = 0

    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        fields = line.split()
        tag = fields[0]
        if start is None:
            start, ids, cols, in_matrix, rows = lineno, {}, None, False, []
        if tag == "//":
            name = ids.get("AC") or ids.get("ID")
            if name is None and cols is None:  # a header record (VV, ...) without a matrix
                start = None
                continue
            if name is None:
                raise ValueError(f"{path}:{lineno}: record from line {start} has no AC or ID line")
            if cols is None or not rows:
                raise ValueError(f"{path}:{lineno}: record {name!r} has no P0/PO matrix")
            if name in motifs:
                raise ValueError(f"{path}:{lineno}: duplicate motif id {name!r}")
            counts = np.zeros((len(rows), 4))
            for j, k in enumerate(cols):
                counts[:, k] = [r[j] for r in rows]
            motifs[name] = _to_probabilities(path, p0_line, name, counts)
            start = None
            continue
        if tag in ("P0", "PO"):
            if cols is not None:
                raise ValueError(f"{path}:{lineno}: second P0/PO matrix in the record from line {start}")
            letters = [x.upper() for x in fields[1:]]
            if sorted(letters) != sorted(ALPHABET):
                raise ValueError(
                    f"{path}:{lineno}: {tag} line names columns {fields[1:]}, expected A, C, G, T"
                )
            cols = [ALPHABET.index(x) for x in letters]
            in_matrix, p0_line = True, lineno
            continue
        if in_matrix and tag.isdigit():
            if int(tag) != len(rows) + 1:
                raise ValueError(
                    f"{path}:{lineno}: matrix position {tag} follows position {len(rows)} "
                    "(positions must count up from 01)"
                )
            values = fields[1:]
            if len(values) == 5 and not is_number(values[4]):
                values = values[:4]  # the consensus letter
            if len(values) != 4:
                raise ValueError(
                    f"{path}:{lineno}: matrix row has {len(values)} values, expected 4 "
                    "(A, C, G, T; rows of unequal length)"
                )
            rows.append(_numbers(path, lineno, values, f"position {tag}"))
            continue
        if tag.isdigit():
            raise ValueError(f"{path}:{lineno}: matrix row outside a P0/PO block: {line[:40]!r}")
        in_matrix = False
        if tag in ("AC", "ID") and len(fields) >= 2 and tag not in ids:
            ids[tag] = fields[1]
        elif tag in ("AC", "ID") and len(fields) < 2:
            raise ValueError(f"{path}:{lineno}: {tag} line without a value")
        elif len(tag) != 2 and tag not in ("P0", "PO"):
            raise ValueError(
                f"{path}:{lineno}: expected a two-letter TRANSFAC tag (AC, ID, XX, P0, ...), "
                f"got {line[:40]!r}"
            )
    if start is not None:
        raise ValueError(
            f"{path}:{_last_line(lines)}: record from line {start} is not closed by '//' "
            "(truncated file?)"
        )
    if not motifs:
        raise ValueError(f"{path}:1: no TRANSFAC records (AC/ID ... P0 ... //)")
    return motifs


def _counts(name: str, pwm: np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(pwm, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4 or arr.shape[0] < 1:
        raise ValueError(f"`motifs[{name!r}]` must have shape (w, 4) with w >= 1, got {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr.sum(axis=1) <= 0):
        raise ValueError(f"`motifs[{name!r}]` must hold finite non-negative values, no empty row")
    if n < 1:
        raise ValueError(f"`nsites[{name!r}]` must be >= 1, got {n}")
    return arr / arr.sum(axis=1, keepdims=True) * n


def _check_names(motifs: Mapping[str, np.ndarray]) -> None:
    for name in motifs:
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ValueError(f"`motifs` key {name!r} must be a non-empty name without whitespace")


def write_jaspar(
    path: str | Path,
    motifs: Mapping[str, np.ndarray],
    nsites: Mapping[str, int] | None = None,
    names: Mapping[str, str] | None = None,
) -> Path:
    """Write motifs as JASPAR-format count matrices (atomically).

    Parameters
    ----------
    path : str or pathlib.Path
    motifs : dict of str to numpy.ndarray, shape=(w, 4)
        Probabilities (or counts), columns A, C, G, T; each position is rescaled to its site
        count. Ids must not contain whitespace.
    nsites : dict of str to int, optional
        Sites behind each motif (the column total). Default is None (100).
    names : dict of str to str, optional
        Second header field per motif. Default is None (the id again).

    Returns
    -------
    pathlib.Path
        The path written. Counts carry 6 decimals, so probabilities survive to about 1e-8.
    """
    _check_names(motifs)
    out = []
    for mid, pwm in motifs.items():
        counts = _counts(mid, pwm, int((nsites or {}).get(mid, 100)))
        label = "_".join(str((names or {}).get(mid, mid)).split()) or mid
        out.append(f">{mid}\t{label}")
        for j, b in enumerate(ALPHABET):
            out.append(f"{b}  [" + " ".join(f"{v:12.6f}" for v in counts[:, j]) + " ]")
    return atomic.write_text(path, "\n".join(out) + "\n")


def write_transfac(
    path: str | Path,
    motifs: Mapping[str, np.ndarray],
    nsites: Mapping[str, int] | None = None,
    names: Mapping[str, str] | None = None,
) -> Path:
    """Write motifs as TRANSFAC records, laid out as JASPAR's TRANSFAC export (atomically).

    Parameters
    ----------
    path : str or pathlib.Path
    motifs : dict of str to numpy.ndarray, shape=(w, 4)
        As for :func:`write_jaspar`; the id becomes ``AC``.
    nsites : dict of str to int, optional
        Column totals. Default is None (100).
    names : dict of str to str, optional
        The ``ID`` per motif. Default is None (the id again).

    Returns
    -------
    pathlib.Path
    """
    _check_names(motifs)
    out = []
    for mid, pwm in motifs.items():
        counts = _counts(mid, pwm, int((nsites or {}).get(mid, 100)))
        label = "_".join(str((names or {}).get(mid, mid)).split()) or mid
        out += [f"AC {mid}", "XX", f"ID {label}", "XX", f"DE {mid} {label} ; written by dnalm",
                "PO\tA\tC\tG\tT"]  # fmt: skip
        for i, row in enumerate(counts, start=1):
            out.append(f"{i:02d}\t" + "\t".join(f"{v:.6f}" for v in row))
        out += ["XX", "//"]
    return atomic.write_text(path, "\n".join(out) + "\n")
