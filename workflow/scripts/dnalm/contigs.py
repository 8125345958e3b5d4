"""Contig naming: one table mapping UCSC (``chr1``), Ensembl (``1``) and RefSeq (``NC_000001.11``) names.

The genome's own FASTA names are canonical. ``build_contig_table`` derives the other spellings,
from an NCBI assembly report when one is given (RefSeq names are only ever taken from a report,
never formatted by hand), else by the two safe rules ``chrN <-> N`` and ``chrM <-> MT``.
``ContigMap`` loads ``contigs.tsv`` and renames annotation contigs (BED, GTF, narrowPeak, VCF)
to the genome's names through a single alias dictionary.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from dnalm import atomic
from dnalm.textio import open_text

log = logging.getLogger(__name__)

MISSING = "."
TSV_COLUMNS = ("name", "length", "ucsc", "ensembl", "refseq", "aliases")

# Report column names (NCBI) -> AssemblyRow fields.
_REPORT_COLUMNS = {
    "Sequence-Name": "sequence_name",
    "Sequence-Role": "role",
    "Assigned-Molecule": "assigned_molecule",
    "GenBank-Accn": "genbank",
    "RefSeq-Accn": "refseq",
    "Sequence-Length": "length",
    "UCSC-style-name": "ucsc",
}
_UCSC_NUCLEAR = re.compile(r"chr([0-9]+|[XYZW])")
_ENSEMBL_NUCLEAR = re.compile(r"[0-9]+|[XYZW]")


class AssemblyRow(NamedTuple):
    """One sequence of an NCBI assembly report (``None`` where the report says ``na``)."""

    sequence_name: str
    role: str
    assigned_molecule: str | None
    genbank: str | None
    refseq: str | None
    length: int | None
    ucsc: str
    where: str = ""  # "<report>:<line>", for messages


class ContigRecord(NamedTuple):
    """One row of ``contigs.tsv``; ``None`` marks a spelling that is unknown."""

    name: str
    length: int
    ucsc: str | None
    ensembl: str | None
    refseq: str | None
    aliases: tuple[str, ...]


def _na(value: str) -> str | None:
    value = value.strip()
    return None if value in ("", "na", "NA") else value


def parse_assembly_report(path: str | os.PathLike) -> list[AssemblyRow]:
    """Read an NCBI ``*_assembly_report.txt``.

    The column line is the last line starting with ``#``; ``\\r`` is stripped; rows whose
    UCSC-style name is ``na`` (patches, alt loci missing from UCSC) are dropped.

    Parameters
    ----------
    path : str or os.PathLike
        The report (plain or gzip text).

    Returns
    -------
    rows : list of AssemblyRow, length=n_sequences_with_ucsc_name
        In file order.
    """
    path = Path(path)
    header: list[str] | None = None
    header_line = 0
    rows: list[AssemblyRow] = []
    idx: dict[str, int] = {}
    with open_text(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.rstrip("\r\n").replace("\r", "")
            if not line.strip():
                continue
            if line.startswith("#"):
                if rows:
                    raise ValueError(f"{path}:{lineno}: '#' line after the first data row")
                header = [c.strip() for c in line.lstrip("#").strip().split("\t")]
                header_line = lineno
                continue
            if header is None:
                raise ValueError(f"{path}:{lineno}: data before the '#' column line")
            if not idx:
                missing = [c for c in _REPORT_COLUMNS if c not in header]
                if missing:
                    raise ValueError(
                        f"{path}:{header_line}: assembly report column line lacks {missing} "
                        f"(got {header})"
                    )
                idx = {field: header.index(col) for col, field in _REPORT_COLUMNS.items()}
            fields = line.split("\t")
            if len(fields) != len(header):
                raise ValueError(
                    f"{path}:{lineno}: expected {len(header)} tab-separated fields, got {len(fields)}"
                )
            ucsc = _na(fields[idx["ucsc"]])
            if ucsc is None:
                continue
            length_s = _na(fields[idx["length"]])
            try:
                length = None if length_s is None else int(length_s)
            except ValueError:
                raise ValueError(
                    f"{path}:{lineno}: Sequence-Length is not an integer: {length_s!r}"
                ) from None
            name = fields[idx["sequence_name"]].strip()
            if not name:
                raise ValueError(f"{path}:{lineno}: empty Sequence-Name")
            rows.append(
                AssemblyRow(
                    sequence_name=name,
                    role=fields[idx["role"]].strip(),
                    assigned_molecule=_na(fields[idx["assigned_molecule"]]),
                    genbank=_na(fields[idx["genbank"]]),
                    refseq=_na(fields[idx["refseq"]]),
                    length=length,
                    ucsc=ucsc,
                    where=f"{path}:{lineno}",
                )
            )
    if header is None:
        raise ValueError(f"{path}: no '#' column line; is this an NCBI assembly report?")
    if not rows:
        raise ValueError(f"{path}: no sequences with a UCSC-style name")
    return rows


def _derived_names(name: str) -> tuple[str | None, str | None]:
    """(ucsc, ensembl) spelling of a name by the chrN <-> N and chrM <-> MT rules only."""
    if name in ("chrM", "MT"):
        return "chrM", "MT"
    if _UCSC_NUCLEAR.fullmatch(name):
        return name, name[3:]
    if _ENSEMBL_NUCLEAR.fullmatch(name):
        return "chr" + name, name
    return None, None


def _row_names(row: AssemblyRow) -> tuple[str | None, str | None, str | None, list[str]]:
    """(ucsc, ensembl, refseq, every spelling) of a report row.

    Ensembl names assembled molecules by their Sequence-Name (``1``, ``MT``) and scaffolds by
    their GenBank accession (``KI270728.1``).
    """
    ensembl = row.sequence_name if row.role == "assembled-molecule" else row.genbank
    spellings = [row.ucsc, row.sequence_name, row.genbank, row.refseq, ensembl]
    return row.ucsc, ensembl, row.refseq, [s for s in spellings if s]


def build_contig_table(
    fasta_names_lengths: Iterable[tuple[str, int]],
    report_rows: Sequence[AssemblyRow] | None = None,
) -> list[ContigRecord]:
    """Give every kept FASTA contig its UCSC, Ensembl and RefSeq spellings.

    Parameters
    ----------
    fasta_names_lengths : iterable of (str, int), length=n_contigs
        The genome's contig names (FASTA order) and lengths.
    report_rows : sequence of AssemblyRow, optional
        From ``parse_assembly_report``. A contig is found in the report under any of its
        spellings; a contig missing from the report falls back to the derived rules (with a
        warning). Default is None: derive ``chrN <-> N`` and ``chrM <-> MT`` only.

    Returns
    -------
    table : list of ContigRecord, length=n_contigs
        ``aliases`` holds every other spelling mapping to the contig.

    Raises
    ------
    ValueError
        When a report length disagrees with the FASTA length, or one spelling would map to two
        contigs.
    """
    by_spelling: dict[str, AssemblyRow] = {}
    for row in report_rows or ():
        for s in _row_names(row)[3]:
            by_spelling.setdefault(s, row)
    table: list[ContigRecord] = []
    owner: dict[str, str] = {}
    not_in_report: list[str] = []
    for name, length in fasta_names_lengths:
        row = by_spelling.get(name)
        if row is not None:
            if row.length is not None and row.length != length:
                raise ValueError(
                    f"{row.where + ': ' if row.where else ''}contig {name!r}: FASTA length {length} "
                    f"but the assembly report says {row.length} ({row.sequence_name}); the report "
                    "belongs to another assembly"
                )
            ucsc, ensembl, refseq, spellings = _row_names(row)
        else:
            if report_rows:
                not_in_report.append(name)
            ucsc, ensembl = _derived_names(name)
            refseq = None
            spellings = [s for s in (ucsc, ensembl) if s]
        if name in owner:
            raise ValueError(f"contig {name!r} appears twice (also a spelling of {owner[name]!r})")
        owner[name] = name
        aliases: list[str] = []
        for s in spellings:
            if s == name or s in aliases:
                continue
            if s in owner and owner[s] != name:
                at = f"{row.where}: " if row is not None and row.where else ""
                raise ValueError(f"{at}contig name {s!r} would map to both {owner[s]!r} and {name!r}")
            owner[s] = name
            aliases.append(s)
        table.append(ContigRecord(name, int(length), ucsc, ensembl, refseq, tuple(aliases)))
    if not_in_report:
        log.warning(
            "%d contig(s) not in the assembly report, names derived by rule: %s",
            len(not_in_report),
            ", ".join(not_in_report[:10]) + (" ..." if len(not_in_report) > 10 else ""),
        )
    return table


def write_contig_table(table: Sequence[ContigRecord], path: str | os.PathLike) -> Path:
    """Write ``contigs.tsv`` (header ``name length ucsc ensembl refseq aliases``; unknown = ``.``)."""
    lines = ["\t".join(TSV_COLUMNS) + "\n"]
    for r in table:
        cells = [r.name, str(r.length), r.ucsc, r.ensembl, r.refseq, ",".join(r.aliases)]
        lines.append("\t".join(c if c else MISSING for c in cells) + "\n")
    return atomic.write_text(path, "".join(lines))


def write_renamed(
    src: str | os.PathLike,
    out: str | os.PathLike,
    canonical: Callable[[str], str | None],
    fields: Callable[[str, int], list[str] | None],
) -> dict[str, int]:
    """Stream a tab-separated annotation to ``out`` (deterministic gzip), renaming column 1.

    Parameters
    ----------
    src, out : str or os.PathLike
        Source (plain or gzip text, read through :func:`dnalm.textio.open_text`) and
        destination, written atomically: on any error nothing is left at ``out``.
    canonical : callable
        Source contig name -> the genome's name, or None when the genome lacks it (the line
        keeps its name and is counted as ``unknown_contig``).
    fields : callable
        ``(line, line_number) -> columns`` for a record, None for a line copied unchanged
        (headers, comments); raises ``ValueError`` naming ``path:line`` for a bad record.

    Returns
    -------
    stats : dict
        ``lines`` (records), ``renamed``, ``unknown_contig``.
    """
    stats = {"lines": 0, "renamed": 0, "unknown_contig": 0}
    with atomic.open_gzip(out) as gz, open_text(src) as fh:
        for ln, line in enumerate(fh, 1):
            f = fields(line, ln)
            if f is None:
                gz.write((line.rstrip("\r\n") + "\n").encode())
                continue
            stats["lines"] += 1
            g = canonical(f[0])
            if g is None:
                stats["unknown_contig"] += 1
            elif g != f[0]:
                stats["renamed"] += 1
                f[0] = g
            gz.write(("\t".join(f) + "\n").encode())
    return stats


class ContigMap:
    """Rename contigs from any known spelling to the genome's own names.

    Parameters
    ----------
    table : sequence of ContigRecord
        As built by ``build_contig_table`` or read by ``ContigMap.from_tsv``.
    source : str, optional
        Where the table came from (for error messages). Default is ``"contig table"``.
    """

    def __init__(self, table: Sequence[ContigRecord], source: str = "contig table") -> None:
        self.source = source
        self._names = [r.name for r in table]
        self._lengths = {r.name: r.length for r in table}
        self._alias: dict[str, str] = {}
        for r in table:
            for s in (r.name, r.ucsc, r.ensembl, r.refseq, *r.aliases):
                if not s:
                    continue
                prev = self._alias.setdefault(s, r.name)
                if prev != r.name:
                    raise ValueError(f"{source}: name {s!r} maps to both {prev!r} and {r.name!r}")

    @classmethod
    def from_tsv(cls, path: str | os.PathLike) -> ContigMap:
        """Load ``contigs.tsv`` (as written by ``dnalm.genome.prepare_genome``)."""
        path = Path(path)
        table: list[ContigRecord] = []
        with open_text(path) as fh:
            header = fh.readline().rstrip("\r\n").split("\t")
            if tuple(header) != TSV_COLUMNS:
                want = "\t".join(TSV_COLUMNS)
                raise ValueError(f"{path}:1: expected header {want!r}, got {header}")
            for lineno, line in enumerate(fh, 2):
                f = line.rstrip("\r\n").split("\t")
                if f == [""]:
                    continue
                if len(f) != len(TSV_COLUMNS):
                    raise ValueError(
                        f"{path}:{lineno}: expected 6 tab-separated fields, got {len(f)}"
                    )
                try:
                    length = int(f[1])
                except ValueError:
                    raise ValueError(
                        f"{path}:{lineno}: length {f[1]!r} is not an integer"
                    ) from None
                opt = [None if v == MISSING else v for v in f[2:5]]
                aliases = tuple(a for a in f[5].split(",") if a and a != MISSING)
                table.append(ContigRecord(f[0], length, *opt, aliases))
        return cls(table, source=str(path))

    @property
    def names(self) -> list[str]:
        """The genome's contig names, FASTA order."""
        return list(self._names)

    @property
    def lengths(self) -> dict[str, int]:
        """Contig name -> length (bp)."""
        return dict(self._lengths)

    def __contains__(self, name: object) -> bool:
        return name in self._alias

    def __len__(self) -> int:
        return len(self._names)

    def canonical(self, name: str) -> str | None:
        """The genome's name for any spelling of a kept contig, else None."""
        return self._alias.get(name)

    def rename_or_raise(self, name: str, where: str) -> str:
        """Like ``canonical`` but raise ``ValueError(f"{where}: ...")`` for an unknown contig.

        Parameters
        ----------
        name : str
            Contig name as found in an annotation file.
        where : str
            Context for the message, e.g. ``"peaks.bed:17"``.
        """
        out = self._alias.get(name)
        if out is None:
            shown = ", ".join(self._names[:8]) + (" ..." if len(self._names) > 8 else "")
            raise ValueError(
                f"{where}: contig {name!r} is not in the genome ({self.source}: {shown})"
            )
        return out


def prefix_resolver(sizes: Mapping[str, int]) -> Callable[[str], str | None]:
    """``name -> contig of sizes`` trying the name as written, with a ``chr`` prefix added or
    removed, and ``MT``/``chrM`` swapped (how user files name contigs); None when none is in
    ``sizes``. ``dnalm score-variants``, ``predict --bed`` and ``scan --regions`` share it."""
    cache: dict[str, str | None] = {}

    def resolve(name: str) -> str | None:
        if name not in cache:
            cands = [name, f"chr{name}", name[3:] if name.startswith("chr") else name]
            if name in ("MT", "chrMT"):
                cands.append("chrM")
            if name in ("chrM", "M"):
                cands.append("MT")
            cache[name] = next((c for c in cands if c in sizes), None)
        return cache[name]

    return resolve
