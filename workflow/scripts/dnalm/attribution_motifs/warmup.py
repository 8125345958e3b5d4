"""Compile TF-MoDISco's and TOMTOM's numba kernels into numba's on-disk cache, once per install.

modisco-lite and memelite compile their kernels on first use and cache them beside their
sources. In a fresh environment the first ``attribution_motifs`` jobs each compile them (about
110 s on one thread; bench/README.md "Where the AVX2 demo's time goes"), and jobs that start
together each pay it. ``make setup`` runs this module once after installing, the way pip
byte-compiles modules at install time: a small TF-MoDISco run and a TOMTOM match on planted
synthetic maps, through the same functions and argument types the rule uses
(:func:`dnalm.attribution_motifs.run_modisco`, :func:`dnalm.tomtom.match_motifs`).

    python -m dnalm.attribution_motifs.warmup
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["planted_maps", "warm_kernels", "main"]

log = logging.getLogger("dnalm.attribution_motifs.warmup")


def planted_maps(n: int, length: int = 101, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic attribution maps in the contract's layout (float32, shape ``(n, length, 4)``).

    Every other row carries a ``CTCF_like`` instance (:data:`dnalm.sim.presets.PWMS`) sampled
    from its PWM, whose hypothetical contributions are the PWM's centred log-odds; all rows
    add Gaussian noise (sd 0.05), and contributions are centred per base.
    """
    from dnalm.sim.presets import PWMS

    rng = np.random.default_rng(seed)
    onehot = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, length))]
    hyp = rng.normal(0, 0.05, (n, length, 4)).astype(np.float32)
    pwm = PWMS["CTCF_like"]
    w = pwm.shape[0]
    if length < w + 20:
        raise ValueError(
            f"`length` {length} leaves no room for a {w}-bp instance and 10-bp margins"
        )
    lo = np.log2(pwm / 0.25)
    lo -= lo.mean(axis=1, keepdims=True)
    cum = pwm.cumsum(axis=1)
    for i in range(0, n, 2):
        s = int(rng.integers(10, length - w - 10))
        bases = (rng.random((w, 1)) > cum).sum(axis=1).clip(0, 3)
        onehot[i, s : s + w] = np.eye(4, dtype=np.float32)[bases]
        hyp[i, s : s + w] += lo.astype(np.float32)
    hyp -= hyp.mean(axis=-1, keepdims=True)
    return onehot, hyp


def warm_kernels(n: int = 300, seed: int = 0) -> dict[str, float | int | bool]:
    """Run TF-MoDISco and TOMTOM once on :func:`planted_maps`, so their kernels are compiled
    and cached.

    Settings are the demo's (15-bp seqlet cores, 5-bp flanks, 2 Leiden runs, clusters of 20).

    Returns
    -------
    dict
        ``seconds``, ``patterns`` (TF-MoDISco patterns found), ``matched`` (TOMTOM matched
        the planted ``CTCF_like`` at q < 0.05): a run that found nothing compiled less.
    """
    from dnalm.attribution_motifs.modisco import read_patterns, run_modisco, write_h5
    from dnalm.meme import write_meme
    from dnalm.sim.presets import PWMS
    from dnalm.tomtom import match_motifs

    t0 = time.perf_counter()
    onehot, hyp = planted_maps(n, seed=seed)
    run = run_modisco(onehot, hyp, sliding_window_size=15, flank_size=5, n_leiden_runs=2,
                      min_metacluster_size=20, final_min_cluster_size=20)  # fmt: skip
    matched = False
    with tempfile.TemporaryDirectory() as d:
        write_h5(run, Path(d) / "m.h5", 15)
        patterns = read_patterns(Path(d) / "m.h5")
        if patterns:
            write_meme(Path(d) / "p.meme", {p.name: p.ppm for p in patterns})
            write_meme(Path(d) / "k.meme", PWMS)
            quiet = logging.getLogger("dnalm.tomtom")  # its few-targets p-value warning: moot here
            level = quiet.level
            quiet.setLevel(logging.ERROR)
            try:
                m = match_motifs(Path(d) / "p.meme", Path(d) / "k.meme")
            finally:
                quiet.setLevel(level)
            matched = bool((m[m["target"] == "CTCF_like"]["q"] < 0.05).any())
    return {"seconds": round(time.perf_counter() - t0, 1), "patterns": len(patterns),
            "matched": matched}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=300, help="synthetic sequences (default 300)")
    a = ap.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    r = warm_kernels(a.n)
    if not r["matched"]:
        log.error("TF-MoDISco found %d patterns and TOMTOM matched no planted motif: the kernels "
                  "those steps use may not be compiled", r["patterns"])  # fmt: skip
        return 1
    log.info("TF-MoDISco and TOMTOM kernels compiled and cached in %.1f s (%d patterns, the planted "
             "motif matched)", r["seconds"], r["patterns"])  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
