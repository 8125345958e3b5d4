"""TF-MoDISco (the ``modisco-lite`` package, ``modiscolite``) on attribution maps: run it, save its
HDF5 report format, and read the patterns back as trimmed probability matrices.

The HDF5 file is modisco-lite's own (``modisco motifs`` writes the same layout: groups
``pos_patterns``/``neg_patterns`` of ``pattern_<i>`` with ``sequence``, ``contrib_scores``,
``hypothetical_contribs`` and ``seqlets/{n_seqlets,start,end,example_idx,is_revcomp,...}``, and the
root attribute ``window_size``), so ``modisco report`` and ``modisco meme`` read it too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dnalm.atomic import atomic_path

__all__ = ["ModiscoRun", "Pattern", "read_patterns", "run_modisco", "trim_bounds"]

log = logging.getLogger("dnalm.attribution_motifs")

_GROUPS = ("pos_patterns", "neg_patterns")


@dataclass(frozen=True)
class ModiscoRun:
    """What one TF-MoDISco run found.

    Attributes
    ----------
    pos_patterns, neg_patterns : list
        modiscolite ``SeqletSet`` patterns of the positive / negative metacluster (empty lists
        when a metacluster had too few seqlets or no pattern passed).
    n_pos_seqlets, n_neg_seqlets : int
        Seqlets above / below the FDR threshold, before clustering.
    threshold : float
        The seqlet score threshold modisco chose.
    offset : int
        Index of the first base modisco saw in each input row (``window`` cropping).
    """

    pos_patterns: list
    neg_patterns: list
    n_pos_seqlets: int
    n_neg_seqlets: int
    threshold: float
    offset: int


@dataclass(frozen=True)
class Pattern:
    """One TF-MoDISco pattern, trimmed to its informative core.

    Attributes
    ----------
    name : str
        ``pos_patterns.pattern_<i>`` / ``neg_patterns.pattern_<i>`` (modisco's own names).
    ppm : numpy.ndarray, shape=(w, 4)
        A, C, G, T probabilities of the trimmed core (rows sum to 1).
    cwm : numpy.ndarray, shape=(w, 4)
        Contribution weight matrix of the same core.
    trim : tuple of int
        ``[start, end)`` of the core in modisco's untrimmed pattern.
    n_seqlets : int
    example_idx, start, end : numpy.ndarray of int64, shape=(n_seqlets,)
        Each seqlet's row (in the input handed to modisco) and 0-based half-open span in the
        (cropped) sequence.
    is_revcomp : numpy.ndarray of bool, shape=(n_seqlets,)
    """

    name: str
    ppm: np.ndarray
    cwm: np.ndarray
    trim: tuple[int, int]
    n_seqlets: int
    example_idx: np.ndarray
    start: np.ndarray
    end: np.ndarray
    is_revcomp: np.ndarray


def _crop(x: np.ndarray, window: int | None) -> tuple[np.ndarray, int]:
    L = x.shape[1]
    if window is None or window >= L:
        return x, 0
    lo = (L - window) // 2
    return x[:, lo : lo + window], lo


def run_modisco(
    onehot: np.ndarray,
    hyp: np.ndarray,
    window: int | None = None,
    sliding_window_size: int = 21,
    flank_size: int = 10,
    max_seqlets: int = 20000,
    n_leiden_runs: int = 50,
    min_metacluster_size: int = 100,
    final_min_cluster_size: int = 20,
    target_seqlet_fdr: float = 0.2,
    verbose: bool = False,
) -> ModiscoRun:
    """Run TF-MoDISco on one-hot sequences and their hypothetical contributions.

    Parameters
    ----------
    onehot : numpy.ndarray, shape=(n, L, 4)
        A, C, G, T one-hot (all-zero rows for N).
    hyp : numpy.ndarray, shape=(n, L, 4)
        Hypothetical contributions.
    window : int, optional
        Keep only the central ``window`` bases of each row (modisco's ``-w``). Default is None
        (the whole row).
    sliding_window_size, flank_size, max_seqlets, n_leiden_runs, min_metacluster_size, \
final_min_cluster_size, target_seqlet_fdr : optional
        modiscolite's ``TFMoDISco`` arguments (``max_seqlets`` is its
        ``max_seqlets_per_metacluster``); the defaults are modisco-lite's.
    verbose : bool, optional
        Default is False.

    Returns
    -------
    ModiscoRun

    Raises
    ------
    ValueError
        Shapes that disagree, or rows too short for ``sliding_window_size + 2 * flank_size``.
    """
    from modiscolite import extract_seqlets, precompile, tfmodisco

    # Before any numba kernel runs: turns on numba's on-disk cache for modisco's kernels (and
    # compiles them in forked children), as TFMoDISco would on its own; once a thread pool
    # exists it declines, and every run would compile its kernels afresh (~50 s on 2 cores).
    precompile.start()
    onehot = np.asarray(onehot, dtype=np.float32)
    hyp = np.asarray(hyp, dtype=np.float32)
    if onehot.ndim != 3 or onehot.shape[2] != 4 or hyp.shape != onehot.shape:
        raise ValueError(f"`onehot` {onehot.shape} and `hyp` {hyp.shape} must both be (n, L, 4)")
    onehot, offset = _crop(onehot, window)
    hyp, _ = _crop(hyp, window)
    need = sliding_window_size + 2 * flank_size + 1
    if onehot.shape[1] < need:
        raise ValueError(
            f"rows of {onehot.shape[1]} bp are too short for sliding_window_size "
            f"{sliding_window_size} + 2 x flank_size {flank_size} (need >= {need})"
        )
    if onehot.shape[0] == 0:
        return ModiscoRun([], [], 0, 0, float("nan"), offset)
    onehot = np.ascontiguousarray(onehot)
    hyp = np.ascontiguousarray(hyp)
    # The seqlets modisco calls (its own extraction, same arguments), counted by sign: the
    # numbers that say why nothing clustered when it returns no pattern.
    contrib = (onehot * hyp).sum(axis=2)
    coords, threshold = extract_seqlets.extract_seqlets(
        attribution_scores=contrib.copy(),
        window_size=sliding_window_size,
        flank=flank_size,
        suppress=int(0.5 * sliding_window_size) + flank_size,
        target_fdr=target_seqlet_fdr,
        min_passing_windows_frac=0.03,
        max_passing_windows_frac=0.2,
        weak_threshold_for_counting_sign=0.8,
    )
    n_pos = n_neg = 0
    for c in coords:
        s = float(contrib[c.example_idx, c.start + flank_size : c.end - flank_size].sum())
        n_pos += s > threshold
        n_neg += s < -threshold
    pos, neg = tfmodisco.TFMoDISco(
        one_hot=onehot,
        hypothetical_contribs=hyp,
        sliding_window_size=sliding_window_size,
        flank_size=flank_size,
        max_seqlets_per_metacluster=max_seqlets,
        n_leiden_runs=n_leiden_runs,
        min_metacluster_size=min_metacluster_size,
        final_min_cluster_size=final_min_cluster_size,
        target_seqlet_fdr=target_seqlet_fdr,
        verbose=verbose,
    )
    return ModiscoRun(list(pos or []), list(neg or []), int(n_pos), int(n_neg),
                      float(threshold), offset)  # fmt: skip


def write_h5(run: ModiscoRun, path: str | Path, window_size: int) -> Path:
    """Save a run in modisco-lite's HDF5 report format (atomically; ``modiscolite.io.save_pattern``).

    Both groups are always written (empty when a metacluster found nothing), so a reader can
    tell "ran, found nothing" from a missing run.
    """
    import h5py
    from modiscolite.io import save_pattern

    path = Path(path)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["window_size"] = int(window_size)
            f.attrs["n_pos_seqlets"] = run.n_pos_seqlets
            f.attrs["n_neg_seqlets"] = run.n_neg_seqlets
            f.attrs["seqlet_threshold"] = run.threshold
            f.attrs["offset"] = run.offset
            for group, patterns in zip(_GROUPS, (run.pos_patterns, run.neg_patterns), strict=True):
                g = f.create_group(group)
                for i, pattern in enumerate(patterns):
                    save_pattern(pattern, g.create_group(f"pattern_{i}"))
    return path


def trim_bounds(cwm: np.ndarray, trim_threshold: float = 0.3) -> tuple[int, int]:
    """``[start, end)`` of the positions whose summed ``|cwm|`` reaches ``trim_threshold`` x the
    maximum (the rule ``modisco report`` trims patterns with before TOMTOM)."""
    score = np.abs(np.asarray(cwm, dtype=np.float64)).sum(axis=1)
    keep = np.flatnonzero(score >= score.max() * trim_threshold)
    if keep.size == 0:  # all-zero CWM
        return 0, int(score.size)
    return int(keep.min()), int(keep.max()) + 1


def read_patterns(path: str | Path, trim_threshold: float = 0.3) -> list[Pattern]:
    """Patterns of a modisco-lite HDF5 file, positive metacluster first, in pattern order.

    Parameters
    ----------
    path : str or pathlib.Path
    trim_threshold : float, optional
        See :func:`trim_bounds`. Default is 0.3 (modisco's).

    Returns
    -------
    list of Pattern

    Raises
    ------
    ValueError
        ``"<path>: ..."`` for a file without either pattern group or a malformed pattern.
    """
    import h5py

    path = Path(path)
    out: list[Pattern] = []
    with h5py.File(path, "r") as f:
        if not any(g in f for g in _GROUPS):
            raise ValueError(f"{path}: no pos_patterns or neg_patterns group (not a modisco-lite file?)")
        for group in _GROUPS:
            if group not in f:
                continue
            names = sorted(f[group], key=lambda s: int(s.rsplit("_", 1)[-1]))
            for name in names:
                g = f[group][name]
                try:
                    seq = np.asarray(g["sequence"][:], dtype=np.float64)
                    cwm = np.asarray(g["contrib_scores"][:], dtype=np.float64)
                    s = g["seqlets"]
                    fields: dict[str, Any] = {k: np.asarray(s[k][:]) for k in
                                              ("start", "end", "example_idx", "is_revcomp")}  # fmt: skip
                except KeyError as e:
                    raise ValueError(f"{path}: {group}/{name} lacks {e.args[0]!r}") from None
                if seq.ndim != 2 or seq.shape[1] != 4 or cwm.shape != seq.shape:
                    raise ValueError(f"{path}: {group}/{name}: sequence {seq.shape} / contrib_scores "
                                     f"{cwm.shape} are not (w, 4)")  # fmt: skip
                a, b = trim_bounds(cwm, trim_threshold)
                ppm = seq[a:b] + 1e-9
                ppm = ppm / ppm.sum(axis=1, keepdims=True)
                out.append(Pattern(
                    name=f"{group}.{name}", ppm=ppm, cwm=cwm[a:b], trim=(a, b),
                    n_seqlets=int(fields["start"].size),
                    example_idx=fields["example_idx"].astype(np.int64),
                    start=fields["start"].astype(np.int64), end=fields["end"].astype(np.int64),
                    is_revcomp=fields["is_revcomp"].astype(bool),
                ))  # fmt: skip
    return out
