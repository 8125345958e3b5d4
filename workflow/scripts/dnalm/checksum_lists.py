"""Publishers' checksum lists: one file's digest, looked up where the publisher lists it.

Many archives publish digests beside their files rather than in a place a config can quote ahead
of the first download: GENCODE's ``MD5SUMS``, NCBI's ``<file>.md5`` and ``md5checksums.txt``,
UCSC's ``md5sum.txt``, the ``md5sum=`` field of an ENCODE ``files.txt``, the 1000 Genomes
``MANIFEST.txt``. A source entry names such a list with ``checksums_url``;
:func:`dnalm.fetch.listed_digest` reads it and finds the file's digest here
(:func:`find_digest`), and :func:`dnalm.fetch.fetch_source` verifies it like a pinned one.

Line formats read (blank lines and ``#`` comments are skipped):

- ``<hex>  <name>`` or ``<hex> *<name>`` (``md5sum``/``sha256sum`` output; ``./`` prefixes allowed);
- ``MD5(<name>)= <hex>``, ``MD5 (<name>) = <hex>``, ``SHA256 (<name>) = <hex>`` (OpenSSL / BSD);
- ``<name>\\t<key>=<value>; ...`` with an ``md5sum=`` key (UCSC ``files.txt``);
- ``<name>\\t...\\t<hex>``, tab-separated with the digest last (a 1000 Genomes ``MANIFEST.txt``:
  name, size, md5);
- a lone ``<hex>`` when it is the list's only line (a per-file ``.md5``).

32 hex digits are an MD5, 64 a SHA-256; an OpenSSL/BSD line whose tag disagrees with its digest's
length is refused. An entry matches when the URL's path ends with its name.
A list with no entry for the file, or two different digests for it, is an error naming the list;
a line that is none of the above is an error naming ``list:line``.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

__all__ = ["Listed", "files_txt_fields", "find_digest"]

_HEX = re.compile(r"^[0-9a-fA-F]+$")
_PLAIN = re.compile(r"^([0-9a-fA-F]{32}|[0-9a-fA-F]{64})[ \t]+\*?(\S.*?)\s*$")
_BSD = re.compile(r"^(MD5|SHA256|SHA2-256)\s*\((.+)\)\s*=\s*([0-9a-fA-F]+)\s*$", re.IGNORECASE)
_ALGO_BY_LEN = {32: "md5", 64: "sha256"}


@dataclass(frozen=True)
class Listed:
    """A digest found in a checksum list."""

    algo: str  #: "md5" or "sha256"
    digest: str  #: lower-case hex
    where: str  #: ``<list>:<line>``


def files_txt_fields(line: str, where: str) -> tuple[str, dict[str, str]]:
    """Split a UCSC ``files.txt`` line into its file name and ``key=value`` attributes.

    Raises ``ValueError`` naming ``where`` (``file:line``) when the line is not
    ``<file>\\t<key=value; ...>``.
    """
    name, tab, rest = line.partition("\t")
    if not tab or not name.strip():
        raise ValueError(f"{where}: expected `<file>\\t<key=value; ...>`, got {line[:80]!r}")
    attrs: dict[str, str] = {}
    for pair in rest.strip().rstrip(";").split("; "):
        key, eq, val = pair.strip().partition("=")
        if not eq or not key.strip():
            raise ValueError(f"{where}: `{pair}` is not a key=value pair")
        attrs[key.strip()] = val.strip()
    return name.strip(), attrs


def target_path(url: str) -> str:
    """The path part of ``url`` (unquoted, no query) that list entries are matched against."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path if parts.scheme else url
    return urllib.parse.unquote(path.split("?")[0])


def _matches(target: str, name: str) -> bool:
    name = name.strip()
    while name.startswith("./"):
        name = name[2:]
    if not name:
        return False
    return target == name or target.endswith("/" + name)


def _entry(line: str, where: str) -> tuple[str | None, str]:
    """(name, hex) of one list line; name None for a lone digest."""
    m = _PLAIN.match(line)
    if m:
        return m.group(2), m.group(1)
    m = _BSD.match(line)
    if m:
        tag, digest = m.group(1).upper(), m.group(3)
        want = 32 if tag == "MD5" else 64
        if len(digest) != want:
            raise ValueError(
                f"{where}: the {tag} tag does not fit a {len(digest)}-digit digest: {line[:80]!r}"
            )
        return m.group(2), digest
    if "\t" in line and "=" in line.partition("\t")[2]:
        name, attrs = files_txt_fields(line, where)
        return name, attrs.get("md5sum", "")
    cells = line.split("\t")
    last = cells[-1].strip()
    if len(cells) >= 2 and cells[0].strip() and _HEX.match(last) and len(last) in _ALGO_BY_LEN:
        return cells[0].strip(), last
    token = line.strip()
    if _HEX.match(token) and len(token) in _ALGO_BY_LEN:
        return None, token
    raise ValueError(
        f"{where}: not a checksum line (`<hex>  <name>`, `MD5(<name>)= <hex>`, a files.txt "
        f"`<name>\\t...md5sum=<hex>` or `<name>\\t...\\t<hex>`): {line[:80]!r}"
    )


def find_digest(lines: Iterable[str], url: str, list_name: str) -> Listed:
    """The digest that a checksum list gives for the file at ``url``.

    Parameters
    ----------
    lines : iterable of str
        The list's text lines.
    url : str
        The URL (or path) of the file being fetched.
    list_name : str
        How errors name the list (its URL).

    Raises
    ------
    ValueError
        A malformed line (``list:line``), a matching entry whose digest is not 32 or 64 hex
        digits, no entry for the file, or two different digests for it.
    """
    target = target_path(url)
    found: list[Listed] = []
    lone: list[Listed] = []
    n_lines = 0
    for ln, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        n_lines += 1
        where = f"{list_name}:{ln}"
        name, digest = _entry(line, where)
        if name is not None and not _matches(target, name):
            continue
        algo = _ALGO_BY_LEN.get(len(digest)) if _HEX.match(digest or "") else None
        if algo is None:
            raise ValueError(
                f"{where}: the digest {digest!r} for {name} is not 32 or 64 hex digits"
            )
        hit = Listed(algo, digest.lower(), where)
        (lone if name is None else found).append(hit)
    if not found and len(lone) == 1 and n_lines == 1:
        found = lone
    elif lone and n_lines > 1:
        raise ValueError(
            f"{lone[0].where}: a digest without a file name in a list of {n_lines} lines"
        )
    if not found:
        raise ValueError(f"{list_name}: no checksum entry for {PurePosixPath(target).name} ({url})")
    by_algo: dict[str, Listed] = {}
    for hit in found:
        prev = by_algo.setdefault(hit.algo, hit)
        if prev.digest != hit.digest:
            raise ValueError(
                f"{list_name}: two {hit.algo} digests for {PurePosixPath(target).name}: "
                f"{prev.digest} ({prev.where}) and {hit.digest} ({hit.where})"
            )
    return by_algo.get("sha256") or by_algo["md5"]
