"""Figures of the haplotype evaluation: one panel per sampler, each figure as PNG and SVG."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from dnalm import atomic

__all__ = ["plot_haplotype_figures"]


def _save(fig, png: Path) -> None:
    import matplotlib.pyplot as plt

    try:
        for fmt in ("png", "svg"):
            with atomic.atomic_path(png.with_suffix("." + fmt)) as tmp:
                fig.savefig(tmp, format=fmt, dpi=100, bbox_inches="tight")
    finally:
        plt.close(fig)


def _grid(n: int, rows: int = 1, size: float = 3.8):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        rows, n, figsize=(size * n, size * rows), squeeze=False, layout="constrained"
    )
    return fig, axes


def _ld_matrix(i: np.ndarray, j: np.ndarray, r2: np.ndarray, n: int) -> np.ndarray:
    m = np.full((n, n), np.nan)
    keep = (i < n) & (j < n)
    m[i[keep], j[keep]] = r2[keep]
    return m


def plot_haplotype_figures(
    arrays: Mapping[str, Mapping[str, np.ndarray]],
    out_dir: str | Path,
    positions: np.ndarray | None = None,
) -> list[Path]:
    """Write ``af``, ``ld``, ``pca`` and ``distances`` figures (``.png`` + ``.svg``).

    Parameters
    ----------
    arrays : mapping
        ``{sampler: arrays}`` as returned by :func:`dnalm.haplotypes.evaluate.evaluate_sets`.
    out_dir : str or os.PathLike
    positions : numpy.ndarray, optional
        Site positions for the LD-decay panels. Default is None (site index).

    Returns
    -------
    paths : list of pathlib.Path
        The PNG files.
    """
    out_dir = Path(out_dir)
    names = list(arrays)
    n = len(names)
    paths = []
    # allele frequencies
    fig, ax = _grid(n)
    for k, s in enumerate(names):
        a = arrays[s]
        r = np.corrcoef(a["af_real"], a["af_art"])[0, 1]
        ax[0, k].scatter(a["af_real"], a["af_art"], s=6, alpha=0.6, rasterized=True)
        ax[0, k].plot([0, 1], [0, 1], color="grey", lw=0.8)
        ax[0, k].set(
            title=f"{s}\nAF r = {r:.3f}", xlabel="held-out real ALT frequency", ylabel="artificial"
        )
    paths.append(out_dir / "af.png")
    _save(fig, paths[-1])
    # LD: heatmaps (upper triangle real, lower artificial) and decay with distance
    fig, ax = _grid(n, rows=2)
    for k, s in enumerate(names):
        a = arrays[s]
        m = min(100, int(max(a["ld_j"].max(initial=0) + 1, 2)))
        real_m = _ld_matrix(a["ld_i"], a["ld_j"], a["r2_real"], m)
        art_m = _ld_matrix(a["ld_i"], a["ld_j"], a["r2_art"], m).T
        both = np.where(np.isnan(real_m), art_m, real_m)
        ok = np.isfinite(a["r2_real"]) & np.isfinite(a["r2_art"])
        r = np.corrcoef(a["r2_real"][ok], a["r2_art"][ok])[0, 1] if ok.sum() > 2 else np.nan
        im = ax[0, k].imshow(both, vmin=0, vmax=1, cmap="viridis", interpolation="nearest")
        ax[0, k].set(
            title=f"{s}\nLD corr = {r:.3f}",
            xlabel="site",
            ylabel="site",
        )
        pos = (
            np.arange(int(a["ld_j"].max(initial=0)) + 1)
            if positions is None
            else np.asarray(positions)
        )
        dist = (pos[a["ld_j"]] - pos[a["ld_i"]]) / (1000.0 if positions is not None else 1.0)
        bins = (
            np.unique(np.quantile(dist, np.linspace(0, 1, 16))) if dist.size else np.array([0, 1])
        )
        idx = np.clip(np.digitize(dist, bins[1:-1]), 0, len(bins) - 2)
        mid = 0.5 * (bins[1:] + bins[:-1])
        for key, label in (("r2_real", "real"), ("r2_art", "artificial")):
            v = a[key]
            means = [
                np.nanmean(v[idx == b]) if (idx == b).any() else np.nan for b in range(len(mid))
            ]
            ax[1, k].plot(mid, means, marker="o", ms=3, label=label)
        ax[1, k].set(
            xlabel="distance (kb)" if positions is not None else "distance (sites)",
            ylabel="mean r²",
        )
        ax[1, k].legend(fontsize=7)
    fig.colorbar(im, ax=ax[0, :].tolist(), shrink=0.6, label="r²")
    fig.suptitle("LD r² of site pairs: upper triangle held-out real, lower triangle artificial")
    paths.append(out_dir / "ld.png")
    _save(fig, paths[-1])
    # PCA
    fig, ax = _grid(n)
    for k, s in enumerate(names):
        a = arrays[s]
        pr, pa, ratio = a["pc_real"], a["pc_art"], a["pc_ratio"]
        ax[0, k].scatter(
            pr[:, 0],
            pr[:, 1] if pr.shape[1] > 1 else 0 * pr[:, 0],
            s=6,
            alpha=0.5,
            label="held-out real",
            color="grey",
            rasterized=True,
        )
        ax[0, k].scatter(
            pa[:, 0],
            pa[:, 1] if pa.shape[1] > 1 else 0 * pa[:, 0],
            s=6,
            alpha=0.5,
            label="artificial",
            rasterized=True,
        )
        pc2 = f"{100 * ratio[1]:.1f}%" if len(ratio) > 1 else ""
        ax[0, k].set(title=s, xlabel=f"PC1 ({100 * ratio[0]:.1f}%)", ylabel=f"PC2 ({pc2})")
        ax[0, k].legend(fontsize=7)
    paths.append(out_dir / "pca.png")
    _save(fig, paths[-1])
    # distances
    fig, ax = _grid(n, rows=2)
    for k, s in enumerate(names):
        a = arrays[s]
        bins = np.linspace(
            0,
            max(a["d_rr"].max(initial=0), a["d_ar"].max(initial=0), a["d_aa"].max(initial=0), 1e-3),
            40,
        )
        for key, label in (
            ("d_rr", "real-real"),
            ("d_ar", "artificial-real"),
            ("d_aa", "artificial-artificial"),
        ):
            ax[0, k].hist(a[key], bins=bins, density=True, histtype="step", label=label)
        ax[0, k].set(title=s, xlabel="pairwise distance (fraction of sites)", ylabel="density")
        ax[0, k].legend(fontsize=7)
        b2 = np.linspace(0, max(a["nn_art"].max(initial=0), a["nn_real"].max(initial=0), 1e-3), 30)
        ax[1, k].hist(
            a["nn_real"],
            bins=b2,
            density=True,
            histtype="step",
            label="held-out real",
            color="grey",
            rasterized=True,
        )
        ax[1, k].hist(a["nn_art"], bins=b2, density=True, histtype="step", label="artificial")
        ax[1, k].set(xlabel="distance to nearest training haplotype", ylabel="density")
        ax[0, k].tick_params(labelsize=8)
        ax[1, k].legend(fontsize=7)
    paths.append(out_dir / "distances.png")
    _save(fig, paths[-1])
    return paths
