"""TF ChIP-seq collections: a published metadata table expanded into one tfbs task per experiment.

A collection (config ``collections.<name>``) names a metadata table that lists peak files with
their md5 and their cell, antibody and lab:

- ``ucsc_files_txt``: UCSC encodeDCC ``files.txt`` (e.g. hg19 ``wgEncodeAwgTfbsUniform``, the
  paper's 690 sets). One line per file, ``<file>\\t<key=value; key=value; ...>``; values may hold
  spaces, so pairs split on ``"; "`` and then on the first ``=``. Rows whose file is not a
  ``.narrowPeak.gz`` are skipped; the file is found under ``base_url`` (default: the table's own
  directory). Experiment id: the file name up to its first dot.
- ``encode_metadata_tsv``: an ENCODE portal ``metadata.tsv`` export (one header line, one row per
  file). Rows whose ``File format`` is not ``bed narrowPeak`` are skipped. Experiment id: the
  ``File accession``; antibody = ``Experiment target`` without its ``-mouse``/``-human`` suffix,
  cell = ``Biosample term name``, lab = ``Lab``.

:func:`build_manifest` (the checkpoint ``collection_manifest``) parses and filters the table into
``manifest.tsv``, one row per experiment: ``id url md5 cell antibody lab source`` (``source`` =
``<table>:<line>``). :func:`fetch_experiment` (rule ``collection_peaks``) downloads one listed
file, refuses it when its md5 differs from the table's (naming the table file and line), and
writes it with the genome's contig names. Task names are ``<collection>__<id>``.
"""

from __future__ import annotations

import csv
import functools
import logging
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from dnalm import atomic
from dnalm.checksum_lists import files_txt_fields
from dnalm.fetch import fetch
from dnalm.settings.model import KEY_PATTERN

log = logging.getLogger(__name__)

__all__ = [
    "SEP",
    "Experiment",
    "build_manifest",
    "fetch_experiment",
    "manifest_entry",
    "parse_table",
    "read_manifest",
    "split_task",
    "task_name",
]

#: Separates the collection from the experiment id in task names (collection names hold no ``__``).
SEP = "__"
FORMATS = ("ucsc_files_txt", "encode_metadata_tsv")
_KEY_RE = re.compile(KEY_PATTERN)
_MD5_RE = re.compile(r"^[0-9a-f]{32}$")
_ENCODE_COLUMNS = {
    "id": "File accession",
    "format": "File format",
    "md5": "md5sum",
    "url": "File download URL",
    "antibody": "Experiment target",
    "cell": "Biosample term name",
    "lab": "Lab",
}
_TARGET_SUFFIX = re.compile(r"-(mouse|human)$")


@dataclass(frozen=True)
class Experiment:
    """One peak file of a collection (a row of ``manifest.tsv``).

    ``source`` is ``<table file>:<line>``, the row it came from (named in every later error).
    """

    id: str
    url: str
    md5: str
    cell: str
    antibody: str
    lab: str
    source: str


MANIFEST_COLUMNS = tuple(f.name for f in fields(Experiment))


def task_name(collection: str, experiment: str) -> str:
    """The task of one experiment: ``<collection>__<experiment>``."""
    return f"{collection}{SEP}{experiment}"


def split_task(task: str) -> tuple[str, str] | None:
    """``(collection, experiment)`` of a collection task name, or None for any other task."""
    if SEP not in task:
        return None
    col, exp = task.split(SEP, 1)
    return col, exp


def _join(base: str, name: str) -> str:
    if re.match(r"^(https?://|ftp://|file:)", name):
        return name
    return base.rstrip("/") + "/" + name if base else name


def _base_of(table_url: str) -> str:
    """The directory of a table URL or path (where a files.txt's relative names live)."""
    head, _, _ = table_url.split("?")[0].rpartition("/")
    return head


def _ucsc_rows(path: Path, base_url: str) -> tuple[list[tuple[Experiment, dict[str, str]]], int]:
    rows, skipped = [], 0
    with open(path, encoding="utf-8") as fh:
        for ln, raw in enumerate(fh, 1):
            line = raw.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            name, attrs = files_txt_fields(line, f"{path}:{ln}")
            if not name.endswith(".narrowPeak.gz") and attrs.get("type") != "narrowPeak":
                skipped += 1
                continue
            md5 = attrs.get("md5sum", "").lower()
            if not _MD5_RE.match(md5):
                what = f"md5sum {attrs['md5sum']!r} is not 32 hex digits" if "md5sum" in attrs else "no md5sum"
                raise ValueError(f"{path}:{ln}: {name}: {what}")
            exp = Experiment(
                id=Path(name).name.split(".", 1)[0],
                url=_join(base_url, name),
                md5=md5,
                cell=attrs.get("cell", ""),
                antibody=attrs.get("antibody", ""),
                lab=attrs.get("lab", ""),
                source=f"{path}:{ln}",
            )
            rows.append((exp, attrs))
    return rows, skipped


def _encode_rows(path: Path) -> tuple[list[tuple[Experiment, dict[str, str]]], int]:
    rows, skipped = [], 0
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}:1: empty table (expected an ENCODE metadata.tsv header)")
        missing = [c for c in _ENCODE_COLUMNS.values() if c not in header]
        if missing:
            raise ValueError(f"{path}:1: not an ENCODE metadata.tsv header: missing column(s) {missing}")
        for ln, cells in enumerate(reader, 2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise ValueError(f"{path}:{ln}: {len(cells)} fields, the header has {len(header)}")
            row = dict(zip(header, cells, strict=True))
            if not row[_ENCODE_COLUMNS["format"]].startswith("bed narrowPeak"):
                skipped += 1
                continue
            acc = row[_ENCODE_COLUMNS["id"]].strip()
            md5 = row[_ENCODE_COLUMNS["md5"]].strip().lower()
            url = row[_ENCODE_COLUMNS["url"]].strip()
            if not _MD5_RE.match(md5):
                raise ValueError(f"{path}:{ln}: {acc}: md5sum {md5!r} is not 32 hex digits")
            if not re.match(r"^(https?://|ftp://)", url):
                raise ValueError(f"{path}:{ln}: {acc}: `File download URL` {url!r} is not an http(s)/ftp URL")
            exp = Experiment(
                id=acc,
                url=url,
                md5=md5,
                cell=row[_ENCODE_COLUMNS["cell"]].strip(),
                antibody=_TARGET_SUFFIX.sub("", row[_ENCODE_COLUMNS["antibody"]].strip()),
                lab=row[_ENCODE_COLUMNS["lab"]].strip(),
                source=f"{path}:{ln}",
            )
            rows.append((exp, row))
    return rows, skipped


def parse_table(
    table: str | Path,
    fmt: str = "ucsc_files_txt",
    base_url: str = "",
    filters: Mapping[str, Sequence[str]] | None = None,
    collection: str = "collection",
) -> tuple[list[Experiment], dict[str, int]]:
    """Parse and filter a metadata table into experiments (in table order).

    Parameters
    ----------
    table : str or Path
        The table file (``files.txt`` or ``metadata.tsv``).
    fmt : {"ucsc_files_txt", "encode_metadata_tsv"}, optional
        Default is ``"ucsc_files_txt"``.
    base_url : str, optional
        ucsc_files_txt: prefix of the listed file names. Default is "" (names used as they are).
    filters : mapping of str -> sequence of str, optional
        Keep rows whose field is one of the values; fields are ``antibody``, ``cell``, ``lab``
        or any field of the table. Default is None (every peak file).
    collection : str, optional
        The collection's name: task names ``<collection>__<id>`` must be valid keys, and errors
        about filters name ``collections.<collection>.filters``. Default is ``"collection"``.

    Returns
    -------
    experiments : list of Experiment
    stats : dict
        ``rows`` (peak files listed), ``skipped`` (other file types), ``kept``.

    Raises
    ------
    ValueError
        ``<table>:<line>: ...`` for a malformed row, a missing or bad md5, an experiment id that
        is not a safe task name, or an id listed twice; a filter field that no row has.
    """
    path = Path(table)
    if fmt == "ucsc_files_txt":
        rows, skipped = _ucsc_rows(path, base_url)
    elif fmt == "encode_metadata_tsv":
        rows, skipped = _encode_rows(path)
    else:
        raise ValueError(f"`fmt` must be one of {FORMATS}, got {fmt!r}")
    seen: dict[str, str] = {}
    for exp, _ in rows:
        name = task_name(collection, exp.id)
        if not _KEY_RE.match(name) or SEP in exp.id:
            raise ValueError(
                f"{exp.source}: experiment id {exp.id!r} does not make a valid task name {name!r} "
                f"(letters, digits, _ . -, no '{SEP}', at most 100 characters)"
            )
        if exp.id in seen:
            raise ValueError(f"{exp.source}: experiment {exp.id!r} is listed twice (first at {seen[exp.id]})")
        seen[exp.id] = exp.source
    kept = rows
    for key, values in (filters or {}).items():
        if rows and not any(key in asdict(e) or key in raw for e, raw in rows):
            raise ValueError(
                f"config key `collections.{collection}.filters.{key}`: no row of {path} has a "
                f"field {key!r}"
            )
        want = set(values)
        kept = [(e, raw) for e, raw in kept if (asdict(e).get(key, raw.get(key))) in want]
    stats = {"rows": len(rows), "skipped": skipped, "kept": len(kept)}
    return [e for e, _ in kept], stats


def build_manifest(
    table: str | Path,
    out: str | Path,
    fmt: str = "ucsc_files_txt",
    table_url: str | None = None,
    base_url: str | None = None,
    filters: Mapping[str, Sequence[str]] | None = None,
    collection: str = "collection",
) -> dict[str, int]:
    """Write ``manifest.tsv``: one row per experiment kept from a metadata table.

    Parameters
    ----------
    table : str or Path
        The fetched table.
    out : str or Path
        ``manifest.tsv`` (written atomically, only after every row passed its checks).
    fmt : {"ucsc_files_txt", "encode_metadata_tsv"}, optional
        Default is ``"ucsc_files_txt"``.
    table_url : str, optional
        Where the table came from (config ``collections.<c>.table.url``); its directory is the
        default ``base_url``. Default is None (the table file's own directory).
    base_url : str, optional
        Prefix of the file names of a ``files.txt``. Default is None (``table_url``'s directory).
    filters : mapping of str -> sequence of str, optional
        See :func:`parse_table`. Default is None.
    collection : str, optional
        Default is ``"collection"``.

    Returns
    -------
    stats : dict
        ``rows``, ``skipped``, ``kept``.

    Raises
    ------
    ValueError
        From :func:`parse_table`; also when no row is kept.
    """
    base = base_url if base_url is not None else _base_of(table_url or str(table))
    exps, stats = parse_table(table, fmt, base, filters, collection)
    if not exps:
        raise ValueError(
            f"{table}: no peak file left for collection {collection!r} "
            f"({stats['rows']} listed, filters {dict(filters or {})})"
        )
    with atomic.atomic_path(out) as part, open(part, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(MANIFEST_COLUMNS)
        for e in exps:
            w.writerow([getattr(e, c) for c in MANIFEST_COLUMNS])
    log.info("%s: %s", out, stats)
    return stats


def read_manifest(path: str | Path) -> list[Experiment]:
    """The experiments of a ``manifest.tsv`` (written by :func:`build_manifest`).

    Cached by path, size and mtime: Snakemake's input functions ask once per experiment.
    """
    st = Path(path).stat()
    return list(_read_manifest(str(path), st.st_size, st.st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _read_manifest(path_str: str, size: int, mtime_ns: int) -> tuple[Experiment, ...]:
    path = Path(path_str)
    with open(path, encoding="utf-8", newline="") as fh:
        lines = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not lines or tuple(lines[0]) != MANIFEST_COLUMNS:
        header = "\t".join(MANIFEST_COLUMNS)
        raise ValueError(f"{path}:1: expected the header {header!r}")
    out = []
    for ln, cells in enumerate(lines[1:], 2):
        if len(cells) != len(MANIFEST_COLUMNS):
            raise ValueError(f"{path}:{ln}: {len(cells)} fields, expected {len(MANIFEST_COLUMNS)}")
        out.append(Experiment(*cells))
    return tuple(out)


def manifest_entry(path: str | Path, experiment: str) -> Experiment:
    """The manifest row of one experiment (``ValueError`` naming the manifest when absent)."""
    st = Path(path).stat()
    found = _index(str(path), st.st_size, st.st_mtime_ns).get(experiment)
    if found is None:
        raise ValueError(f"{path}: no experiment {experiment!r}")
    return found


@functools.lru_cache(maxsize=8)
def _index(path_str: str, size: int, mtime_ns: int) -> dict[str, Experiment]:
    return {e.id: e for e in _read_manifest(path_str, size, mtime_ns)}


def fetch_experiment(
    manifest: str | Path,
    experiment: str,
    out: str | Path,
    fasta: str | Path,
    contigs: str | Path | None = None,
    timeout: float = 60,
) -> dict[str, Any]:
    """Download one experiment's peaks, verify the table's md5, write them with the genome's names.

    Parameters
    ----------
    manifest : str or Path
        The collection's ``manifest.tsv``.
    experiment : str
        Its ``id``.
    out : str or Path
        ``<id>.narrowPeak.gz`` (gzip, mtime 0; nothing is written on any error).
    fasta, contigs : str or Path
        The prepared genome and its ``contigs.tsv``.
    timeout : float, optional
        Socket timeout of the download in seconds. Default is 60.

    Returns
    -------
    stats : dict
        The normalisation counts of :func:`dnalm.tfbs.normalize_peaks`.

    Raises
    ------
    ValueError
        ``<table>:<line>: md5 mismatch ...`` when the downloaded bytes differ from the table's md5;
        a malformed narrowPeak (naming the file and line).
    """
    from dnalm import tfbs

    e = manifest_entry(manifest, experiment)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=Path(out).parent, prefix=".fetch_") as tmp:
        local = Path(tmp) / (Path(e.url.split("?")[0]).name or f"{e.id}.narrowPeak.gz")
        try:
            fetch(e.url, local, md5=e.md5, timeout=timeout, verbose=False)
        except ValueError as err:
            if "mismatch" not in str(err):
                raise
            raise ValueError(f"{e.source}: md5 mismatch for {e.id} ({e.url}): {err}") from None
        return tfbs.normalize_peaks(local, out, fasta, contigs)
