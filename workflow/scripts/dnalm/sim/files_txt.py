"""The demo world's experiments listed as a UCSC encodeDCC ``files.txt`` (for a demo collection).

Each line is ``<file>\\t<key=value; ...>`` with the keys the real hg19 ``wgEncodeAwgTfbsUniform``
table carries for a collection (project, lab, composite, dataType, view, cell, antibody, type,
md5sum, size); the antibody is the experiment name up to its first ``_`` (``CTCF_demo`` -> CTCF).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from dnalm import atomic

__all__ = ["write_files_txt"]


def write_files_txt(
    peaks: Sequence[str | Path], out: str | Path, cell: str = "demo", lab: str = "dnalm-sim"
) -> Path:
    """Write ``files.txt`` listing ``peaks`` (file names relative to its directory) with real md5s.

    Parameters
    ----------
    peaks : sequence of str or Path
        ``<experiment>.narrowPeak.gz`` files, in the directory of ``out``.
    out : str or Path
        The ``files.txt`` (written atomically).
    cell, lab : str, optional
        The ``cell`` and ``lab`` values of every line. Default is ``"demo"``, ``"dnalm-sim"``.

    Returns
    -------
    out : pathlib.Path
    """
    lines = []
    for p in sorted(Path(x) for x in peaks):
        if p.parent.resolve() != Path(out).parent.resolve():
            raise ValueError(f"{p}: not in the directory of {out}")
        data = p.read_bytes()
        exp = p.name.split(".", 1)[0]
        attrs = {
            "project": "wgEncode", "lab": lab, "composite": "dnalmDemoTfbs", "dataType": "ChipSeq",
            "view": "Peaks", "cell": cell, "antibody": exp.split("_", 1)[0], "type": "narrowPeak",
            "md5sum": hashlib.md5(data).hexdigest(), "size": f"{len(data)}",
        }  # fmt: skip
        lines.append(p.name + "\t" + "; ".join(f"{k}={v}" for k, v in attrs.items()) + "\n")
    return atomic.write_text(out, "".join(lines))
