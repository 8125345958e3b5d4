"""Resumable fine-tuning (dnalm.finetune with ``ckpt_dir``, dnalm.finetune_state).

An interrupted run (SIGUSR1, a controlled stop) resumed from its step checkpoints ends exactly
where an uninterrupted run ends on the CPU: log, best step, early stop, test predictions and
weights. A checkpoint of other settings or data is set aside, never resumed. The command line
exits 1 after SIGUSR1 with the checkpoint on disk.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from dnalm import checkpoint as ckpt
from dnalm.finetune import finetune
from dnalm.finetune_state import LoopState, finetune_fingerprint
from dnalm.pretrain import PreemptedError

from tests.synth import make_lm, synth_splits

pytestmark = pytest.mark.usefixtures("torch_one_thread")

REPO = Path(__file__).resolve().parents[1]

# 160 training rows, batch 16: 10 steps per epoch, two dev evaluations per epoch. The BERT run
# learns at about step 30, peaks at step 55 and stops early at step 65 (patience 1).
BERT_KW = {"epochs": 8, "batch_size": 16, "lr": 3e-3, "seed": 2, "evals_per_epoch": 2,
           "patience": 1, "device": "cpu"}  # fmt: skip
CNN_KW = {**BERT_KW, "patience": 4}


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory):
    return make_lm(tmp_path_factory.mktemp("lm") / "model")


@pytest.fixture(scope="module")
def splits():
    return synth_splits(n_train=160, n_eval=48, seed=5)


def _outputs(d: Path) -> tuple[dict, str, bytes]:
    m = json.loads((d / "metrics.json").read_text())
    m.pop("runtime_s")
    return m, (d / "train_log.tsv").read_text(), (d / "predictions.tsv.gz").read_bytes()


def _weights(d: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(d / "model" / "model.safetensors")


def _signal_at(step: int):
    def on_step(s: int) -> None:
        if s == step:
            os.kill(os.getpid(), signal.SIGUSR1)

    return on_step


def test_interrupted_bert_run_ends_as_uninterrupted(tmp_path, lm_dir, splits, caplog):
    ref = tmp_path / "ref"
    m_ref = finetune(*splits, ref, "lm", lm_dir=lm_dir, **BERT_KW)
    ref_log = pd.read_csv(ref / "train_log.tsv", sep="\t")
    # the reference really learns, then stops early: the resumed run must repeat both
    assert m_ref["dev_mcc"] > 0.8 and m_ref["best_step"] < ref_log["step"].max() < 80

    out, ck = tmp_path / "run", tmp_path / "run" / "checkpoints"
    kw = {"lm_dir": lm_dir, "ckpt_dir": ck, "checkpoint_every": 10, "keep_checkpoints": 2, **BERT_KW}
    before = signal.getsignal(signal.SIGUSR1)
    # 1. SIGUSR1 mid-epoch (step 23): a checkpoint for step 23, then PreemptedError
    with pytest.raises(PreemptedError, match=r"received signal 10; checkpoint for step 23"):
        finetune(*splits, out, "lm", on_step=_signal_at(23), **kw)
    assert signal.getsignal(signal.SIGUSR1) == before  # handler restored
    assert [s for s, _ in ckpt.list_checkpoints(ck)] == [20, 23]
    assert not (out / "metrics.json").exists()
    saved = ckpt.load_checkpoint(ckpt.checkpoint_path(ck, 23))
    loop = LoopState.from_checkpoint(saved["loop"])
    assert (loop.step, loop.epoch, loop.batch) == (23, 2, 3)
    assert loop.best_state is not None and len(loop.rows) == 4
    # 2. resumed, stopped at an epoch boundary after the best step (early-stop counter 1)
    with caplog.at_level(logging.INFO, logger="dnalm.finetune"):
        res = finetune(*splits, out, "lm", stop_at=60, **kw)
    assert res == {"status": "stopped", "step": 60}
    assert "resumed from" in caplog.text and "(step 23, epoch 2, batch 3)" in caplog.text
    loop = LoopState.from_checkpoint(ckpt.load_checkpoint(ckpt.checkpoint_path(ck, 60))["loop"])
    assert (loop.epoch, loop.batch, loop.bad) == (5, 10, 1)
    assert loop.best_row["step"] == m_ref["best_step"]
    # 3. resumed to the end: the same outputs and weights as the uninterrupted run
    m = finetune(*splits, out, "lm", **kw)
    m.pop("runtime_s")
    m_ref.pop("runtime_s")
    assert m == m_ref
    assert _outputs(out) == _outputs(ref)
    a, b = _weights(out), _weights(ref)
    assert a.keys() == b.keys() and all(np.array_equal(a[key], b[key]) for key in a)
    assert not ck.exists()  # removed once the outputs are written


def test_interrupted_cnn_run_ends_as_uninterrupted(tmp_path, splits):
    """The baselines share the loop: a CNN stopped twice ends as its uninterrupted run."""
    ref = tmp_path / "ref"
    finetune(*splits, ref, "cnn", **CNN_KW)
    out, ck = tmp_path / "run", tmp_path / "ck"
    for stop_at in (7, 37):
        res = finetune(*splits, out, "cnn", ckpt_dir=ck, checkpoint_every=5, stop_at=stop_at,
                       **CNN_KW)  # fmt: skip
        assert res["status"] == "stopped"
        assert [s for s, _ in ckpt.list_checkpoints(ck)] == [stop_at]  # keep 1
    finetune(*splits, out, "cnn", ckpt_dir=ck, checkpoint_every=5, **CNN_KW)
    assert _outputs(out) == _outputs(ref)
    assert not ck.exists()


@pytest.mark.parametrize("change", ["lr", "dataset"])
def test_stale_checkpoint_is_not_resumed(tmp_path, splits, caplog, change):
    ck = tmp_path / "ck"
    finetune(*splits, tmp_path / "a", "cnn", ckpt_dir=ck, stop_at=6, **CNN_KW)
    tr, dv, te = splits
    kw = dict(CNN_KW)
    if change == "lr":
        kw["lr"] = 1e-3
        expected = "settings.lr: 0.003 -> 0.001"
    else:
        tr = tr.copy()
        tr.loc[0, "label"] = 1 - tr.loc[0, "label"]
        expected = "data.train: n=160 sha256:"
    with caplog.at_level(logging.INFO, logger="dnalm.finetune"):
        finetune(tr, dv, te, tmp_path / "b", "cnn", ckpt_dir=ck, stop_at=4, **kw)
    assert "resumed from" not in caplog.text
    assert "not resuming from it" in caplog.text and expected in caplog.text
    stale = [p for p in ck.iterdir() if p.is_dir()]
    assert len(stale) == 1 and stale[0].name.startswith("stale-")
    assert [p.name for p in stale[0].iterdir()] == ["step000000006.pt"]
    # the new run started from step 0: its checkpoint at step 4 has four steps of log
    saved = ckpt.load_checkpoint(ckpt.checkpoint_path(ck, 4))
    assert [s for s, _ in ckpt.list_checkpoints(ck)] == [4]
    assert saved["loop"]["step"] == 4 and saved["fingerprint"]["settings"]["lr"] == kw["lr"]


def test_fingerprint_names_what_determines_training(tmp_path, lm_dir, splits):
    tr, dv, _ = splits
    data = ((tr["sequence"].tolist(), tr["label"].to_numpy()), (dv["sequence"].tolist(), dv["label"].to_numpy()))
    settings = {"lr": 1e-3, "seed": 1}
    pre = finetune_fingerprint("lm", "pretrained", lm_dir, 4, 2, settings, *data)
    scratch = finetune_fingerprint("lm-scratch", "scratch", lm_dir, 4, 2, settings, *data)
    assert set(pre["lm"]) == {"config.json", "vocab.txt", "model.safetensors"}
    assert set(scratch["lm"]) == {"config.json", "vocab.txt"}  # scratch ignores the weights
    assert pre["data"]["train"].startswith("n=160 sha256:")
    assert pre == finetune_fingerprint("lm", "pretrained", lm_dir, 4, 2, settings, *data)
    shuffled = (data[0][0][::-1], data[0][1][::-1])  # row order is batch order
    assert finetune_fingerprint("lm", "pretrained", lm_dir, 4, 2, settings, shuffled,
                                data[1])["data"]["train"] != pre["data"]["train"]  # fmt: skip


def _write_splits(d: Path, splits) -> list[Path]:
    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in zip(("train", "dev", "test"), splits, strict=True):
        p = d / f"{name}.tsv.gz"
        df.to_csv(p, sep="\t", index=False, compression={"method": "gzip", "mtime": 0})
        paths.append(p)
    return paths


def test_command_line_sigusr1_checkpoints_and_exits_1(tmp_path, splits):
    """The rule's script outside Snakemake: SIGUSR1 -> checkpoint, exit status 1 (a retry resumes)."""
    train, dev, test = _write_splits(tmp_path / "data", splits)
    ck = tmp_path / "out" / "checkpoints"
    settings = {"epochs": 60, "batch_size": 16, "patience": 100, "lr": {"baseline": 3e-3},
                "checkpoint_every": 2}  # fmt: skip
    cmd = [sys.executable, str(REPO / "workflow/scripts/finetune_model.py"), "--train", str(train),
           "--dev", str(dev), "--test", str(test), "--out-dir", str(tmp_path / "out"),
           "--model", "cnn", "--ckpt-dir", str(ck), "--settings", json.dumps(settings),
           "--device", "cpu", "--threads", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        t0 = time.monotonic()
        while not ckpt.list_checkpoints(ck):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() - t0 < 120, "no checkpoint after 120 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGUSR1)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, err[-3000:]
    m = re.search(r"PreemptedError: received signal 10; checkpoint for step (\d+) saved", err)
    assert m, err[-3000:]
    step = int(m.group(1))
    assert step < 600 and ckpt.list_checkpoints(ck)[-1][0] == step  # stopped early, saved there
    assert not (tmp_path / "out" / "metrics.json").exists()
    saved = ckpt.load_checkpoint(ckpt.checkpoint_path(ck, step))
    assert saved["loop"]["step"] == step and saved["fingerprint"]["model"] == "cnn"
    assert isinstance(saved["rng"]["torch"], torch.Tensor)


def test_remove_checkpoints_keeps_stale_folders(tmp_path):
    for step in (3, 6):
        ckpt.save_checkpoint(tmp_path / "ck", step, {"w": torch.zeros(2)}, keep=2)
    (tmp_path / "ck" / ".step000000009.pt.tmp-1").write_bytes(b"partial")
    assert ckpt.remove_checkpoints(tmp_path / "ck") == 2
    assert not (tmp_path / "ck").exists()  # nothing else there: the folder goes too
    ckpt.save_checkpoint(tmp_path / "ck", 1, {"w": torch.zeros(2)})
    (tmp_path / "ck" / "stale-x").mkdir()
    assert ckpt.remove_checkpoints(tmp_path / "ck") == 1
    assert [p.name for p in (tmp_path / "ck").iterdir()] == ["stale-x"]
    assert ckpt.remove_checkpoints(tmp_path / "none") == 0
