"""Snakemake's own CPU under the SLURM executor: the default job rate limit against 100/10s.

Run from the repository root, as root (it starts a throw-away loopback SLURM with
``tests/slurm_harness.py``, as ``tests/test_slurm.py`` does)::

    python -m bench.bench_slurm_rate [--n-jobs 200] [--rates default 100/10s] [--rounds 2]

A Snakefile of ``--n-jobs`` independent ``sleep 1`` jobs runs through ``--executor slurm``
(``--jobs 50``, the ``profiles/slurm-gpu`` value) on a 2-CPU node, so most jobs wait in the
SLURM queue while Snakemake polls, as on a busy cluster. A sampler reads the CPU time of the
Snakemake process itself (not of sbatch/squeue, its children) every 0.2 s. Rates alternate
over ``--rounds`` so the machine's load hits both alike.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from tests.slurm_harness import cluster

SNAKEFILE = """
N = {n}

rule all:
    input: expand("out/{{i}}.txt", i=range(N))

rule job:
    output: "out/{{i}}.txt"
    resources: slurm_partition="gpu", mem_mb=100, runtime=5
    shell: "sleep 1; touch {{output}}"
"""


def run_once(work: Path, env: dict, rate: str | None, n: int) -> dict:
    """One Snakemake run of the ``sleep 1`` DAG; the main process's CPU and the wall time."""
    d = Path(tempfile.mkdtemp(dir=work))
    (d / "Snakefile").write_text(SNAKEFILE.format(n=n))
    cmd = [sys.executable, "-m", "snakemake", "--executor", "slurm", "--jobs", "50",
           "--slurm-no-account", "--slurm-status-command", "squeue",
           "--slurm-init-seconds-before-status-checks", "2",
           "--latency-wait", "5", "--quiet", "all"]
    if rate:
        cmd += ["--max-jobs-per-timespan", rate]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=d, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    proc = psutil.Process(p.pid)
    cpu = 0.0
    while p.poll() is None:
        try:
            t = proc.cpu_times()
            cpu = t.user + t.system
        except psutil.NoSuchProcess:
            break
        time.sleep(0.2)
    out = p.stdout.read() if p.stdout else ""
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"snakemake failed ({p.returncode}):\n{out[-4000:]}")
    done = len(list((d / "out").glob("*.txt")))
    return {"rate": rate or "default (100/1s)", "cpu_s": round(cpu, 2), "wall_s": round(wall, 1),
            "jobs": done}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-jobs", type=int, default=200)
    ap.add_argument("--rates", nargs="+", default=["default", "100/10s"])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_slurm_rate_") as tmp:
        work = Path(tmp)
        with cluster(work / "slurm") as env:
            env = dict(env, PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
            for r in range(a.rounds):
                for rate in a.rates:
                    row = run_once(work, env, None if rate == "default" else rate, a.n_jobs)
                    row["round"] = r + 1
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
