"""Tests of dnalm.checkpoint: atomic, complete, weights-only checkpoints."""

import os
import random
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from dnalm import checkpoint as ckpt


def _state(v: float):
    return {"model": {"w": torch.full((3, 3), v)}, "epoch": 1, "cursor": 2, "rows": [{"a": 1.5, "s": "x"}]}


def test_save_load_keep_last(tmp_path):
    for step in (10, 20, 30):
        path = ckpt.save_checkpoint(tmp_path, step, _state(step), keep=2)
        assert path == ckpt.checkpoint_path(tmp_path, step)
    assert [s for s, _ in ckpt.list_checkpoints(tmp_path)] == [20, 30]
    path, state = ckpt.latest_checkpoint(tmp_path)
    assert path.name == "step000000030.pt" and state["step"] == 30
    assert torch.equal(state["model"]["w"], torch.full((3, 3), 30.0))
    assert state["rows"] == [{"a": 1.5, "s": "x"}]
    assert ckpt.latest_checkpoint(tmp_path / "none") is None


def test_rejects_non_plain_state(tmp_path):
    with pytest.raises(TypeError, match=r"state\['bad'\]"):
        ckpt.save_checkpoint(tmp_path, 1, {"bad": object()})
    with pytest.raises(TypeError, match="ndarray"):
        ckpt.save_checkpoint(tmp_path, 1, {"x": [np.zeros(2)]})
    assert ckpt.list_checkpoints(tmp_path) == []


def test_load_is_weights_only(tmp_path):
    """A checkpoint holding an arbitrary pickled object is refused, not executed."""
    bad = ckpt.checkpoint_path(tmp_path, 5)
    torch.save({"step": 5, "obj": _Opaque()}, bad)
    with pytest.raises(ValueError, match="weights-only"):
        ckpt.load_checkpoint(bad)
    # latest_checkpoint falls back to an older usable one
    ckpt.save_checkpoint(tmp_path, 4, _state(4), keep=5)
    path, state = ckpt.latest_checkpoint(tmp_path)
    assert state["step"] == 4


class _Opaque:
    pass


def test_crash_mid_write_keeps_previous(tmp_path):
    """SIGKILL while the next checkpoint is being written: the previous one stays usable."""
    ckpt.save_checkpoint(tmp_path, 1, _state(1.0))
    code = textwrap.dedent(f"""
        import os, signal, torch
        from dnalm import checkpoint as ckpt
        real_save = torch.save
        def dying_save(obj, fh):
            real_save(obj, fh)
            fh.flush()
            os.kill(os.getpid(), signal.SIGKILL)  # after the bytes, before os.replace
        torch.save = dying_save
        ckpt.save_checkpoint({str(tmp_path)!r}, 2, {{"model": {{"w": torch.zeros(1000, 1000)}}}})
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert list(tmp_path.glob(".step000000002.pt.tmp-*"))  # the partial file is there...
    path, state = ckpt.latest_checkpoint(tmp_path)  # ...but never taken for a checkpoint
    assert state["step"] == 1 and torch.equal(state["model"]["w"], torch.ones(3, 3))
    ckpt.save_checkpoint(tmp_path, 3, _state(3.0))
    assert not list(tmp_path.glob(".*.tmp-*"))  # stale temporaries are cleaned up


def test_truncated_newest_falls_back(tmp_path):
    ckpt.save_checkpoint(tmp_path, 1, _state(1.0), keep=3)
    p2 = ckpt.save_checkpoint(tmp_path, 2, _state(2.0), keep=3)
    data = p2.read_bytes()
    p2.write_bytes(data[: len(data) // 2])
    path, state = ckpt.latest_checkpoint(tmp_path)
    assert state["step"] == 1


def test_rng_roundtrip_survives_weights_only(tmp_path):
    random.seed(1)
    np.random.seed(2)  # noqa: NPY002
    torch.manual_seed(3)
    state = ckpt.capture_rng()
    expected = (random.random(), np.random.rand(), torch.rand(1).item())  # noqa: NPY002
    ckpt.save_checkpoint(tmp_path, 1, {"rng": state})
    random.seed(9)
    np.random.seed(9)  # noqa: NPY002
    torch.manual_seed(9)
    ckpt.restore_rng(ckpt.load_checkpoint(ckpt.checkpoint_path(tmp_path, 1))["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected  # noqa: NPY002


def test_keep_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="keep"):
        ckpt.save_checkpoint(tmp_path, 1, {}, keep=0)
    assert os.listdir(tmp_path) == []
