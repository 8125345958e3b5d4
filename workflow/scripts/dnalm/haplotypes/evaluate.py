"""Evaluate artificial haplotypes against held-out real ones: a metrics table with bootstrap
confidence intervals, a summary and figures, for a model and the controls beside it.

``metrics.tsv`` columns: ``sampler metric value ci_low ci_high n_boot``. Metrics (see
:mod:`dnalm.haplotypes.compare`):

- ``af_corr``, ``ld_corr`` - AF and LD (r², pairs at most ``ld_window`` sites apart) correlation
  with the held-out haplotypes; 95% percentile intervals from resampling the haplotypes of
  both sets with replacement;
- ``pca_nn_accuracy`` - nearest-neighbour adversarial accuracy in the space of the first
  ``n_components`` PCs of the held-out haplotypes (0.5 = overlap); ``pca_centroid_shift`` -
  distance between the two centroids in that space over the real points' RMS distance to
  theirs; intervals resample the per-point values;
- ``dist_real_real``, ``dist_art_real``, ``dist_art_art`` - mean pairwise Hamming distance
  (fraction of sites); ``dist_wasserstein`` - 1-D Wasserstein distance between the
  artificial-real and real-real distance distributions (0 = same); ``nn_train`` - median
  distance of an artificial haplotype to its nearest training haplotype, and
  ``memorisation_ratio`` - that median over the held-out haplotypes' own (0 for copies, about
  1 for haplotypes as close to the training set as unseen real ones, above 1 for haplotypes
  farther away than real relatives are); intervals resample haplotypes.

Intervals are 95% percentile bootstrap intervals shifted to centre on the estimate (see
:func:`_ci`); ``dist_wasserstein`` and the ``held_out`` references have none.

A ``held_out`` row set gives the references: ``nn_train`` of the real held-out haplotypes and
``af_corr``/``ld_corr`` between two random halves of them (the ceiling sampling noise allows).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from dnalm import atomic
from dnalm.haplotypes import compare as C

__all__ = ["evaluate_haplotypes", "evaluate_sets"]

log = logging.getLogger(__name__)
COLUMNS = ("sampler", "metric", "value", "ci_low", "ci_high", "n_boot")


def _ci(
    draws: list[float], estimate: float | None = None, alpha: float = 0.05
) -> tuple[float, float]:
    """Percentile interval of ``draws``, shifted by ``estimate - median(draws)`` when an estimate
    is given: resampling with replacement repeats haplotypes, which adds sampling noise and
    pulls correlations down (and distances between centroids up); the shift removes that bias."""
    v = np.asarray(draws, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 10:
        return float("nan"), float("nan")
    lo, hi = np.quantile(v, [alpha / 2, 1 - alpha / 2])
    if estimate is not None and np.isfinite(estimate):
        shift = estimate - float(np.median(v))
        lo, hi = lo + shift, hi + shift
    return float(lo), float(hi)


def _boot(stat: Callable[[np.ndarray, np.ndarray], float], n_r: int, n_a: int, n_boot: int,
          rng: np.random.Generator) -> tuple[float, float]:  # fmt: skip
    """Bias-shifted percentile interval of ``stat(real rows, artificial rows)`` (both resampled)."""
    if n_boot <= 0:
        return float("nan"), float("nan")
    estimate = stat(np.arange(n_r), np.arange(n_a))
    return _ci(
        [stat(rng.integers(0, n_r, n_r), rng.integers(0, n_a, n_a)) for _ in range(n_boot)],
        estimate,
    )


def evaluate_sets(
    real: np.ndarray,
    art: np.ndarray,
    train: np.ndarray,
    ld_window: int = 50,
    n_components: int = 10,
    n_boot: int = 200,
    seed: int = 1,
) -> tuple[dict[str, tuple[float, float, float]], dict[str, np.ndarray]]:
    """All metrics of one artificial set against the held-out real set.

    Parameters
    ----------
    real, art, train : numpy.ndarray, shape=(n_*, n_sites), values 0/1
    ld_window : int, optional
        Default is 50.
    n_components : int, optional
        Default is 10.
    n_boot : int, optional
        Bootstrap resamples (0: no intervals). Default is 200.
    seed : int, optional
        Default is 1.

    Returns
    -------
    metrics : dict
        ``{metric: (value, ci_low, ci_high)}``.
    arrays : dict
        What the figures draw: AFs, LD pairs, PCA projections, distance samples.
    """
    real = np.asarray(real, dtype=np.int8)
    art = np.asarray(art, dtype=np.int8)
    rng = np.random.default_rng(seed)
    n_r, n_a = len(real), len(art)
    out: dict[str, tuple[float, float, float]] = {}
    nan2 = (float("nan"), float("nan"))

    def put(name: str, value: float, ci: tuple[float, float]) -> None:
        out[name] = (float(value), *ci)

    # allele frequencies and LD
    put(
        "af_corr",
        C.af_correlation(real, art),
        _boot(lambda i, j: C.af_correlation(real[i], art[j]), n_r, n_a, n_boot, rng),
    )
    pi, pj, r2_real = C.ld_pairs_r2(real, ld_window)
    r2_art = C.ld_pairs_r2(art, ld_window)[2]
    ld = lambda i, j: C.ld_correlation(real[i], art[j], ld_window)  # noqa: E731
    put("ld_corr", C.pearson(r2_real, r2_art), _boot(ld, n_r, n_a, n_boot, rng))
    # PCA overlap
    pr, (pa,), ratio = C.pca_fit_project(real, [art], n_components)
    aa, real_ok, art_ok = C.nn_adversarial_accuracy(pr, pa)
    ok_ci = _ci([0.5 * (real_ok[rng.integers(0, n_r, n_r)].mean() + art_ok[rng.integers(0, n_a, n_a)].mean())
                 for _ in range(n_boot)])  # fmt: skip
    put("pca_nn_accuracy", aa, ok_ci)

    def shift(i: np.ndarray, j: np.ndarray) -> float:
        c = pr[i].mean(0)
        return float(np.linalg.norm(pa[j].mean(0) - c) / np.sqrt(((pr[i] - c) ** 2).sum(1).mean()))

    put(
        "pca_centroid_shift",
        shift(np.arange(n_r), np.arange(n_a)),
        _boot(shift, n_r, n_a, n_boot, rng),
    )
    # distances
    d_rr, d_ar, d_aa = C.hamming(real, real), C.hamming(art, real), C.hamming(art, art)
    iu_r, iu_a = np.triu_indices(n_r, 1), np.triu_indices(n_a, 1)

    def within(d: np.ndarray, idx: np.ndarray) -> float:
        sub = d[np.ix_(idx, idx)]
        n = len(idx)
        return float((sub.sum() - np.trace(sub)) / max(n * (n - 1), 1))

    put(
        "dist_real_real",
        d_rr[iu_r].mean(),
        _boot(lambda i, j: within(d_rr, i), n_r, n_a, n_boot, rng),
    )
    put(
        "dist_art_real",
        d_ar.mean(),
        _boot(lambda i, j: d_ar[np.ix_(j, i)].mean(), n_r, n_a, n_boot, rng),
    )
    put(
        "dist_art_art",
        d_aa[iu_a].mean(),
        _boot(lambda i, j: within(d_aa, j), n_r, n_a, n_boot, rng),
    )
    from scipy.stats import wasserstein_distance

    sub = rng.permutation(d_ar.size)[:20000]
    put("dist_wasserstein", wasserstein_distance(d_ar.ravel()[sub], d_rr[iu_r]), nan2)
    nn_art = C.nearest_distance(art, train)
    nn_real = C.nearest_distance(real, train)
    put(
        "nn_train",
        np.median(nn_art),
        _boot(lambda i, j: np.median(nn_art[j]), n_r, n_a, n_boot, rng),
    )
    base = float(np.median(nn_real))

    def ratio_fn(i: np.ndarray, j: np.ndarray) -> float:
        den = np.median(nn_real[i])
        return float(np.median(nn_art[j]) / den) if den > 0 else float("nan")

    put("memorisation_ratio", np.median(nn_art) / base if base > 0 else float("nan"),
        _boot(ratio_fn, n_r, n_a, n_boot, rng))  # fmt: skip
    arrays = {
        "af_real": C.allele_frequencies(real), "af_art": C.allele_frequencies(art),
        "ld_i": pi, "ld_j": pj, "r2_real": r2_real, "r2_art": r2_art,
        "pc_real": pr, "pc_art": pa, "pc_ratio": ratio,
        "d_rr": d_rr[iu_r], "d_ar": d_ar.ravel()[sub], "d_aa": d_aa[iu_a], "nn_art": nn_art, "nn_real": nn_real,
    }  # fmt: skip
    return out, arrays


def _finite(obj):
    """``obj`` with NaN/inf floats (undefined metrics) as None, so summary.json is strict JSON."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def _held_out_reference(
    real: np.ndarray, train: np.ndarray, ld_window: int, seed: int
) -> dict[str, tuple]:
    """Reference values of the real held-out set: two random halves against each other."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(real))
    a, b = real[perm[: len(real) // 2]], real[perm[len(real) // 2 :]]
    nan2 = (float("nan"), float("nan"))
    nn = C.nearest_distance(real, train)
    return {
        "af_corr": (C.af_correlation(a, b), *nan2),
        "ld_corr": (C.ld_correlation(a, b, ld_window), *nan2),
        "dist_real_real": (
            float(C.hamming(real, real)[np.triu_indices(len(real), 1)].mean()),
            *nan2,
        ),
        "nn_train": (float(np.median(nn)), *nan2),
    }


def evaluate_haplotypes(
    real: np.ndarray,
    train: np.ndarray,
    artificial: Mapping[str, np.ndarray],
    out_dir: str | Path,
    positions: np.ndarray | None = None,
    model: str | None = None,
    ld_window: int = 50,
    n_components: int = 10,
    n_boot: int = 200,
    seed: int = 1,
    extra: Mapping[str, object] | None = None,
) -> dict:
    """Evaluate every artificial set and write ``metrics.tsv``, ``summary.json`` and figures.

    Parameters
    ----------
    real : numpy.ndarray, shape=(n_real, n_sites)
        Held-out real haplotypes.
    train : numpy.ndarray, shape=(n_train, n_sites)
        Training haplotypes (for memorisation distances).
    artificial : mapping
        ``{sampler name: (n, n_sites) matrix}``, the model first, then the controls.
    out_dir : str or os.PathLike
        Gets ``metrics.tsv``, ``summary.json`` and ``figures/{af,ld,pca,distances}.{png,svg}``.
    positions : numpy.ndarray, shape=(n_sites,), optional
        Site positions (bp) for the LD-decay panel. Default is None (site index).
    model : str, optional
        Which sampler is the model (the summary's headline). Default is the first.
    ld_window, n_components, n_boot, seed :
        See :func:`evaluate_sets`.
    extra : mapping, optional
        Added to ``summary.json`` (e.g. the generator's description and decode counts).

    Returns
    -------
    summary : dict
    """
    from dnalm.haplotypes.plots import plot_haplotype_figures

    out_dir = Path(out_dir)
    if not artificial:
        raise ValueError("`artificial` is empty: nothing to evaluate")
    rows: list[tuple] = []
    arrays: dict[str, dict[str, np.ndarray]] = {}
    metrics: dict[str, dict[str, tuple]] = {}
    for k, (name, art) in enumerate(artificial.items()):
        m, arr = evaluate_sets(real, art, train, ld_window, n_components, n_boot, seed + k)
        metrics[name], arrays[name] = m, arr
        rows += [(name, key, *v, n_boot) for key, v in m.items()]
        log.info("%s: %s", name, ", ".join(f"{key} {v[0]:.3f}" for key, v in m.items()))
    ref = _held_out_reference(
        np.asarray(real, np.int8), np.asarray(train, np.int8), ld_window, seed
    )
    rows += [("held_out", key, *v, 0) for key, v in ref.items()]
    text = (
        "\t".join(COLUMNS)
        + "\n"
        + "".join(
            "\t".join([r[0], r[1], *(f"{x:.6g}" for x in r[2:5]), str(r[5])]) + "\n" for r in rows
        )
    )
    atomic.write_text(out_dir / "metrics.tsv", text)
    model = model or next(iter(artificial))
    summary = {
        "model": model,
        "samplers": list(artificial),
        "n_real_held_out": int(len(real)),
        "n_train": int(len(train)),
        "n_sites": int(np.asarray(real).shape[1]),
        "ld_window": ld_window,
        "n_boot": n_boot,
        "metrics": {s: {k: v[0] for k, v in m.items()} for s, m in metrics.items()},
        "held_out_reference": {k: v[0] for k, v in ref.items()},
        **dict(extra or {}),
    }
    atomic.write_json(out_dir / "summary.json", _finite(summary))
    plot_haplotype_figures(arrays, out_dir / "figures", positions)
    return summary


def evaluate_haplotype_files(
    train_npz: str | Path,
    held_out_npz: str | Path,
    artificial_npz: str | Path,
    generate_json: str | Path,
    out_dir: str | Path,
    ld_window: int = 50,
    n_components: int = 10,
    n_boot: int = 200,
    seed: int = 1,
    threads: int = 1,
) -> dict:
    """:func:`evaluate_haplotypes` on the files of rules haplotypes_split and haplotypes_generate.

    Parameters
    ----------
    train_npz, held_out_npz : str or os.PathLike
        :func:`dnalm.haplotypes.save_haplotypes` files.
    artificial_npz, generate_json : str or os.PathLike
        :func:`dnalm.haplotypes.make_artificial` outputs (the JSON names the model).
    out_dir : str or os.PathLike
    ld_window, n_components, n_boot, seed :
        See :func:`evaluate_sets`. Defaults are 50, 10, 200 and 1.
    threads : int, optional
        Caps the BLAS threads (an oversubscribed BLAS is many times slower). Default is 1.

    Returns
    -------
    summary : dict
        The contents of ``summary.json``.
    """
    from threadpoolctl import threadpool_limits

    from dnalm.haplotypes.artificial import load_artificial
    from dnalm.haplotypes.store import load_haplotypes

    train, held = load_haplotypes(train_npz), load_haplotypes(held_out_npz)
    art = load_artificial(artificial_npz)
    gen = json.loads(Path(generate_json).read_text())
    with threadpool_limits(limits=max(1, threads)):
        return evaluate_haplotypes(
            held.matrix, train.matrix, art, out_dir, positions=held.positions, model=gen.get("model"),
            ld_window=ld_window, n_components=n_components, n_boot=n_boot, seed=seed,
            extra={"generator": gen, "region": {"contig": held.contig, "first": int(held.positions[0]),
                                                "last": int(held.positions[-1])}},
        )  # fmt: skip
