"""Fetch one source file (http(s)/ftp URL, ``file:`` URL or local path) atomically, with checksums.

Bytes stream to a temporary sibling of ``dest`` (:func:`dnalm.atomic.atomic_path`) while MD5 and
SHA-256 are computed; the size is checked against Content-Length, the checksums against the expected
values, and only then is the file moved into place. Any failure removes the partial file.

A remote body that can be verified neither by a checksum (``md5``/``sha256``) nor by its
Content-Length is refused before anything is written, unless the source opts in with
``checksum: none`` (then it is fetched and a WARNING is logged). :func:`fetch_source` takes a
config source entry ``{url, md5?, sha256?, checksums_url?, checksum?: "none"}``; a
``checksums_url`` names the publisher's checksum list, whose entry for the file
(:mod:`dnalm.checksum_lists`) is verified like a pinned digest.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from tqdm import tqdm

from dnalm import __version__, atomic
from dnalm.checksum_lists import Listed, find_digest

__all__ = ["fetch", "fetch_source", "listed_digest", "UNVERIFIED"]

log = logging.getLogger(__name__)

#: The ``checksum`` value by which a source opts in to an unverified download.
UNVERIFIED = "none"

REMOTE_SCHEMES = ("http", "https", "ftp")
CHUNK = 1 << 20
#: Largest checksum list read (UCSC's hg19 encodeDCC files.txt lists are a few MB).
LIST_LIMIT = 64 << 20


def _classify(url: str) -> tuple[str, str]:
    """("remote", url) or ("local", path); ``ValueError`` for any other scheme."""
    if not isinstance(url, str) or not url:
        raise ValueError(f"source URL must be a non-empty string, got {url!r}")
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in REMOTE_SCHEMES:
        if not parts.netloc:
            raise ValueError(f"URL {url!r} has no host")
        return "remote", url
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file URL {url!r} names a remote host {parts.netloc!r}")
        return "local", urllib.parse.unquote(parts.path)
    # A one-letter "scheme" is a Windows drive letter (C:\...), i.e. a plain path.
    if scheme == "" or (len(scheme) == 1 and os.name == "nt"):
        return "local", url
    raise ValueError(
        f"unsupported URL scheme {scheme!r} in {url!r}: use http://, https://, ftp://, "
        "file: or a plain path"
    )


def _open_remote(url: str, timeout: float) -> tuple[BinaryIO, int | None]:
    req = urllib.request.Request(url, headers={"User-Agent": f"dnalm/{__version__}"})
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 - scheme checked above
    except urllib.error.HTTPError as e:
        e.close()
        raise OSError(f"{url}: HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise OSError(f"{url}: cannot connect ({e.reason})") from None
    length = resp.headers.get("Content-Length") if resp.headers is not None else None
    try:
        size = int(length) if length is not None else None
    except ValueError:
        size = None
    return resp, size


def fetch(
    url: str,
    dest: str | os.PathLike,
    md5: str | None = None,
    sha256: str | None = None,
    timeout: float = 60,
    verbose: bool = True,
    checksum: str | None = None,
    digest_origin: Mapping[str, str] | None = None,
) -> Path:
    """Copy ``url`` to ``dest`` atomically, verifying size and checksums.

    Parameters
    ----------
    url : str
        ``http://``, ``https://`` or ``ftp://`` URL, ``file:`` URL, or a plain local path.
        Anything else (``s3://``, ``data:``, ...) raises ``ValueError``.
    dest : str or os.PathLike
        Destination file; its directory is created. Written via a temporary sibling + ``os.replace``.
    md5, sha256 : str, optional
        Expected hex digests (case-insensitive). Default is None (not checked; both are logged).
    timeout : float, optional
        Socket timeout in seconds for remote URLs. Default is 60.
    verbose : bool, optional
        Show a tqdm progress bar. Default is True.
    checksum : {None, "none"}, optional
        ``"none"`` accepts a remote body that has neither a checksum nor a Content-Length
        (logged as a WARNING); it contradicts ``md5``/``sha256``. Default is None (such a body
        is refused).
    digest_origin : mapping, optional
        ``{algo: where}`` for an expected digest that comes from a checksum list (its
        ``url:line``), named in a mismatch error. Default is None (all from the config).

    Returns
    -------
    dest : pathlib.Path

    Raises
    ------
    ValueError
        Disallowed scheme; checksum mismatch (naming the file, expected and actual digests);
        a remote body without checksum or Content-Length and no ``checksum="none"`` (naming
        the URL; nothing is written); a ``checksum`` other than None/"none".
    OSError
        HTTP error status (naming URL and status), connection failure, truncated transfer,
        missing local file.
    """
    kind, where = _classify(url)
    if checksum is not None and checksum != UNVERIFIED:
        raise ValueError(f"`checksum` must be None or {UNVERIFIED!r}, got {checksum!r}")
    if checksum == UNVERIFIED and (md5 or sha256):
        raise ValueError(f"{url}: `checksum: none` contradicts the md5/sha256 given")
    dest = Path(dest)
    h_md5, h_sha = hashlib.md5(), hashlib.sha256()
    n = 0
    if kind == "remote":
        src, expected = _open_remote(where, timeout)
        if expected is None and not (md5 or sha256):
            if checksum != UNVERIFIED:
                src.close()
                raise ValueError(
                    f"{url}: no md5/sha256 and the server sent no Content-Length, so the "
                    "download cannot be verified; add a checksum to the source's config "
                    "entry, or `checksum: none` to accept it unverified"
                )
            log.warning("%s: fetched unverified (no checksum, no Content-Length)", url)
        elif checksum == UNVERIFIED:
            log.warning("%s: fetched without a checksum (checksum: none)", url)
    else:
        if Path(where).resolve() == dest.resolve():
            raise ValueError(f"source {url!r} and destination {dest} are the same file")
        src = open(where, "rb")  # noqa: SIM115 - closed below
        expected = os.fstat(src.fileno()).st_size
    log.info("fetching %s -> %s (%s bytes)", url, dest, expected if expected else "unknown")
    with (
        src,
        atomic.atomic_path(dest) as part,
        open(part, "wb") as out,
        tqdm(
            total=expected,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=dest.name,
            disable=not verbose,
            mininterval=2.0,
        ) as bar,
    ):
        while True:
            try:
                chunk = src.read(CHUNK)
            except (http.client.IncompleteRead, TimeoutError, ConnectionError) as e:
                raise OSError(f"{url}: transfer interrupted after {n} bytes ({e!r})") from None
            if not chunk:
                break
            out.write(chunk)
            h_md5.update(chunk)
            h_sha.update(chunk)
            n += len(chunk)
            bar.update(len(chunk))
        out.flush()
        if expected is not None and n != expected:
            raise OSError(f"{url}: truncated transfer, got {n} of {expected} bytes")
        got = {"md5": h_md5.hexdigest(), "sha256": h_sha.hexdigest()}
        for algo, want in (("md5", md5), ("sha256", sha256)):
            if want and want.strip().lower() != got[algo]:
                at = (digest_origin or {}).get(algo)
                origin = f" (as listed at {at})" if at else ""
                raise ValueError(
                    f"{dest}: {algo} mismatch for {url}: expected {want.strip().lower()}{origin}, "
                    f"actual {got[algo]}"
                )
    log.info("fetched %s: %d bytes, md5 %s, sha256 %s", dest, n, got["md5"], got["sha256"])
    if kind == "remote" and not (md5 or sha256):  # Content-Length at most: say what to pin
        log.warning(
            "%s: not checked against a checksum; to pin what was fetched, add `sha256: %s` "
            "to its config entry",
            url,
            got["sha256"],
        )
    return dest


def _read_list(url: str, timeout: float) -> list[str]:
    """The text lines of a checksum list (at most :data:`LIST_LIMIT` bytes)."""
    kind, where = _classify(url)
    if kind == "remote":
        fh, _ = _open_remote(where, timeout)
    else:
        fh = open(where, "rb")  # noqa: SIM115 - closed below
    with fh:
        try:
            data = fh.read(LIST_LIMIT + 1)
        except (http.client.IncompleteRead, TimeoutError, ConnectionError) as e:
            raise OSError(f"{url}: transfer interrupted ({e!r})") from None
    if len(data) > LIST_LIMIT:
        raise ValueError(f"{url}: a checksum list larger than {LIST_LIMIT >> 20} MiB")
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise ValueError(f"{url}: a checksum list must be UTF-8 text ({e.reason} at byte {e.start})") from None


def listed_digest(src: Mapping[str, Any], timeout: float = 60) -> Listed | None:
    """The digest that ``src['checksums_url']`` lists for ``src['url']`` (None without a list).

    Raises
    ------
    ValueError
        The list has no entry, two entries or a malformed line for the file (named with
        ``list:line``); it contradicts ``checksum: none`` or the pinned md5/sha256.
    OSError
        The list cannot be read.
    """
    list_url = src.get("checksums_url")
    if not list_url:
        return None
    url = str(src["url"])
    if src.get("checksum") == UNVERIFIED:
        raise ValueError(f"{url}: `checksum: none` contradicts the checksums_url given")
    hit = find_digest(_read_list(str(list_url), timeout), url, str(list_url))
    pinned = src.get(hit.algo)
    if pinned and str(pinned).strip().lower() != hit.digest:
        raise ValueError(
            f"{url}: the config pins {hit.algo} {str(pinned).strip().lower()}, but {hit.where} "
            f"lists {hit.digest}"
        )
    log.info("%s: %s %s as listed at %s", url, hit.algo, hit.digest, hit.where)
    return hit


def fetch_source(
    src: Mapping[str, Any], dest: str | os.PathLike, timeout: float = 60, verbose: bool = True
) -> Path:
    """:func:`fetch` a config source entry ``{url, md5?, sha256?, checksums_url?, checksum?: "none"}``.

    A ``checksums_url`` is read first (:func:`listed_digest`); its digest for the file is then
    verified with any pinned one, and nothing is downloaded when the two disagree.

    Parameters
    ----------
    src : mapping
        The source's config entry.
    dest : str or os.PathLike
    timeout : float, optional
        Default is 60.
    verbose : bool, optional
        Default is True.

    Returns
    -------
    dest : pathlib.Path
    """
    digests = {"md5": src.get("md5"), "sha256": src.get("sha256")}
    hit = listed_digest(src, timeout)
    if hit is not None:
        digests[hit.algo] = hit.digest
    return fetch(
        src["url"],
        dest,
        md5=digests["md5"],
        sha256=digests["sha256"],
        timeout=timeout,
        verbose=verbose,
        checksum=src.get("checksum"),
        digest_origin={hit.algo: hit.where} if hit is not None else None,
    )


def local_path(url: str) -> str | None:
    """The local path of a ``file:`` URL or plain path; None for a remote URL."""
    kind, where = _classify(url)
    return where if kind == "local" else None


def obtain(src: Mapping[str, Any], tmp_dir: str | os.PathLike, default_name: str = "source") -> Path:
    """A readable local path for a config source: a local file without checksums is used in
    place; anything else is :func:`fetch_source`-ed (and verified) into ``tmp_dir``."""
    if not src or "url" not in src:
        raise ValueError(f"source entry needs a `url` key, got {dict(src or {})!r}")
    url = str(src["url"])
    path = local_path(url)
    if path is not None and not any(src.get(k) for k in ("md5", "sha256", "checksums_url")):
        return Path(path)
    name = Path(url.split("?")[0].rstrip("/")).name or default_name
    return fetch_source(src, Path(tmp_dir) / name)
