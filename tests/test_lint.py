"""Static quality bars: `snakemake --lint`, `snakefmt --check`, ruff and the report captions stay clean."""

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


def test_report_captions_are_clean_rst() -> None:
    """Every caption of report.html parses without a docutils message once its Jinja fields are
    filled (an unescaped ``|attr|`` is a substitution reference and printed an error into the
    report)."""
    import jinja2
    from docutils.core import publish_string

    class Filled(jinja2.ChainableUndefined):  # every {{ snakemake.* }} field reads "value"
        def __str__(self) -> str:
            return "value"

    env = jinja2.Environment(undefined=Filled)
    captions = sorted((REPO / "workflow" / "report").glob("*.rst"))
    assert len(captions) > 30
    for path in captions:
        if path.name == "workflow.rst":  # the front page: links to report categories, checked in
            continue  # a browser (tests/test_e2e.py, tests/test_report_browser.py)
        text = env.from_string(path.read_text()).render(snakemake={})
        try:
            publish_string(text, writer="html5",
                           settings_overrides={"halt_level": 1, "report_level": 5})
        except Exception as e:  # noqa: BLE001 - docutils raises SystemMessage; name the file
            pytest.fail(f"{path.relative_to(REPO)}: {e}")


def test_no_workflow_script_reads_the_global_config() -> None:
    """A script that reads `snakemake.config` depends on values Snakemake's rerun triggers
    cannot see: report_tables did, and its resolved config.yaml (read by the front page) kept
    the old values after every config edit. Settings reach scripts as params or inputs."""
    readers = [p.name for p in sorted((REPO / "workflow/scripts").glob("*.py"))
               if "snakemake.config" in p.read_text()]
    assert readers == []
