"""Complete, atomic training checkpoints that load without unrestricted pickle.

A checkpoint is one file ``step{step:09d}.pt`` in an (undeclared) checkpoint directory.
It is written to a temporary file in the same directory, flushed and fsynced, then
``os.replace``d into place, so a file with the final name is always complete; a crash
mid-write leaves only a stray temporary file (removed by the next save) and the previous
checkpoint intact. Only tensors and plain Python types (dict, list, int, float, str,
bool, None) are stored, so :func:`load_checkpoint` uses ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import logging
import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "checkpoint_path",
    "list_checkpoints",
    "save_checkpoint",
    "load_checkpoint",
    "latest_checkpoint",
    "remove_checkpoints",
    "capture_rng",
    "restore_rng",
]

log = logging.getLogger("dnalm.checkpoint")

_NAME = re.compile(r"^step(\d{9})\.pt$")


def checkpoint_path(ckpt_dir: str | Path, step: int) -> Path:
    """Path of the checkpoint for ``step``."""
    return Path(ckpt_dir) / f"step{int(step):09d}.pt"


def list_checkpoints(ckpt_dir: str | Path) -> list[tuple[int, Path]]:
    """Complete checkpoints in ``ckpt_dir`` as ``(step, path)``, oldest first."""
    d = Path(ckpt_dir)
    if not d.is_dir():
        return []
    out = []
    for p in d.iterdir():
        m = _NAME.match(p.name)
        if m and p.is_file():
            out.append((int(m.group(1)), p))
    return sorted(out)


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_PLAIN = (int, float, str, bool, type(None), torch.Tensor)


def _check_plain(obj: Any, where: str) -> None:
    """Raise ``TypeError`` naming the entry when ``obj`` holds anything but tensors/plain types."""
    if isinstance(obj, dict):
        for key, v in obj.items():
            if not isinstance(key, int | str):
                raise TypeError(f"`{where}` has a {type(key).__name__} key; only str/int keys load")
            _check_plain(v, f"{where}[{key!r}]")
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            _check_plain(v, f"{where}[{i}]")
    elif not isinstance(obj, _PLAIN):
        raise TypeError(
            f"`{where}` is a {type(obj).__name__}; checkpoints hold only tensors and plain types"
        )


def save_checkpoint(ckpt_dir: str | Path, step: int, state: dict[str, Any], keep: int = 2) -> Path:
    """Atomically write ``state`` as the checkpoint for ``step`` and keep the newest ``keep``.

    Parameters
    ----------
    ckpt_dir : str or Path
        Created if missing.
    step : int
        Optimizer steps completed.
    state : dict
        Tensors and plain Python types only (checked before writing, since
        :func:`load_checkpoint` would reject anything else).
    keep : int, optional
        Number of complete checkpoints to keep (older ones are deleted after the new one is
        in place). Default is 2.

    Returns
    -------
    Path
        The checkpoint file.
    """
    if keep < 1:
        raise ValueError(f"`keep` must be >= 1, got {keep}")
    _check_plain(state, "state")
    d = Path(ckpt_dir)
    d.mkdir(parents=True, exist_ok=True)
    for stale in d.glob(".step*.pt.tmp-*"):  # left by a crash mid-write
        stale.unlink(missing_ok=True)
    final = checkpoint_path(d, step)
    tmp = d / f".{final.name}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as fh:
            torch.save({**state, "step": int(step)}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(d)
    for _, old in list_checkpoints(d)[:-keep]:
        old.unlink(missing_ok=True)
    return final


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``torch.load(weights_only=True)`` (no arbitrary code on load)."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f"{path}: not a readable weights-only checkpoint ({e})") from e
    if not isinstance(state, dict) or "step" not in state:
        raise ValueError(f"{path}: checkpoint has no 'step' entry")
    return state


def latest_checkpoint(
    ckpt_dir: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint that loads, as ``(path, state)``; None when there is none.

    An unreadable newest file (e.g. a truncated disk) is skipped with a warning, falling back
    to the previous one.
    """
    for _, path in reversed(list_checkpoints(ckpt_dir)):
        try:
            return path, load_checkpoint(path, map_location)
        except ValueError as e:
            log.warning("skipping unusable checkpoint: %s", e)
    return None


def remove_checkpoints(ckpt_dir: str | Path) -> int:
    """Delete every checkpoint (and stray temporary file) of ``ckpt_dir``; return how many.

    The directory itself is removed when that leaves it empty (``stale-*`` subfolders and
    other files are kept).
    """
    d = Path(ckpt_dir)
    if not d.is_dir():
        return 0
    found = list_checkpoints(d)
    for _, path in found:
        path.unlink(missing_ok=True)
    for stale in d.glob(".step*.pt.tmp-*"):
        stale.unlink(missing_ok=True)
    if not any(d.iterdir()):
        d.rmdir()
    return len(found)


def capture_rng() -> dict[str, Any]:
    """Python, NumPy (legacy global), torch and CUDA RNG states as tensors and plain types."""
    version, internal, gauss = random.getstate()
    np_state = np.random.get_state()  # noqa: NPY002 - the legacy global stream is state too
    state: dict[str, Any] = {
        "python": {"version": int(version), "state": list(internal), "gauss": gauss},
        "numpy": {
            "kind": str(np_state[0]),
            "keys": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng`."""
    py = state["python"]
    random.setstate((py["version"], tuple(int(x) for x in py["state"]), py["gauss"]))
    npst = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        (
            npst["kind"],
            npst["keys"].numpy().astype(np.uint32),
            npst["pos"],
            npst["has_gauss"],
            npst["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"].cpu())
    if state.get("cuda") and torch.cuda.is_available():
        cuda = [t.cpu() for t in state["cuda"]][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(cuda)
