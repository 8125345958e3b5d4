"""The workflow against a real single-node SLURM (slurm-wlm + munge).

- ``snakemake --profile slurm-gpu`` runs a demo slice through sbatch;
- a pretraining batch job that SLURM requeues (``scontrol requeue``: SIGTERM, back to the
  queue, rerun with SLURM_RESTART_COUNT=1) resumes from its checkpoint and ends with the same
  model as an uninterrupted run;
- so does a fine-tuning batch job (the bert_finetune rule's script on a tiny BERT): same log,
  predictions, metrics and weights as an uninterrupted run.

The cluster is started by tests/slurm_harness.py (loopback only, 2 fake GPUs) and stopped by PID.
Skipped, with the reason, where SLURM cannot run (not root, or the Debian packages are missing).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.slurm_harness import cluster, wait_for
from tests.workflow_copy import copy_workflow, strip_downstream_stages, use_finetune_models

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
    cfg["collections"] = {}  # the demo collection fine-tunes the tiny LM
    strip_downstream_stages(cfg)
    use_finetune_models(cfg)
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


# --------------------------------------------------------------------------- requeue + resume

# Long enough that the job is still training when the test requeues it after the first
# checkpoint (about 20 of 200 steps), short enough for about ten seconds per run.
REQUEUE_PRESET = {"steps": 200, "batch_size": 8, "lr": 1e-3, "warmup_steps": 10, "log_every": 1,
                  "checkpoint_every": 20, "keep_checkpoints": 2, "val_batches": 2, "seed": 11}
_FINAL_STATES = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
                 "BOOT_FAIL", "DEADLINE", "PREEMPTED")

# Batch script. The trap forwards SIGTERM (requeue, scancel) and SIGUSR1 (`--signal=B:USR1@t`
# before the time limit) to the trainer, which checkpoints and exits non-zero; the START/EXIT
# lines mark each run of the job in its (appended) output file.
_JOB_SH = """#!/bin/bash
export PYTHONUNBUFFERED=1
echo "START restart=${{SLURM_RESTART_COUNT:-0}} job=${{SLURM_JOB_ID}}"
"{python}" "{script}" --shards shards --out-dir out/model --ckpt-dir out/checkpoints \\
    --log-tsv out/train_log.tsv --curves-png out/curves.png --k 6 --size tiny \\
    --preset preset.json --device cpu --threads 1 &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM USR1
wait "$child"; rc=$?
if [ "$rc" -gt 128 ]; then wait "$child"; rc=$?; fi  # a trapped signal interrupted `wait`
echo "EXIT rc=$rc restart=${{SLURM_RESTART_COUNT:-0}}"
exit "$rc"
"""


def _write_tiny_corpus(d: Path, n_pieces: int = 300, seed: int = 3) -> None:
    """One corpus shard (``chrT.seq.npy`` + ``chrT.idx.npy``) of random pieces, 60-250 bp."""
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lens = rng.integers(60, 251, n_pieces)
    seq = rng.integers(0, 4, int(lens.sum()), dtype=np.uint8)
    off = np.concatenate([[0], np.cumsum(lens)[:-1]])
    split = (np.arange(n_pieces) % 10 == 0).astype(np.int64)  # every 10th piece validates
    np.save(d / "chrT.seq.npy", seq)
    np.save(d / "chrT.idx.npy", np.stack([off, lens, split], 1).astype(np.int64))


def _slurm(env: dict[str, str], *args: str) -> str:
    r = subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"{' '.join(args)}: rc={r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout


def _job_field(show: str, key: str) -> str | None:
    m = re.search(rf"\b{key}=(\S+)", show)
    return m.group(1) if m else None


def _read(p: Path) -> str:
    return p.read_text(errors="replace") if p.exists() else ""


def _run_segments(out: str) -> dict[int, str]:
    """The job output cut into runs by their START lines: {restart count: text}."""
    parts = re.split(r"^START restart=(\d+) .*$", out, flags=re.M)
    return {int(parts[i]): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def _requeue_after_first_checkpoint(env: dict[str, str], work: Path, out_file: Path,
                                    ckpt_dir: Path, detail, job_name: str) -> tuple[str, int, str, int]:
    """Submit ``work/job.sh`` (requeueable), requeue it once a checkpoint exists, wait for the end.

    Returns the final ``scontrol show job`` text, the first checkpoint's step, the job id and how
    often the requeued job's ~2 min BeginTime wait (credential expiry) was skipped.
    """
    job = _slurm(env, "sbatch", "--parsable", "--requeue", "--open-mode=append",
                 f"--output={out_file}", f"--chdir={work}", f"--job-name={job_name}",
                 "--cpus-per-task=1", "--mem=2000", "--time=10",
                 str(work / "job.sh")).strip().split(";")[0]  # fmt: skip
    assert job.isdigit(), job

    def show() -> str:
        return _slurm(env, "scontrol", "show", "job", job)

    def first_checkpoint() -> bool:
        st = _job_field(show(), "JobState")
        assert st in ("PENDING", "RUNNING", "CONFIGURING"), f"job {st} before a checkpoint\n{detail()}"
        return any(ckpt_dir.glob("step*.pt"))

    wait_for(first_checkpoint, 120, "the first checkpoint", 0.2, detail)
    first_ckpt = min(int(p.stem[4:]) for p in ckpt_dir.glob("step*.pt"))
    _slurm(env, "scontrol", "requeue", job)
    wait_for(lambda: "EXIT rc=" in _read(out_file), 60, "the first run to exit", 0.2, detail)
    released = 0

    def finished() -> bool:
        nonlocal released
        s = show()
        if _job_field(s, "JobState") == "PENDING" and _job_field(s, "Reason") == "BeginTime":
            _slurm(env, "scontrol", "update", f"jobid={job}", "StartTime=now")
            released += 1
        return _job_field(s, "JobState") in _FINAL_STATES

    wait_for(finished, 240, "the requeued job to finish", 0.2, detail)
    return show(), first_ckpt, job, released


@pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")
def test_requeued_pretraining_resumes_from_checkpoint(tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    work = tmp_path / "job"
    _write_tiny_corpus(work / "shards")
    (work / "preset.json").write_text(json.dumps(REQUEUE_PRESET))
    script = REPO / "workflow/scripts/bert_pretrain.py"  # the bert_pretrain rule's script
    (work / "job.sh").write_text(_JOB_SH.format(python=sys.executable, script=script))
    out_file, ckpt_dir = work / "slurm.out", work / "out/checkpoints"
    state = tmp_path / "slurm"
    steps = REQUEUE_PRESET["steps"]

    def detail() -> str:
        return (f"--- job output\n{_read(out_file)[-4000:]}\n--- slurmctld.log\n"
                f"{_read(state / 'slurmctld.log')[-3000:]}")

    with cluster(state) as env:
        final, first_ckpt, job, released = _requeue_after_first_checkpoint(
            env, work, out_file, ckpt_dir, detail, "dnalm-requeue"
        )

    out = _read(out_file)
    assert _job_field(final, "JobState") == "COMPLETED", f"{final}\n{detail()}"
    assert _job_field(final, "Restarts") == "1", f"{final}\n(BeginTime released {released}x)"
    assert _job_field(final, "ExitCode") == "0:0", final

    # Two runs of the one job: the first was stopped by the requeue and checkpointed.
    runs = _run_segments(out)
    assert sorted(runs) == [0, 1], out[-4000:]
    m0 = re.search(r"received signal (\d+); checkpoint for step (\d+) saved", runs[0])
    assert m0 and int(m0.group(1)) == 15, runs[0][-3000:]  # SIGTERM
    stopped_at = int(m0.group(2))
    assert first_ckpt <= stopped_at < steps, (first_ckpt, stopped_at)
    assert "EXIT rc=1 restart=0" in runs[0], runs[0][-2000:]  # PreemptedError: non-zero
    assert f"job={job}" in out.splitlines()[0]

    # The rerun resumed from that checkpoint and finished.
    m1 = re.search(r"resumed from (\S+) \(step (\d+)\)", runs[1])
    assert m1, runs[1][-3000:]
    assert int(m1.group(2)) == stopped_at > 0
    assert Path(m1.group(1)).name == f"step{stopped_at:09d}.pt"
    res = json.loads(next(ln for ln in runs[1].splitlines() if ln.startswith("{")))
    assert res["resumed_from"] == stopped_at and res["step"] == steps and res["status"] == "done"
    assert "EXIT rc=0 restart=1" in runs[1]
    assert f"step {stopped_at + 1} loss" in runs[1] and f"step {stopped_at + 1} loss" not in runs[0]

    # Complete outputs; nothing partial beside them.
    model = work / "out/model"
    for name in ("config.json", "model.safetensors", "vocab.txt"):
        assert (model / name).stat().st_size > 0, name
    assert sorted(p.name for p in (work / "out").iterdir()) == [
        "checkpoints", "curves.png", "model", "train_log.tsv"]
    log = pd.read_csv(work / "out/train_log.tsv", sep="\t")
    train, val = log[log.split == "train"], log[log.split == "val"]
    assert train.step.tolist() == list(range(1, steps + 1))  # each step once, none repeated
    every = REQUEUE_PRESET["checkpoint_every"]
    assert val.step.tolist() == list(range(every, steps + 1, every))

    # The resumed job ends where an uninterrupted run of the same command ends.
    ref = tmp_path / "ref"
    ref.mkdir()
    for name in ("shards", "preset.json"):
        (ref / name).symlink_to(work / name)
    cmd = _JOB_SH.format(python=sys.executable, script=script)
    r = subprocess.run(["bash", "-c", cmd], cwd=ref, capture_output=True, text=True, timeout=300,
                       env={k: v for k, v in os.environ.items() if not k.startswith("SLURM")})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    ref_log = pd.read_csv(ref / "out/train_log.tsv", sep="\t")
    cols = ["step", "split", "loss", "mlm_acc", "lr", "mask_rate"]
    pd.testing.assert_frame_equal(log[cols].reset_index(drop=True),
                                  ref_log[cols].reset_index(drop=True))
    a, b = load_file(model / "model.safetensors"), load_file(ref / "out/model/model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key]), key


# --------------------------------------------------------------------------- fine-tuning requeue

# A tiny BERT on 160 rows, batch 16: 10 steps per epoch, 40 epochs (no early stop), a checkpoint
# every 20 steps; about ten seconds per run on one CPU.
FT_REQUEUE_SETTINGS = {"epochs": 40, "batch_size": 16, "lr": {"bert": 3e-3}, "patience": 100,
                       "checkpoint_every": 20, "keep_checkpoints": 2}

# The bert_finetune rule's script as a batch job, with the same signal trap as _JOB_SH.
_FT_JOB_SH = """#!/bin/bash
export PYTHONUNBUFFERED=1
echo "START restart=${{SLURM_RESTART_COUNT:-0}} job=${{SLURM_JOB_ID}}"
"{python}" "{script}" --train data/train.tsv.gz --dev data/dev.tsv.gz --test data/test.tsv.gz \\
    --out-dir out --model lm --lm-dir lm --ckpt-dir out/checkpoints --settings settings.json \\
    --seed 3 --task synth --device cpu --threads 1 &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM USR1
wait "$child"; rc=$?
if [ "$rc" -gt 128 ]; then wait "$child"; rc=$?; fi  # a trapped signal interrupted `wait`
echo "EXIT rc=$rc restart=${{SLURM_RESTART_COUNT:-0}}"
exit "$rc"
"""


@pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")
def test_requeued_finetuning_resumes_from_checkpoint(tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    from tests.synth import make_lm, synth_splits

    work = tmp_path / "job"
    (work / "data").mkdir(parents=True)
    for name, df in zip(("train", "dev", "test"), synth_splits(n_train=160, n_eval=48, seed=5),
                        strict=True):
        df.to_csv(work / f"data/{name}.tsv.gz", sep="\t", index=False,
                  compression={"method": "gzip", "mtime": 0})
    make_lm(work / "lm")
    (work / "settings.json").write_text(json.dumps(FT_REQUEUE_SETTINGS))
    script = REPO / "workflow/scripts/finetune_model.py"  # the bert_finetune rule's script
    (work / "job.sh").write_text(_FT_JOB_SH.format(python=sys.executable, script=script))
    out_file, ckpt_dir = work / "slurm.out", work / "out/checkpoints"
    state = tmp_path / "slurm"
    total = 10 * FT_REQUEUE_SETTINGS["epochs"]

    def detail() -> str:
        return (f"--- job output\n{_read(out_file)[-4000:]}\n--- slurmctld.log\n"
                f"{_read(state / 'slurmctld.log')[-3000:]}")

    with cluster(state) as env:
        final, first_ckpt, _, _ = _requeue_after_first_checkpoint(
            env, work, out_file, ckpt_dir, detail, "dnalm-ft-requeue"
        )

    assert _job_field(final, "JobState") == "COMPLETED", f"{final}\n{detail()}"
    assert _job_field(final, "Restarts") == "1", final
    assert _job_field(final, "ExitCode") == "0:0", final

    # Run 0 was stopped by the requeue (SIGTERM), checkpointed and exited 1.
    out = _read(out_file)
    runs = _run_segments(out)
    assert sorted(runs) == [0, 1], out[-4000:]
    m0 = re.search(r"received signal (\d+); checkpoint for step (\d+) saved", runs[0])
    assert m0 and int(m0.group(1)) == 15, runs[0][-3000:]
    stopped_at = int(m0.group(2))
    assert first_ckpt <= stopped_at < total, (first_ckpt, stopped_at)
    assert "EXIT rc=1 restart=0" in runs[0], runs[0][-2000:]
    # Run 1 resumed from that checkpoint and finished.
    m1 = re.search(r"resumed from (\S+) \(step (\d+),", runs[1])
    assert m1 and int(m1.group(2)) == stopped_at, runs[1][-3000:]
    assert Path(m1.group(1)).name == f"step{stopped_at:09d}.pt"
    assert "EXIT rc=0 restart=1" in runs[1]
    metrics = json.loads(next(ln for ln in runs[1].splitlines() if ln.startswith("{")))
    assert metrics["model"] == "lm" and metrics["dev_mcc"] > 0.5

    # Complete outputs; the checkpoints are gone.
    assert sorted(p.name for p in (work / "out").iterdir()) == [
        "metrics.json", "model", "predictions.tsv.gz", "train_log.tsv"]
    log = pd.read_csv(work / "out/train_log.tsv", sep="\t")
    assert log.step.is_unique and log.step.max() == total

    # The requeued job ends where an uninterrupted run of the same command ends.
    ref = tmp_path / "ref"
    ref.mkdir()
    for name in ("data", "lm", "settings.json"):
        (ref / name).symlink_to(work / name)
    cmd = _FT_JOB_SH.format(python=sys.executable, script=script)
    r = subprocess.run(["bash", "-c", cmd], cwd=ref, capture_output=True, text=True, timeout=300,
                       env={k: v for k, v in os.environ.items() if not k.startswith("SLURM")})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for name in ("train_log.tsv", "predictions.tsv.gz"):
        assert (work / "out" / name).read_bytes() == (ref / "out" / name).read_bytes(), name
    a = json.loads((work / "out/metrics.json").read_text())
    b = json.loads((ref / "out/metrics.json").read_text())
    assert {**a, "runtime_s": 0} == {**b, "runtime_s": 0}
    wa = load_file(work / "out/model/model.safetensors")
    wb = load_file(ref / "out/model/model.safetensors")
    assert wa.keys() == wb.keys() and all(np.array_equal(wa[key], wb[key]) for key in wa)
