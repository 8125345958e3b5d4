"""Checks BERT (tests/test_pretrain.py) and GPT (tests/test_gpt_pretrain.py) pretraining share:
a run stopped at a step, or signalled mid-way, resumes from its checkpoint and ends as the
uninterrupted run does (both use :mod:`dnalm.pretrain.runtime`).

``run(d, **kw)`` trains into ``d`` (``model/``, ``checkpoints/``, ``train_log.tsv``) and returns
the result dict; ``compare(d)`` asserts that ``d`` equals the uninterrupted run.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from dnalm import checkpoint as ckpt
from dnalm.pretrain import PreemptedError

Run = Callable[..., dict[str, Any]]


def model_weights(d: Path) -> dict[str, torch.Tensor]:
    """The saved weights of the run in ``d`` (``model/model.safetensors``)."""
    from safetensors.torch import load_file

    return load_file(str(d / "model" / "model.safetensors"))


def assert_same_weights(d0: Path, d1: Path) -> None:
    """The runs in ``d0`` and ``d1`` saved the same weights (up to float rounding)."""
    w0, w1 = model_weights(d0), model_weights(d1)
    assert set(w0) == set(w1)
    for key in w0:
        torch.testing.assert_close(w1[key], w0[key], rtol=1e-5, atol=1e-6)


def checkpoint_steps(d: Path) -> list[int]:
    return [s for s, _ in ckpt.list_checkpoints(d / "checkpoints")]


def check_resume_after_stop(run: Run, d: Path, compare: Callable[[Path], None], stop_at: int = 5) -> None:
    """Stop at ``stop_at`` (a checkpoint, no final outputs), rerun: resumes there and matches."""
    res = run(d, stop_at=stop_at)
    assert res["status"] == "stopped" and res["step"] == stop_at
    assert not (d / "model").exists() and not (d / "train_log.tsv").exists()
    assert checkpoint_steps(d) == [stop_at]
    res = run(d)
    assert res["resumed_from"] == stop_at and res["status"] == "done"
    compare(d)


def check_signal_resume(run: Run, d: Path, compare: Callable[[Path], None], at: int = 7) -> dict[str, Any]:
    """SIGUSR1 after step ``at``: a checkpoint, PreemptedError (non-zero exit), signal handlers
    restored; the rerun resumes there and matches. Returns the checkpoint the signal wrote."""

    def send(step: int) -> None:
        if step == at:
            os.kill(os.getpid(), signal.SIGUSR1)

    with pytest.raises(PreemptedError, match="signal"):
        run(d, on_step=send)
    assert checkpoint_steps(d) == [at]
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL
    _, state = ckpt.latest_checkpoint(d / "checkpoints")
    assert run(d)["resumed_from"] == at
    compare(d)
    return state
