"""The job rate limit: `make demo`, the suite's demo run, profiles/local and profiles/slurm-gpu use one value.

Why the value (Snakemake's 100/1s default re-runs its job selector once a second per finished job):
the Makefile's LOCAL_RATE comment and bench/README.md "Snakemake's scheduler".
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from snakemake.settings.types import MaxJobsPerTimespan

from tests.e2e_demo import LOCAL_RATE

ROOT = Path(__file__).resolve().parents[1]


def _makefile_rate() -> list[str]:
    text = (ROOT / "Makefile").read_text()
    m = re.search(r"^LOCAL_RATE :=(.*)$", text, re.M)
    assert m, "Makefile defines no LOCAL_RATE"
    return m.group(1).split()


def test_makefile_demo_uses_the_rate_limit_of_the_suites_demo() -> None:
    assert tuple(_makefile_rate()) == LOCAL_RATE
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M)
    assert recipe, "Makefile has no demo recipe"
    run_line = next(line for line in recipe.group(1).splitlines() if "--report" not in line)
    assert "$(LOCAL_RATE)" in run_line


def test_local_profile_uses_the_same_rate_limit() -> None:
    prof = yaml.safe_load((ROOT / "profiles/local/config.v8+.yaml").read_text())
    assert prof["max-jobs-per-timespan"] == LOCAL_RATE[1]


def test_cluster_profile_uses_the_same_rate_limit() -> None:
    """The SLURM profile too: the login node's Snakemake runs the same scheduler loop
    (bench/bench_slurm_rate.py measures it against a loopback SLURM)."""
    prof = yaml.safe_load((ROOT / "profiles/slurm-gpu/config.v8+.yaml").read_text())
    assert prof["max-jobs-per-timespan"] == LOCAL_RATE[1]


def test_rate_limit_is_one_snakemake_accepts_and_never_binds_locally() -> None:
    flag, value = LOCAL_RATE
    assert flag == "--max-jobs-per-timespan"
    limit = MaxJobsPerTimespan.parse_choice(value)
    # 10 s between scheduler re-evaluations; 100 job starts per window is far above what a
    # workstation runs (the demo: 190 jobs in ~19 min)
    assert limit.timespan == 10
    assert limit.max_jobs / limit.timespan >= 1
