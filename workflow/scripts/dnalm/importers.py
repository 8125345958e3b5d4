"""Bring-your-own datasets: DNABERT k-mer TSV, GUE CSV folders, FASTA + label table.

Formats
-------
dnabert_tsv   ``<space-separated k-mers><TAB><label>``; line 1 must be a header (DNABERT's
              processors skip it): a first line whose label field is an integer is a data row
              and is refused, never silently dropped. CRLF and a UTF-8 BOM are tolerated. A
              file, or a folder with ``train.tsv`` + ``dev.tsv`` [+ ``test.tsv``].
gue_csv       folder with ``train.csv``, ``dev.csv``, ``test.csv``, header ``sequence,label``
              (checked); its splits are kept.
fasta_labels  FASTA plus a label table (``id<TAB or ,>label``); its line 1 is a header exactly
              when its label field is not an integer.

Every row is checked where it is read, and a bad one raises ``ValueError("<file>:<line>: ...")``:
a label outside the declared label set (``tasks.<t>.label_set``; default binary ``{0, 1}``),
a sequence with a character other than ACGTN, shorter than ``k`` (``tasks.<t>.k``, default 6)
or made only of N.

Coordinates (optional): a header naming the columns ``chrom``, ``start``, ``end`` and
``strand`` (all four; any order, after the sequence and label columns) gives rows genome
coordinates, BED-style: 0-based ``start``, exclusive ``end``, ``end - start`` equal to the
sequence length, strand ``+`` or ``-`` (the sequence is read on that strand). For
``dnabert_tsv`` the TSV header names them (``sequence<TAB>label<TAB>chrom<TAB>start<TAB>end<TAB>strand``),
for ``gue_csv`` the CSV header, for ``fasta_labels`` the label table's header
(``id<TAB>label<TAB>chrom<TAB>...``). A row may leave all four ``.`` (no coordinates). They
land in the split TSVs' ``contig``/``start``/``end``/``strand`` columns, as native tasks'
rows do; a task with ``tasks.<t>.genome`` then reaches attention regions, motif matching and
variant scoring (:func:`dnalm.datasets.build_dataset` requires every row to carry them).
Without coordinates rows carry ``.``; ``source_id`` is ``<file>:<line>``.

Genome check: given the task's genome (``genome=``, a :class:`dnalm.fasta.Genome`), each row
with coordinates is read back from the genome on its strand and must equal the imported
sequence at every position where neither has ``N``; its chrom must be a genome contig or an
alias from ``contigs.tsv`` (rows keep the genome's own name). A mismatch names
``<file>:<line>``, the region, the count and first offset of differing bases, and whether the
row matches one base to either side (a 1-based start). It is raised while reading, so nothing
is written.

BED (:func:`write_bed`): the rows with coordinates of the three split TSVs as BED6, sorted,
``name`` = ``<split>|<label>|<source_id>``, for genome browsers
(``results/datasets/<task>/regions.bed``, rule ``imported_bed``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from dnalm import atomic
from dnalm.dataset import Example, read_split
from dnalm.fasta import Genome, fasta_records
from dnalm.kmers import kmer2seq
from dnalm.textio import open_text

__all__ = [
    "FORMATS",
    "DEFAULT_LABEL_SET",
    "read_dnabert_tsv",
    "read_gue_csv",
    "read_fasta_labels",
    "import_examples",
    "COORD_COLUMNS",
    "require_coordinates",
    "check_against_genome",
    "write_bed",
]

FORMATS = ("dnabert_tsv", "gue_csv", "fasta_labels")
#: Optional coordinate columns of an imported file's header.
COORD_COLUMNS = ("chrom", "start", "end", "strand")
#: Label set of an imported task that declares none.
DEFAULT_LABEL_SET = (0, 1)
_SEQ = re.compile(r"^[ACGTN]+$")
_INT = re.compile(r"\d+")


class _Rules(NamedTuple):
    """What every imported row is checked against."""

    labels: frozenset[int]
    k: int


def _rules(label_set: Iterable[int] | None, k: int) -> _Rules:
    labels = frozenset(DEFAULT_LABEL_SET if label_set is None else (int(x) for x in label_set))
    if len(labels) < 2 or min(labels) < 0:
        raise ValueError(f"`label_set` needs >= 2 non-negative labels, got {sorted(labels)}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"`k` must be a positive integer, got {k!r}")
    return _Rules(labels, k)


def _label(value: str, path, ln: int, rules: _Rules) -> int:
    v = value.strip()
    if not _INT.fullmatch(v):
        raise ValueError(
            f"{path}:{ln}: unexpected label {value!r} (expected a non-negative integer)"
        )
    lab = int(v)
    if lab not in rules.labels:
        raise ValueError(
            f"{path}:{ln}: label {lab} is not in the task's label set {sorted(rules.labels)} "
            "(declare it in `tasks.<task>.label_set`)"
        )
    return lab


def _seq(value: str, path, ln: int, rules: _Rules) -> str:
    s = value.strip().upper()
    if not _SEQ.match(s):
        bad = next((c for c in s if c not in "ACGTN"), "")
        raise ValueError(f"{path}:{ln}: sequence has character {bad!r} (expected ACGTN)")
    if len(s) < rules.k:
        raise ValueError(
            f"{path}:{ln}: sequence of {len(s)} bp is shorter than k = {rules.k} (no k-mer)"
        )
    if s.count("N") == len(s):
        raise ValueError(f"{path}:{ln}: sequence is all N ({len(s)} bp)")
    return s


def _coord_columns(header: list[str], path, ln: int = 1) -> dict[str, int] | None:
    """Column index of each of :data:`COORD_COLUMNS` in a header (None when it has none)."""
    names = [h.strip().lower() for h in header]
    present = [c for c in COORD_COLUMNS if c in names]
    if not present:
        return None
    if len(present) != len(COORD_COLUMNS):
        missing = [c for c in COORD_COLUMNS if c not in names]
        raise ValueError(
            f"{path}:{ln}: coordinate columns need all of {list(COORD_COLUMNS)}; missing {missing}"
        )
    return {c: names.index(c) for c in COORD_COLUMNS}


def _coords(
    fields: list[str],
    cols: dict[str, int] | None,
    seq: str,
    path,
    ln: int,
    genome: Genome | None = None,
) -> dict:
    """Example keyword arguments (contig, start, end, strand) of one row; {} without any.

    With ``genome`` the row is checked by :func:`check_against_genome` (contig renamed to the
    genome's own name).
    """
    n_bp = len(seq)
    if cols is None:
        return {}
    vals = {c: fields[i].strip() if i < len(fields) else "" for c, i in cols.items()}
    if all(v in (".", "") for v in vals.values()):
        return {}
    empty = [c for c, v in vals.items() if v in (".", "")]
    if empty:
        raise ValueError(f"{path}:{ln}: incomplete coordinates ({', '.join(empty)} missing)")
    chrom = vals["chrom"]
    if any(ch.isspace() for ch in chrom):
        raise ValueError(f"{path}:{ln}: chrom {chrom!r} contains whitespace")
    try:
        start, end = int(vals["start"]), int(vals["end"])
    except ValueError:
        raise ValueError(
            f"{path}:{ln}: start/end {vals['start']!r}/{vals['end']!r} are not integers"
        ) from None
    if start < 0 or end <= start:
        raise ValueError(f"{path}:{ln}: need 0 <= start < end, got start {start}, end {end}")
    if end - start != n_bp:
        raise ValueError(
            f"{path}:{ln}: coordinates {chrom}:{start}-{end} span {end - start} bp but the "
            f"sequence has {n_bp} bp (BED-style: 0-based start, exclusive end)"
        )
    if vals["strand"] not in ("+", "-"):
        raise ValueError(f"{path}:{ln}: strand must be '+' or '-', got {vals['strand']!r}")
    if genome is not None:
        chrom = check_against_genome(seq, chrom, start, end, vals["strand"], genome, f"{path}:{ln}")
    return {"contig": chrom, "start": start, "end": end, "strand": vals["strand"]}


def _differences(a: str, b: str) -> list[int]:
    """Offsets where ``a`` and ``b`` differ, ignoring positions where either has ``N``."""
    return [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y and "N" not in (x, y)]


def check_against_genome(
    seq: str, chrom: str, start: int, end: int, strand: str, genome: Genome, where: str
) -> str:
    """Check that an imported row's sequence is the genome's at its coordinates.

    Parameters
    ----------
    seq : str
        The row's sequence (uppercase ACGTN), read on ``strand``.
    chrom, start, end, strand
        BED-style coordinates (0-based start, exclusive end).
    genome : Genome
        The task's prepared genome.
    where : str
        ``<file>:<line>`` for errors.

    Returns
    -------
    contig : str
        The genome's own name for ``chrom``.

    Raises
    ------
    ValueError
        ``"<where>: ..."`` when ``chrom`` is not in the genome, the region leaves its contig, or
        a base other than ``N`` differs (with the count, the first offset and a hint when the
        row matches one base to either side).
    """
    contig = genome.canonical(chrom)
    if contig is None:
        raise ValueError(
            f"{where}: chrom {chrom!r} is not a contig of the genome {genome.path} "
            "(nor an alias in its contigs.tsv)"
        )
    if not genome.within(contig, start, end):
        raise ValueError(
            f"{where}: {chrom}:{start}-{end} leaves contig {contig!r} "
            f"(length {genome.sizes[contig]})"
        )
    ref = genome.fetch(contig, start, end, strand)
    diff = _differences(seq, ref)
    if not diff:
        return contig
    hint = ""
    for shift in (-1, 1):
        a, b = start + shift, end + shift
        if genome.within(contig, a, b) and not _differences(seq, genome.fetch(contig, a, b, strand)):
            hint = (f"; it matches at {chrom}:{a}-{b}, so the start looks "
                    f"{'1-based (BED needs 0-based)' if shift == -1 else 'off by one'}")  # fmt: skip
            break
    i = diff[0]
    raise ValueError(
        f"{where}: sequence differs from the genome at {chrom}:{start}-{end}({strand}) in "
        f"{len(diff)} of {len(seq)} bases, first at offset {i} (row {seq[i]!r}, genome "
        f"{ref[i]!r}){hint}; check the assembly and the coordinates"
    )


def _split_row(s: str) -> tuple[str, str]:
    if "\t" in s:
        kmers, _, lab = s.rpartition("\t")
    else:
        kmers, _, lab = s.strip().rpartition(" ")
    return kmers, lab


def read_dnabert_tsv(
    path: str | Path,
    label_set: Iterable[int] | None = None,
    k: int = 6,
    genome: Genome | None = None,
) -> list[Example]:
    """Read a DNABERT fine-tune TSV; k-mers are re-joined with :func:`dnalm.kmers.kmer2seq`.

    Parameters
    ----------
    path : str or pathlib.Path
    label_set : iterable of int, optional
        Allowed labels. Default is None (binary, ``{0, 1}``).
    k : int, optional
        Shortest allowed sequence (bp). Default is 6.
    genome : Genome, optional
        Check rows with coordinates against it (:func:`check_against_genome`). Default is None.

    Returns
    -------
    examples : list of Example

    Raises
    ------
    ValueError
        ``"<path>:<line>: ..."`` when line 1 is a data row instead of a header, k-mers do not
        overlap, a label is not an integer of ``label_set``, or a sequence is not ACGTN,
        shorter than ``k`` or all N, or a row has more than two columns (without coordinate
        columns); ``"<path>: ..."`` for an empty file or one without data rows.
    """
    rules = _rules(label_set, k)
    out: list[Example] = []
    name = Path(path).name
    with open_text(path) as fh:
        header = fh.readline().rstrip("\r\n")
        if not header.strip():
            raise ValueError(f"{path}:1: expected a header line (e.g. 'sequence<TAB>label')")
        if _INT.fullmatch(_split_row(header)[1].strip()):
            raise ValueError(
                f"{path}:1: line 1 is a data row, not a header; DNABERT TSVs start with a header "
                "line (e.g. 'sequence<TAB>label'), add one"
            )
        cols = _coord_columns(header.split("\t"), path)
        if cols is not None:
            names = [h.strip().lower() for h in header.split("\t")]
            i_seq = names.index("sequence") if "sequence" in names else 0
            i_lab = names.index("label") if "label" in names else 1
        for ln, line in enumerate(fh, 2):
            s = line.rstrip("\r\n")
            if not s.strip():
                continue
            fields = s.split("\t")
            if cols is None and len(fields) > 2:
                raise ValueError(f"{path}:{ln}: expected 2 tab-separated columns (k-mers, label), "
                                 f"got {len(fields)}")
            if cols is None:
                kmers, lab = _split_row(s)
            elif len(fields) <= max(i_seq, i_lab):
                raise ValueError(f"{path}:{ln}: expected {len(names)} tab-separated fields")
            else:
                kmers, lab = fields[i_seq], fields[i_lab]
            if not kmers.strip():
                raise ValueError(f"{path}:{ln}: expected '<k-mers><TAB><label>'")
            try:
                seq = kmer2seq(kmers.upper())
            except ValueError as e:
                raise ValueError(f"{path}:{ln}: {e}") from None
            seq = _seq(seq, path, ln, rules)
            out.append(
                Example(
                    seq,
                    _label(lab, path, ln, rules),
                    source_id=f"{name}:{ln}",
                    **_coords(fields, cols, seq, path, ln, genome),
                )
            )
    if not out:
        raise ValueError(f"{path}: no data rows after the header")
    return out


def _read_csv(path: Path, rules: _Rules, genome: Genome | None = None) -> list[Example]:
    out: list[Example] = []
    with open_text(path) as fh:
        rows = csv.reader(fh)
        header = next(rows, None)
        if header is None or [h.strip().lower() for h in header[:2]] != ["sequence", "label"]:
            raise ValueError(f"{path}:1: header must be 'sequence,label', got {header}")
        cols = _coord_columns(header, path)
        for ln, row in enumerate(rows, 2):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2:
                raise ValueError(f"{path}:{ln}: expected 'sequence,label'")
            seq = _seq(row[0], path, ln, rules)
            out.append(
                Example(
                    seq,
                    _label(row[1], path, ln, rules),
                    source_id=f"{path.name}:{ln}",
                    **_coords(row, cols, seq, path, ln, genome),
                )
            )
    return out


def read_gue_csv(
    folder: str | Path,
    label_set: Iterable[int] | None = None,
    k: int = 6,
    genome: Genome | None = None,
) -> dict[str, list[Example]]:
    """Read a GUE task folder: {"train": [...], "dev": [...], "test": [...]}.

    Rows are checked as in :func:`read_dnabert_tsv` (``label_set``, ``k``); the header must be
    ``sequence,label``. With ``genome``, rows with coordinates are checked against it.
    """
    rules = _rules(label_set, k)
    folder = Path(folder)
    out = {}
    for split in ("train", "dev", "test"):
        p = folder / f"{split}.csv"
        if not p.exists():
            raise ValueError(f"{folder}: missing {split}.csv (gue_csv needs train/dev/test.csv)")
        out[split] = _read_csv(p, rules, genome)
    return out


def read_fasta_labels(
    fasta: str | Path,
    labels: str | Path,
    label_set: Iterable[int] | None = None,
    k: int = 6,
    genome: Genome | None = None,
) -> list[Example]:
    """FASTA records labelled by a table of ``id<TAB or comma>label``.

    The table's line 1 is a header exactly when its label field is not an integer. Labels are
    checked against ``label_set`` (errors name the table's line), sequences as in
    :func:`read_dnabert_tsv` (errors name the record's ``>`` line in ``fasta``). With
    ``genome``, rows with coordinates are checked against it (errors name the table's line).
    """
    rules = _rules(label_set, k)
    table: dict[str, int] = {}
    rows: dict[str, tuple[list[str], int]] = {}
    cols: dict[str, int] | None = None
    with open_text(labels) as fh:
        for ln, line in enumerate(fh, 1):
            s = line.rstrip("\r\n")
            if not s.strip() or s.startswith("#"):
                continue
            f = re.split(r"[\t,]", s)
            if len(f) < 2:
                raise ValueError(f"{labels}:{ln}: expected 'id<TAB>label'")
            if ln == 1 and not _INT.fullmatch(f[1].strip()):
                cols = _coord_columns(f, labels)
                continue  # header
            if f[0].strip() in table:
                raise ValueError(f"{labels}:{ln}: duplicate id {f[0]!r}")
            table[f[0].strip()] = _label(f[1], labels, ln, rules)
            rows[f[0].strip()] = (f, ln)
    out: list[Example] = []
    used: set[str] = set()
    for rec in fasta_records(fasta):
        if rec.id not in table:
            raise ValueError(f"{fasta}:{rec.line}: record {rec.id!r} has no label in {labels}")
        used.add(rec.id)
        seq = _seq("".join(s for _, s in rec.lines), fasta, rec.line, rules)
        fields, ln = rows[rec.id]
        out.append(Example(seq, table[rec.id], source_id=rec.id,
                           **_coords(fields, cols, seq, labels, ln, genome)))
    missing = sorted(set(table) - used)
    if missing:
        raise ValueError(f"{labels}: {len(missing)} ids not in {fasta}, e.g. {missing[0]!r}")
    return out


def require_coordinates(examples: Iterable[Example], task: str, genome: str | None) -> int:
    """Count the rows with coordinates; with a ``genome``, every row must have them.

    Raises
    ------
    ValueError
        Naming the first row without coordinates (its ``source_id``, ``<file>:<line>`` or the
        FASTA record id) when ``tasks.<task>.genome`` is set.
    """
    n = 0
    for ex in examples:
        if ex.start is not None:
            n += 1
        elif genome is not None:
            raise ValueError(
                f"{ex.source_id}: row has no chrom/start/end/strand, but `tasks.{task}.genome` "
                f"is {genome!r} (an imported task on a genome needs coordinates on every row)"
            )
    return n


def import_examples(
    fmt: str,
    path: str | Path,
    labels: str | Path | None = None,
    label_set: Iterable[int] | None = None,
    k: int = 6,
    genome: Genome | None = None,
) -> tuple[list[Example] | dict[str, list[Example]], list[Path]]:
    """Read an imported dataset.

    Parameters
    ----------
    fmt : str
        One of :data:`FORMATS`.
    path : str or pathlib.Path
        File or folder (see the module docstring).
    labels : str or pathlib.Path, optional
        ``fasta_labels``: the label table. Default is None.
    label_set : iterable of int, optional
        ``tasks.<t>.label_set``. Default is None (binary, ``{0, 1}``).
    k : int, optional
        ``tasks.<t>.k``: shorter sequences are refused. Default is 6.
    genome : Genome, optional
        The task's genome (``tasks.<t>.genome``): rows with coordinates must match it
        (:func:`check_against_genome`). Default is None.

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
            data = {f.stem: read_dnabert_tsv(f, label_set, k, genome) for f in files}
            if set(data) == {"train", "dev", "test"}:
                return data, files
            return [ex for f in files for ex in data[f.stem]], files
        return read_dnabert_tsv(path, label_set, k, genome), [path]
    if fmt == "gue_csv":
        return read_gue_csv(path, label_set, k, genome), [
            path / f"{s}.csv" for s in ("train", "dev", "test")
        ]
    if fmt == "fasta_labels":
        if labels is None:
            raise ValueError("format fasta_labels needs `labels` (a label table)")
        return read_fasta_labels(path, labels, label_set, k, genome), [path, Path(labels)]
    raise ValueError(f"`format` must be one of {FORMATS}, got {fmt!r}")


def write_bed(splits: Mapping[str, str | Path], out: str | Path) -> int:
    """Write the rows with coordinates of a task's split TSVs as a sorted BED6 file.

    Parameters
    ----------
    splits : mapping of split -> path
        ``train``, ``dev``, ``test`` split TSVs (:func:`dnalm.dataset.write_split` format).
    out : str or pathlib.Path
        BED file: ``chrom start end <split>|<label>|<source_id> 0 strand``, sorted by
        chrom, start, end, name; rows without coordinates are left out (an empty file when no
        row has them).

    Returns
    -------
    n : int
        Rows written.
    """
    rows: list[tuple[str, int, int, str, str]] = []
    for split, path in splits.items():
        df = read_split(path)
        if "contig" not in df.columns:
            continue
        for r in df.itertuples(index=False):
            if str(r.contig) in (".", "", "nan") or str(r.start) in (".", "", "nan"):
                continue
            name = f"{split}|{r.label}|{r.source_id}".replace(" ", "_")
            rows.append((str(r.contig), int(r.start), int(r.end), name, str(r.strand)))
    rows.sort()
    text = "".join(f"{c}\t{a}\t{b}\t{n}\t0\t{st}\n" for c, a, b, n, st in rows)
    atomic.write_text(out, text)
    return len(rows)
