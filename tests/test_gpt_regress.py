"""Resumable GPT expression regression (dnalm.gpt.regress on dnalm.finetune_loop).

A regression run interrupted by SIGUSR1 and by a controlled stop, then resumed from its step
checkpoints, ends exactly as the uninterrupted run on the CPU: metrics, log, predictions and
weights. Its checkpoints load with ``torch.load(weights_only=True)``; a checkpoint of other
data (a changed target value) is set aside, never resumed. The scratch control starts from the
language model's size with random weights.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from dnalm import checkpoint as ckpt
from dnalm.expression import Row, read_regression_split, write_regression_split
from dnalm.finetune_state import LoopState, regression_fingerprint
from dnalm.gpt import build_gpt, save_gpt_dir
from dnalm.gpt.regress import fit_gpt_regression
from dnalm.pretrain import PreemptedError

pytestmark = pytest.mark.usefixtures("torch_one_thread")

# 192 training rows, batch 16: 12 steps per epoch; min_steps 96 makes 8 epochs, 3 dev evaluations
# each. The dev r starts to rise after about 40 steps; the best step is 92 (test r 0.35).
KW = {"epochs": 2, "min_steps": 96, "batch_size": 16, "lr": 1e-3, "patience": 1, "seed": 3,
      "n_boot": 50, "device": "cpu"}  # fmt: skip


@pytest.fixture(scope="module")
def gpt_lm(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("gpt") / "lm"
    save_gpt_dir(build_gpt("tiny", n_positions=24, seed=0), d)
    return d


def _splits(tmp: Path, bump: float = 0.0) -> dict[str, Path]:
    """Target = 1.5 f0 - f1 + noise; ``bump`` shifts the first training target (a data change)."""
    rng = np.random.default_rng(7)
    out = {}
    for split, n in (("train", 192), ("dev", 40), ("test", 40)):
        rows = []
        for i in range(n):
            f = rng.normal(size=2)
            v = float(1.5 * f[0] - f[1] + 0.3 * rng.normal()) + (bump if (split, i) == ("train", 0) else 0.0)
            rows.append(Row("".join(rng.choice(list("ACGT"), 36)), v, tuple(f.tolist()), f"{split}{i}"))
        out[split] = write_regression_split(rows, ["hl_a", "hl_b"], tmp / f"{split}.tsv.gz")
    return out


def _outputs(d: Path) -> tuple[dict, str, bytes, dict[str, np.ndarray]]:
    from safetensors.numpy import load_file

    m = json.loads((d / "metrics.json").read_text())
    m.pop("runtime_s")
    weights = load_file(d / "model" / "model.safetensors")
    return m, (d / "train_log.tsv").read_text(), (d / "predictions.tsv.gz").read_bytes(), weights


def _same(a: tuple, b: tuple) -> None:
    assert a[:3] == b[:3]
    assert a[3].keys() == b[3].keys() and all(np.array_equal(a[3][k], b[3][k]) for k in a[3])


def _signal_at(step: int):
    def on_step(s: int) -> None:
        if s == step:
            os.kill(os.getpid(), signal.SIGUSR1)

    return on_step


def test_interrupted_regression_ends_as_uninterrupted(tmp_path, gpt_lm, caplog) -> None:
    splits = _splits(tmp_path)
    ref = tmp_path / "ref"
    m_ref = fit_gpt_regression(splits, ref, gpt_lm, "gpt", **KW)
    # it learns after the interruptions below: the best weights come from after both
    assert m_ref["best_step"] > 40 and m_ref["pearson_r"] > 0.25, m_ref

    out, ck = tmp_path / "run", tmp_path / "run" / "checkpoints"
    kw = {"ckpt_dir": ck, "checkpoint_every": 5, "keep_checkpoints": 2, **KW}
    before = signal.getsignal(signal.SIGUSR1)
    # 1. SIGUSR1 mid-epoch (step 7): a checkpoint for step 7, then PreemptedError
    with pytest.raises(PreemptedError, match=r"received signal 10; checkpoint for step 7"):
        fit_gpt_regression(splits, out, gpt_lm, "gpt", on_step=_signal_at(7), **kw)
    assert signal.getsignal(signal.SIGUSR1) == before
    assert [s for s, _ in ckpt.list_checkpoints(ck)] == [5, 7]
    assert not (out / "metrics.json").exists()
    # the checkpoint is tensors and plain types: it loads without unpickling
    saved = torch.load(ckpt.checkpoint_path(ck, 7), map_location="cpu", weights_only=True)
    loop = LoopState.from_checkpoint(saved["loop"])
    assert (loop.step, loop.epoch, loop.batch) == (7, 0, 7) and loop.rows
    assert saved["fingerprint"]["task_type"] == "regression"
    assert saved["fingerprint"]["features"] == ["hl_a", "hl_b"]
    # 2. resumed, then stopped at step 40 (fourth epoch)
    with caplog.at_level(logging.INFO, logger="dnalm.finetune"):
        res = fit_gpt_regression(splits, out, gpt_lm, "gpt", stop_at=40, **kw)
    assert res == {"status": "stopped", "step": 40}
    loop = LoopState.from_checkpoint(ckpt.load_checkpoint(ckpt.checkpoint_path(ck, 40))["loop"])
    assert (loop.epoch, loop.batch) == (3, 4) and loop.best_state is not None
    assert "resumed from" in caplog.text and "(step 7, epoch 0, batch 7)" in caplog.text
    # 3. resumed to the end: the same metrics, log, predictions and weights
    m = fit_gpt_regression(splits, out, gpt_lm, "gpt", **kw)
    m.pop("runtime_s")
    m_ref.pop("runtime_s")
    assert m == m_ref
    _same(_outputs(out), _outputs(ref))
    assert not ck.exists()  # removed once the outputs are written


def test_changed_target_is_not_resumed(tmp_path, gpt_lm, caplog) -> None:
    ck = tmp_path / "ck"
    fit_gpt_regression(_splits(tmp_path / "a"), tmp_path / "a" / "out", gpt_lm, "gpt", ckpt_dir=ck,
                       stop_at=4, **KW)  # fmt: skip
    # a 0.25 shift of one target: the same integer part, another fingerprint
    with caplog.at_level(logging.INFO, logger="dnalm.finetune"):
        fit_gpt_regression(_splits(tmp_path / "b", bump=0.25), tmp_path / "b" / "out", gpt_lm, "gpt",
                           ckpt_dir=ck, stop_at=3, **KW)  # fmt: skip
    assert "resumed from" not in caplog.text
    assert "not resuming from it" in caplog.text and "data.train: n=192 sha256:" in caplog.text
    stale = [p for p in ck.iterdir() if p.is_dir()]
    assert len(stale) == 1 and [p.name for p in stale[0].iterdir()] == ["step000000004.pt"]
    assert [s for s, _ in ckpt.list_checkpoints(ck)] == [3]


def test_regression_fingerprint(tmp_path, gpt_lm) -> None:
    splits = _splits(tmp_path)
    rows, names = read_regression_split(splits["train"])
    seqs = [r.sequence for r in rows]
    y = np.array([r.value for r in rows])
    x = np.array([r.features for r in rows])
    dev = (seqs[:5], y[:5], x[:5])
    pre = regression_fingerprint("gpt", "pretrained", gpt_lm, names, {"lr": 1e-3}, (seqs, y, x), dev)
    scratch = regression_fingerprint("gpt-scratch", "scratch", gpt_lm, names, {"lr": 1e-3}, (seqs, y, x), dev)
    assert set(pre["lm"]) == {"config.json", "vocab.txt", "model.safetensors"}
    assert set(scratch["lm"]) == {"config.json", "vocab.txt"}  # scratch ignores the weights
    assert pre == regression_fingerprint("gpt", "pretrained", gpt_lm, names, {"lr": 1e-3}, (seqs, y, x), dev)
    x2 = x.copy()
    x2[3, 1] += 1e-9  # a feature value, exactly
    other = regression_fingerprint("gpt", "pretrained", gpt_lm, names, {"lr": 1e-3}, (seqs, y, x2), dev)
    assert other["data"]["train"] != pre["data"]["train"] and other["data"]["dev"] == pre["data"]["dev"]


def test_scratch_regression_starts_from_random_weights(tmp_path, gpt_lm) -> None:
    splits = _splits(tmp_path)
    kw = {**KW, "min_steps": 12}
    pre = fit_gpt_regression(splits, tmp_path / "pre", gpt_lm, "gpt", **kw)
    scr = fit_gpt_regression(splits, tmp_path / "scr", gpt_lm, "gpt-scratch", scratch=True, **kw)
    assert pre["init"] == "pretrained" and scr["init"] == "scratch" and scr["model"] == "gpt-scratch"
    a, b = _outputs(tmp_path / "pre")[3], _outputs(tmp_path / "scr")[3]
    assert a.keys() == b.keys()
    key = next(k for k in a if k.endswith("h.0.attn.c_attn.weight"))
    assert a[key].shape == b[key].shape and not np.array_equal(a[key], b[key])
