"""Rule known_motifs_download: fetch a known-motif database (e.g. JASPAR) and check that it parses.

The source is a config entry of ``motifs.sources`` (``{url, md5?, sha256?, checksum?}``), fetched
with :func:`dnalm.fetch.fetch_source` (size and checksums verified). The bytes are kept as
published, so the stored file still has the published checksum; before the file is moved into
place it must read as MEME, JASPAR or TRANSFAC (:func:`dnalm.motif_formats.read_motifs`) and hold
at least one motif. Any failure leaves nothing at the destination.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dnalm import atomic
from dnalm.fetch import fetch_source
from dnalm.motif_formats import detect_format, read_motifs

__all__ = ["fetch_known_motifs"]

log = logging.getLogger(__name__)


def fetch_known_motifs(
    src: Mapping[str, Any], dest: str | Path, timeout: float = 60, verbose: bool = False
) -> dict[str, Any]:
    """Fetch a known-motif file, verify it, and move it to ``dest`` atomically.

    Parameters
    ----------
    src : mapping
        The source entry ``{url, md5?, sha256?, checksum?: "none"}``.
    dest : str or pathlib.Path
        Destination file (the bytes as fetched).
    timeout : float, optional
        Socket timeout in seconds. Default is 60.
    verbose : bool, optional
        Show a download progress bar. Default is False.

    Returns
    -------
    dict
        ``{"url", "format", "n_motifs", "widths": [min, max]}``.

    Raises
    ------
    ValueError
        A checksum mismatch (:func:`dnalm.fetch.fetch`), or a file that is not a valid motif
        file: ``"<url>:<line>: <problem>"``, or one without motifs. Nothing is written.
    OSError
        Download failures (:func:`dnalm.fetch.fetch`).
    """
    dest = Path(dest)
    url = str(src.get("url", ""))
    name = Path(url.split("?")[0].rstrip("/")).name or dest.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{dest.name}.", dir=dest.parent) as tmp:
        got = fetch_source(src, Path(tmp) / name, timeout=timeout, verbose=verbose)
        try:
            fmt = detect_format(got)
            motifs = read_motifs(got, fmt)
        except ValueError as e:
            raise ValueError(str(e).replace(str(got), url)) from None
        if not motifs:
            raise ValueError(f"{url}: holds no motifs")
        with atomic.atomic_path(dest) as part:
            os.replace(got, part)
    widths = [m.shape[0] for m in motifs.values()]
    info = {"url": url, "format": fmt, "n_motifs": len(motifs), "widths": [min(widths), max(widths)]}
    log.info("%s: %d %s-format motifs (widths %d-%d) -> %s", url, len(motifs), fmt,
             min(widths), max(widths), dest)  # fmt: skip
    return info
