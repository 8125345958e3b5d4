"""`snakemake --profile slurm-gpu` against a real single-node SLURM (slurm-wlm + munge).

The cluster is started by tests/slurm_harness.py (loopback only, 2 fake GPUs) and stopped by PID.
Skipped, with the reason, where SLURM cannot run (not root, or the Debian packages are missing).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.workflow_copy import copy_workflow

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "SLURM test needs root to start munged/slurmctld/slurmd"
    for b in ("munged", "slurmctld", "slurmd", "sbatch", "squeue"):
        if not (shutil.which(b) or Path("/usr/sbin", b).exists()):
            return f"SLURM test needs `{b}` (Debian slurm-wlm + munge; `make test` installs them as root)"
    if not Path("/etc/munge/munge.key").exists():
        return "SLURM test needs /etc/munge/munge.key (created by the Debian munge package)"
    return None


@pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")
def test_profile_slurm_gpu_runs_demo_slice(tmp_path: Path) -> None:
    work = copy_workflow(tmp_path / "wf")
    # Small demo world; the slice ends in a GPU-tagged rule (baseline fine-tuning).
    cfg = yaml.safe_load((work / "config/config.yaml").read_text())
    cfg["simulate"] = {"demo_hs": {"preset": "human", "seed": 7, "scale": 0.15}}
    cfg["tasks"] = {"tf_ctcf": cfg["tasks"]["tf_ctcf"]}
    cfg["genomes"] = {"demo_hs": cfg["genomes"]["demo_hs"]}
    cfg["annotations"] = {"demo_hs": cfg["annotations"]["demo_hs"]}
    cfg["finetune"]["models"] = ["cnn"]
    cfg["finetune"]["epochs"] = 1
    cfg["language_models"] = {}
    for sec in ("attention", "motifs", "variants"):
        cfg[sec] = {"tasks": []}
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    # Adapt the shipped profile to this "site" exactly as the README tells users to.
    prof = (work / "profiles/slurm-gpu/config.v8+.yaml").read_text()
    prof = re.sub(r'slurm_partition: "\w+"', 'slurm_partition: "gpu"', prof)
    prof = re.sub(r"latency-wait: \d+", "latency-wait: 5", prof)
    prof = re.sub(r"mem_mb: \d+", "mem_mb: 2000", prof)  # the test node has 2 CPUs, 8 GB
    prof = re.sub(r"cpus_per_gpu: \d+", "cpus_per_gpu: 1", prof)
    (work / "profiles/slurm-gpu/config.v8+.yaml").write_text(prof)
    assert (work / "slurm-gpu").resolve() == (work / "profiles/slurm-gpu").resolve()

    target = "results/finetune/tf_ctcf/cnn/seed1/metrics.json"
    venv_bin = str(Path(sys.executable).parent)
    cmd = [
        "bash", "-c",
        f'export PATH="{venv_bin}:$PATH"; cd "{work}" && '
        f"snakemake --profile slurm-gpu --slurm-no-account --slurm-status-command squeue "
        f"--slurm-init-seconds-before-status-checks 2 --jobs 2 --cores 2 {target} "
        f"> snakemake.log 2>&1",
    ]
    state = tmp_path / "slurm"
    r = subprocess.run(
        [sys.executable, str(REPO / "tests/slurm_harness.py"), str(state), "--", *cmd],
        capture_output=True, text=True, timeout=1500,
    )
    log = (work / "snakemake.log").read_text() if (work / "snakemake.log").exists() else ""
    assert r.returncode == 0, f"harness rc={r.returncode}\n{r.stdout}\n{r.stderr}\n{log[-6000:]}"

    # Jobs went through sbatch: a SLURM job id in Snakemake's log for every submitted job.
    job_ids = re.findall(r"submitted with SLURM jobid (\d+)", log)
    assert len(job_ids) >= 5, log[-4000:]  # simulate, genome x2, annotation, dataset, finetune
    ctld = (state / "slurmctld.log").read_text()
    assert "gres/gpu" in ctld or "gpu" in ctld
    # The GPU rule ran as a SLURM job with a GPU granted.
    ft_log = (work / "logs/baseline_finetune").rglob("*.log")
    text = "\n".join(p.read_text() for p in ft_log)
    assert "SLURM_JOB_ID" in text and "CUDA_VISIBLE_DEVICES=0" in text, text[-3000:]
    metrics = yaml.safe_load((work / target).read_text())
    assert 0.0 <= metrics["accuracy"] <= 1.0
