"""One full run of the embedded demo per test session, shared by every end-to-end test.

The run happens in a scratch copy of the workflow (never in the checkout), with the shipped demo
config, exactly as `make demo` runs it: `snakemake --cores 2 --max-jobs-per-timespan 100/10s` then
`snakemake --report` (the Makefile's LOCAL_RATE; a test keeps the two in step).
Set DNALM_E2E_DIR to reuse an existing finished run directory while developing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.workflow_copy import copy_workflow

# The Makefile's LOCAL_RATE (why: the comment there, bench/README.md "Snakemake's scheduler").
LOCAL_RATE = ("--max-jobs-per-timespan", "100/10s")


@dataclass(frozen=True)
class DemoRun:
    workdir: Path
    seconds: float
    log: str

    def path(self, rel: str) -> Path:
        return self.workdir / rel


def snakemake(workdir: Path, *args: str, timeout: int = 3600) -> subprocess.CompletedProcess:
    """Run snakemake in ``workdir`` with this interpreter's environment."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env,
    )


def run_demo(base: Path) -> DemoRun:
    reuse = os.environ.get("DNALM_E2E_DIR")
    if reuse:
        return DemoRun(Path(reuse), 0.0, "")
    work = copy_workflow(base / "demo")
    t0 = time.time()
    r = snakemake(work, "--cores", "2", *LOCAL_RATE)
    if r.returncode != 0:
        raise RuntimeError(f"demo DAG failed (rc={r.returncode}):\n{(r.stdout + r.stderr)[-8000:]}")
    rep = snakemake(work, "--cores", "1", "--report", "results/report.html")
    if rep.returncode != 0:
        raise RuntimeError(f"report failed:\n{(rep.stdout + rep.stderr)[-6000:]}")
    return DemoRun(work, time.time() - t0, r.stdout + r.stderr)
