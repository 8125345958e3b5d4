"""MEME minimal motif format (version 4): write and read position probability matrices.

Matrices are ``numpy`` arrays of shape ``(w, 4)`` whose columns are the letters in
``A, C, G, T`` order (MEME's order, not the A, T, C, G order of the k-mer vocabulary) and
whose rows sum to 1. See https://meme-suite.org/meme/doc/meme-format.html.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from dnalm import atomic
from dnalm.textio import open_text

ALPHABET = "ACGT"
_ROW_TOL = 0.01  # MEME files round to a few decimals; rows must still sum to 1 within this
_NAME_RE = re.compile(r"^\S+$")
_W_RE = re.compile(r"\bw=\s*(\d+)")

__all__ = ["ALPHABET", "read_meme", "write_meme"]


def _check_pwm(name: str, pwm: np.ndarray) -> np.ndarray:
    arr = np.asarray(pwm, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4 or arr.shape[0] < 1:
        raise ValueError(f"`motifs[{name!r}]` must have shape (w, 4) with w >= 1, got {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"`motifs[{name!r}]` must hold finite non-negative probabilities")
    sums = arr.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > _ROW_TOL)
    if bad.size:
        raise ValueError(
            f"`motifs[{name!r}]` row {int(bad[0])} sums to {sums[bad[0]]:.4f}, expected 1 "
            "(columns are A, C, G, T probabilities)"
        )
    return arr / sums[:, None]


def write_meme(
    path: str | Path,
    motifs: Mapping[str, np.ndarray],
    nsites: Mapping[str, int] | None = None,
    comments: Mapping[str, str] | None = None,
    background: Mapping[str, float] | np.ndarray | None = None,
) -> Path:
    """Write motifs in MEME minimal format (atomically).

    Parameters
    ----------
    path : str or pathlib.Path
        Output file.
    motifs : dict of str to numpy.ndarray, shape=(w, 4)
        Probability matrices, columns A, C, G, T, rows summing to 1. Names must not contain
        whitespace. An empty dict writes a valid file with zero motifs.
    nsites : dict of str to int or None
        Number of sites behind each motif (the ``nsites=`` field). Default is None (20).
    comments : dict of str to str or None
        Optional alternate name per motif, written as the second field of its ``MOTIF``
        line (whitespace replaced by ``_``). Default is None (no alternate names).
    background : dict of str to float, numpy.ndarray of shape=(4,), or None
        Background letter frequencies (A, C, G, T). Default is None (uniform 0.25).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    if background is None:
        bg = np.full(4, 0.25)
    elif isinstance(background, Mapping):
        try:
            bg = np.array([float(background[b]) for b in ALPHABET])
        except KeyError as e:
            raise ValueError(f"`background` lacks letter {e.args[0]!r}") from None
    else:
        bg = np.asarray(background, dtype=np.float64).reshape(-1)
    if bg.shape != (4,) or np.any(bg < 0) or abs(bg.sum() - 1.0) > _ROW_TOL:
        raise ValueError(f"`background` must be 4 non-negative frequencies summing to 1, got {bg}")
    lines = [
        "MEME version 4",
        "",
        f"ALPHABET= {ALPHABET}",
        "",
        "strands: + -",
        "",
        "Background letter frequencies",
        " ".join(f"{b} {p:.3f}" for b, p in zip(ALPHABET, bg, strict=True)),
        "",
    ]
    for name, pwm in motifs.items():
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ValueError(f"`motifs` key {name!r} must be a non-empty name without whitespace")
        arr = _check_pwm(name, pwm)
        n = int(nsites.get(name, 20)) if nsites else 20
        alt = ""
        if comments and comments.get(name):
            alt = " " + "_".join(str(comments[name]).split())
        lines.append(f"MOTIF {name}{alt}")
        lines.append(f"letter-probability matrix: alength= 4 w= {arr.shape[0]} nsites= {n} E= 0")
        lines.extend(" ".join(f"{p:.6f}" for p in row) for row in arr)
        lines.append("")
    return atomic.write_text(path, "\n".join(lines) + "\n")


def is_number(text: str) -> bool:
    """Whether ``float(text)`` parses (matrix values of the motif file readers)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_meme(path: str | Path) -> dict[str, np.ndarray]:
    """Read a MEME (minimal or full text) motif file.

    Parameters
    ----------
    path : str or pathlib.Path
        A MEME version 4 file over the DNA alphabet (plain or gzip).

    Returns
    -------
    dict of str to numpy.ndarray, shape=(w, 4)
        Motif id (first field of the ``MOTIF`` line) to float64 probabilities, columns
        A, C, G, T, in file order. A file with no motifs gives an empty dict.

    Raises
    ------
    ValueError
        ``"<path>:<line>: <problem>"`` for a missing version line, a non-DNA alphabet, a
        malformed or truncated matrix, rows not summing to 1, or a duplicate motif id.
    """
    path = Path(path)
    with open_text(path) as fh:
        text = fh.read().replace("\r\n", "\n").split("\n")
    motifs: dict[str, np.ndarray] = {}
    seen_version = False
    name: str | None = None
    name_line = 0
    width: int | None = None
    rows: list[list[float]] = []
    for lineno, raw in enumerate(text, start=1):
        line = raw.strip()
        if width is not None:
            if not line:
                continue
            fields = line.split()
            try:
                row = [float(x) for x in fields]
            except ValueError:
                bad = [x for x in fields if not is_number(x)]
                if len(bad) < len(fields):  # a matrix row with a typo, not the next section
                    raise ValueError(
                        f"{path}:{lineno}: matrix row {len(rows) + 1} of motif {name!r} holds "
                        f"{bad[0]!r}, not a number"
                    ) from None
                raise ValueError(
                    f"{path}:{lineno}: motif {name!r} expects {width} matrix rows, "
                    f"got {len(rows)} before {line[:40]!r}"
                ) from None
            if len(row) != 4:
                raise ValueError(f"{path}:{lineno}: matrix row has {len(row)} values, expected 4")
            if abs(sum(row) - 1.0) > _ROW_TOL or min(row) < 0:
                raise ValueError(f"{path}:{lineno}: matrix row sums to {sum(row):.4f}, expected 1")
            rows.append(row)
            if len(rows) == width:
                motifs[name] = np.array(rows, dtype=np.float64)  # type: ignore[index]
                name, width, rows = None, None, []
            continue
        if line.startswith("MEME version"):
            seen_version = True
        elif line.startswith("ALPHABET"):
            alpha = line.split("=", 1)[1].strip() if "=" in line else ""
            if alpha.split()[0:1] != [ALPHABET]:
                raise ValueError(f"{path}:{lineno}: alphabet {alpha!r} is not {ALPHABET}")
        elif line.startswith("MOTIF"):
            if not seen_version:
                raise ValueError(f"{path}:{lineno}: MOTIF before the 'MEME version' line")
            if name is not None:
                raise ValueError(f"{path}:{name_line}: motif {name!r} has no probability matrix")
            fields = line.split()
            if len(fields) < 2:
                raise ValueError(f"{path}:{lineno}: MOTIF line without an id")
            name, name_line = fields[1], lineno
            if name in motifs:
                raise ValueError(f"{path}:{lineno}: duplicate motif id {name!r}")
        elif line.startswith("letter-probability matrix"):
            if name is None:
                raise ValueError(f"{path}:{lineno}: matrix without a preceding MOTIF line")
            m = _W_RE.search(line)
            if not m or int(m.group(1)) < 1:
                raise ValueError(f"{path}:{lineno}: letter-probability line lacks 'w= <width>'")
            width = int(m.group(1))
    if width is not None or name is not None:
        raise ValueError(f"{path}:{len(text)}: motif {name!r} is truncated")
    if not seen_version:
        raise ValueError(f"{path}:1: not a MEME file (no 'MEME version' line)")
    return motifs
