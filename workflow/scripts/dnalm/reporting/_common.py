"""Shared pieces of the overview: the :class:`Finding` record and number formatting."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Finding"]


@dataclass(frozen=True)
class Finding:
    """One sentence of the front page.

    ``status``: ``ok`` (measured), ``warning`` (measured and it fails the paper's claim or the
    stage found nothing) or ``missing`` (not measured / not configured).
    """

    section: str
    title: str
    text: str
    status: str = "ok"


def _dir(p: str | Path) -> Path:
    p = Path(p)
    return p if p.is_dir() else p.parent


def _json(p: Path) -> dict[str, Any] | None:
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{p}:{e.lineno}: not valid JSON ({e.msg})") from None


def _p(x: float | None) -> str:
    if x is None or not math.isfinite(float(x)):
        return "n/a"
    return f"{float(x):.2g}"


def _f(x: Any, digits: int = 2) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "n/a"
    return f"{v:.{digits}f}" if math.isfinite(v) else "n/a"


def _num(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan
