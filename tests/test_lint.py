"""Static quality bars: `snakemake --lint`, `snakefmt --check` and ruff stay clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    exe = Path(sys.executable).parent / name
    if exe.exists():
        return str(exe)
    found = shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (make test installs it)")
    return found


def test_snakemake_lint_clean() -> None:
    r = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_snakefmt_check() -> None:
    files = ["Snakefile", *sorted(str(p.relative_to(REPO)) for p in (REPO / "workflow/rules").glob("*.smk"))]
    r = subprocess.run([_tool("snakefmt"), "--check", *files], cwd=REPO, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_clean() -> None:
    r = subprocess.run([_tool("ruff"), "check", "workflow/scripts", "tests", "bench"], cwd=REPO,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
