"""Corpus summary: ``stats.json`` and the piece-length histogram of a genome's shards."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dnalm.atomic import atomic_path, write_json
from dnalm.corpus.shard import SEQ_SUFFIX, idx_path, meta_path, open_shard

__all__ = ["gather_stats", "shards_of"]

#: k values whose tokens per full-length piece stats.json reports (the corpus is k-free).
_KS = (3, 4, 5, 6)
_TOTAL_KEYS = (
    "length_bp",
    "stored_bp",
    "kept_bp",
    "excluded_bp",
    "nonacgt_bp",
    "short_segment_bp",
    "n_pieces_train",
    "n_pieces_val",
)


def shards_of(stats_json: str | Path) -> list[Path]:
    """The shards a corpus's ``stats.json`` summarised (``shards/{chrom}.seq.npy`` beside it).

    Pretraining reads these, not every shard in the directory: a contig dropped from the config
    leaves its old shard there.
    """
    stats_json = Path(stats_json)
    chroms = json.loads(stats_json.read_text())["chromosomes"]
    return [stats_json.parent / "shards" / f"{c}{SEQ_SUFFIX}" for c in sorted(chroms)]


def _hist_edges(min_len: int, max_len: int, n_bins: int = 50) -> np.ndarray:
    """Integer bin edges over [min_len, max_len); full-length pieces get their own last bin."""
    width = max(1, -(-(max_len - min_len) // n_bins))
    edges = list(range(min_len, max_len, width))
    return np.asarray(edges + [max_len, max_len + 1], dtype=np.int64)


#: Corpus settings every shard of a genome shares (held-out contigs differ in the others).
_SHARED_PARAMS = ("min_len", "max_len", "seed")


def gather_stats(
    shard_paths: Sequence[str | Path], out_json: str | Path, out_png: str | Path | None = None
) -> dict:
    """Summarise corpus shards into ``stats.json`` (and a piece-length histogram PNG).

    Parameters
    ----------
    shard_paths : sequence of str or Path
        ``{chrom}.seq.npy`` files; their ``.idx.npy`` and ``.meta.json`` are read alongside.
        All must have been built with the same ``min_len``, ``max_len`` and ``seed``; held-out
        validation contigs (:func:`dnalm.corpus.contig_settings`) differ in ``coverage`` and
        ``val_fraction``.
    out_json : str or Path
        Output JSON: ``params``, ``chromosomes`` (per chromosome: length, stored, kept,
        excluded and N bp, pieces train/val, GC), ``totals``, ``length_histogram``
        (``edges``, ``counts``; the last bin is exactly ``max_len``), ``full_length_share``,
        ``mean_length``, ``gc``, ``tokens_per_full_piece`` (per k, ``max_len - k + 3``) and
        ``bytes_per_stored_bp``.
    out_png : str or Path, optional
        Piece-length histogram. Default is None (no figure).

    Returns
    -------
    stats : dict
        The content of ``out_json``. ``params`` are those of the training contigs; held-out
        contigs, if any, are listed with their own ``coverage`` and ``val_fraction`` under
        ``held_out_contigs``.
    """
    if not shard_paths:
        raise ValueError("`shard_paths` is empty")
    params = None
    per_chrom: dict[str, dict] = {}
    chroms: dict[str, dict] = {}
    length_counts = np.zeros(0, dtype=np.int64)
    n_bytes = 0
    for sp in map(Path, shard_paths):
        mp = meta_path(sp)
        if not mp.is_file():
            raise ValueError(f"{mp}: shard metadata not found (rebuild the shard)")
        meta = json.loads(mp.read_text())
        if params is None:
            params = meta["params"]
            length_counts = np.zeros(params["max_len"] + 1, dtype=np.int64)
        elif any(meta["params"][key] != params[key] for key in _SHARED_PARAMS):
            raise ValueError(f"{mp}: parameters {meta['params']} differ from {params} "
                             f"(only held-out contigs may differ, in coverage and val_fraction)")
        per_chrom[meta["chrom"]] = (mp, meta["params"])
        shard = open_shard(sp)
        lengths = np.asarray(shard.idx[:, 1])
        if lengths.size and (
            lengths.min() < params["min_len"] or lengths.max() > params["max_len"]
        ):
            raise ValueError(f"{sp}: piece lengths outside [min_len, max_len]")
        length_counts += np.bincount(lengths, minlength=length_counts.shape[0])
        n_val = int(np.count_nonzero(np.asarray(shard.idx[:, 2])))
        counts = meta["base_counts"]
        stored = meta["stored_bp"]
        chroms[meta["chrom"]] = {
            "length_bp": meta["length_bp"],
            "stored_bp": stored,
            "kept_bp": meta["kept_bp"],
            "excluded_bp": meta["n_excluded_bp"],
            "nonacgt_bp": meta["nonacgt_bp"],
            "short_segment_bp": meta["short_segment_bp"],
            "n_segments": meta["n_segments"],
            "n_pieces_train": int(lengths.shape[0] - n_val),
            "n_pieces_val": n_val,
            "gc": (counts["C"] + counts["G"]) / stored if stored else None,
            "base_counts": counts,
        }
        n_bytes += sp.stat().st_size + idx_path(sp).stat().st_size
    assert params is not None  # shard_paths is not empty
    # the training contigs' settings; held-out contigs (validation only, one pass) are listed apart
    params = next((pp for _, pp in per_chrom.values() if pp["val_fraction"] < 1), params)
    held = {**params, "coverage": 1, "val_fraction": 1.0}
    held_out = {}
    for c, (mp, pp) in per_chrom.items():
        if pp == held and pp != params:
            held_out[c] = {"coverage": 1, "val_fraction": 1.0}
        elif pp != params:
            raise ValueError(f"{mp}: parameters {pp} differ from {params} (only held-out "
                             f"contigs may differ, as {held})")

    totals = {key: int(sum(c[key] for c in chroms.values())) for key in _TOTAL_KEYS}
    n_pieces = int(length_counts.sum())
    stored = totals["stored_bp"]
    gc_bp = sum(c["base_counts"]["C"] + c["base_counts"]["G"] for c in chroms.values())
    edges = _hist_edges(params["min_len"], params["max_len"])
    hist = np.add.reduceat(length_counts[edges[0] :], edges[:-1] - edges[0])[: len(edges) - 1]
    stats = {
        "params": params,
        "n_chromosomes": len(chroms),
        "chromosomes": chroms,
        "totals": totals,
        "n_pieces": n_pieces,
        "length_histogram": {"edges": edges.tolist(), "counts": hist.tolist()},
        "full_length_share": float(length_counts[params["max_len"]] / n_pieces)
        if n_pieces
        else 0.0,
        "mean_length": stored / n_pieces if n_pieces else 0.0,
        "gc": gc_bp / stored if stored else None,
        "tokens_per_full_piece": {str(k): params["max_len"] - k + 3 for k in _KS},
        "bytes_per_stored_bp": n_bytes / stored if stored else None,
    }
    if held_out:
        stats["held_out_contigs"] = held_out
    write_json(out_json, stats)
    if out_png is not None:
        _plot_lengths(edges, hist, params, Path(out_png))
    return stats


def _plot_lengths(edges: np.ndarray, hist: np.ndarray, params: dict, out_png: Path) -> None:
    """Log-scale bar chart of piece lengths; the 1-bp full-length bin drawn as wide as the rest."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    widths = np.diff(edges)
    ax.bar(
        edges[:-2],
        hist[:-1],
        width=widths[:-1],
        align="edge",
        color="#4c72b0",
        edgecolor="none",
        label="random length",
    )
    ax.bar(
        edges[-2],
        hist[-1],
        width=widths[0],
        align="edge",
        color="#dd8452",
        edgecolor="none",
        label=f"full length ({params['max_len']} bp)",
    )
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.set_yscale("log")
    ax.set_xlabel("piece length (bp)")
    ax.set_ylabel("pieces")
    ax.set_title(
        f"corpus pieces: {params['min_len']}-{params['max_len']} bp, coverage {params['coverage']}"
    )
    fig.tight_layout()
    try:
        with atomic_path(out_png) as tmp:
            fig.savefig(tmp, format="png", dpi=120)
    finally:
        plt.close(fig)
