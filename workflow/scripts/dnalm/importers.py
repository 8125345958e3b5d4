"""Bring-your-own datasets: DNABERT k-mer TSV, GUE CSV folders, FASTA + label table.

Formats
-------
dnabert_tsv   ``<space-separated k-mers><TAB><label>``; line 1 is always a header (DNABERT's
              processors skip it), CRLF and a UTF-8 BOM are tolerated. A file, or a folder
              with ``train.tsv`` + ``dev.tsv`` [+ ``test.tsv``].
gue_csv       folder with ``train.csv``, ``dev.csv``, ``test.csv``, header ``sequence,label``;
              its splits are kept.
fasta_labels  FASTA plus a label table (``id<TAB or ,>label``, optional header).

Rows carry no genome coordinates (``.``); ``source_id`` is ``<file>:<line>``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from dnalm.dataset import Example
from dnalm.kmers import kmer2seq
from dnalm.textio import open_text

__all__ = ["FORMATS", "read_dnabert_tsv", "read_gue_csv", "read_fasta_labels", "import_examples"]

FORMATS = ("dnabert_tsv", "gue_csv", "fasta_labels")
_SEQ = re.compile(r"^[ACGTN]+$")


def _label(value: str, path, ln: int) -> int:
    v = value.strip()
    if not re.fullmatch(r"\d+", v):
        raise ValueError(
            f"{path}:{ln}: unexpected label {value!r} (expected a non-negative integer)"
        )
    return int(v)


def _seq(value: str, path, ln: int) -> str:
    s = value.strip().upper()
    if not _SEQ.match(s):
        bad = next((c for c in s if c not in "ACGTN"), "")
        raise ValueError(f"{path}:{ln}: sequence has character {bad!r} (expected ACGTN)")
    return s


def read_dnabert_tsv(path: str | Path) -> list[Example]:
    """Read a DNABERT fine-tune TSV; k-mers are re-joined with :func:`dnalm.kmers.kmer2seq`.

    Raises ``ValueError("<path>:<line>: ...")`` when k-mers do not overlap or a label is not
    a non-negative integer.
    """
    out: list[Example] = []
    name = Path(path).name
    with open_text(path) as fh:
        fh.readline()  # header, always skipped (tab- or space-separated)
        for ln, line in enumerate(fh, 2):
            s = line.rstrip("\r\n")
            if not s.strip():
                continue
            if "\t" in s:
                kmers, _, lab = s.rpartition("\t")
            else:
                kmers, _, lab = s.strip().rpartition(" ")
            if not kmers.strip():
                raise ValueError(f"{path}:{ln}: expected '<k-mers><TAB><label>'")
            try:
                seq = kmer2seq(kmers.upper())
            except ValueError as e:
                raise ValueError(f"{path}:{ln}: {e}") from None
            out.append(
                Example(_seq(seq, path, ln), _label(lab, path, ln), source_id=f"{name}:{ln}")
            )
    return out


def _read_csv(path: Path) -> list[Example]:
    out: list[Example] = []
    with open_text(path) as fh:
        rows = csv.reader(fh)
        header = next(rows, None)
        if header is None or [h.strip().lower() for h in header[:2]] != ["sequence", "label"]:
            raise ValueError(f"{path}:1: header must be 'sequence,label', got {header}")
        for ln, row in enumerate(rows, 2):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2:
                raise ValueError(f"{path}:{ln}: expected 'sequence,label'")
            out.append(
                Example(
                    _seq(row[0], path, ln), _label(row[1], path, ln), source_id=f"{path.name}:{ln}"
                )
            )
    return out


def read_gue_csv(folder: str | Path) -> dict[str, list[Example]]:
    """Read a GUE task folder: {"train": [...], "dev": [...], "test": [...]}."""
    folder = Path(folder)
    out = {}
    for split in ("train", "dev", "test"):
        p = folder / f"{split}.csv"
        if not p.exists():
            raise ValueError(f"{folder}: missing {split}.csv (gue_csv needs train/dev/test.csv)")
        out[split] = _read_csv(p)
    return out


def read_fasta_labels(fasta: str | Path, labels: str | Path) -> list[Example]:
    """FASTA records labelled by a table of ``id<TAB or comma>label`` (optional header)."""
    table: dict[str, int] = {}
    with open_text(labels) as fh:
        for ln, line in enumerate(fh, 1):
            s = line.rstrip("\r\n")
            if not s.strip() or s.startswith("#"):
                continue
            f = re.split(r"[\t,]", s)
            if len(f) < 2:
                raise ValueError(f"{labels}:{ln}: expected 'id<TAB>label'")
            if ln == 1 and not f[1].strip().isdigit():
                continue  # header
            if f[0] in table:
                raise ValueError(f"{labels}:{ln}: duplicate id {f[0]!r}")
            table[f[0].strip()] = _label(f[1], labels, ln)
    out: list[Example] = []
    used: set[str] = set()
    name, start_ln, parts = None, 0, []

    def flush():
        if name is None:
            return
        if name not in table:
            raise ValueError(f"{fasta}:{start_ln}: record {name!r} has no label in {labels}")
        used.add(name)
        out.append(Example(_seq("".join(parts), fasta, start_ln), table[name], source_id=name))

    with open_text(fasta) as fh:
        for ln, line in enumerate(fh, 1):
            s = line.strip()
            if s.startswith(">"):
                flush()
                toks = s[1:].split()
                if not toks:
                    raise ValueError(f"{fasta}:{ln}: empty FASTA header")
                name, start_ln, parts = toks[0], ln, []
            elif s:
                if name is None:
                    raise ValueError(f"{fasta}:{ln}: sequence before the first '>' header")
                parts.append(s)
        flush()
    missing = sorted(set(table) - used)
    if missing:
        raise ValueError(f"{labels}: {len(missing)} ids not in {fasta}, e.g. {missing[0]!r}")
    return out


def import_examples(
    fmt: str, path: str | Path, labels: str | Path | None = None
) -> tuple[list[Example] | dict[str, list[Example]], list[Path]]:
    """Read an imported dataset.

    Returns
    -------
    data : list of Example, or dict of split -> list of Example
        A dict when the source comes with its own train/dev/test splits.
    files : list of Path
        The files read (for the card's checksums).
    """
    path = Path(path)
    if fmt == "dnabert_tsv":
        if path.is_dir():
            files = [
                path / f"{s}.tsv" for s in ("train", "dev", "test") if (path / f"{s}.tsv").exists()
            ]
            if not files:
                raise ValueError(f"{path}: no train.tsv/dev.tsv/test.tsv")
            data = {f.stem: read_dnabert_tsv(f) for f in files}
            if set(data) == {"train", "dev", "test"}:
                return data, files
            return [ex for f in files for ex in data[f.stem]], files
        return read_dnabert_tsv(path), [path]
    if fmt == "gue_csv":
        return read_gue_csv(path), [path / f"{s}.csv" for s in ("train", "dev", "test")]
    if fmt == "fasta_labels":
        if labels is None:
            raise ValueError("format fasta_labels needs `labels` (a label table)")
        return read_fasta_labels(path, labels), [path, Path(labels)]
    raise ValueError(f"`format` must be one of {FORMATS}, got {fmt!r}")
