"""``dnalm attention``: DNABERT-viz nucleotide attention of each FASTA record, and a heatmap.

The score of a base is the [CLS] row of the last layer's attention, summed over heads, spread
from k-mers onto the bases each covers (mean over covering k-mers) and L2-normalised per
record, as in DNABERT-viz (:func:`dnalm.attention.scores.attention_scores`).

Outputs (written together, atomically):

- ``OUT`` (``.npz``): ``scores`` float32 (n, longest record), NaN past each record's end;
  ``probs`` float64 (n, n_classes); ``ids``; ``lengths``; ``labels`` (class names).
- ``--tsv PATH``: the same scores in long format, ``id position base attention``
  (1-based positions); optional.
- ``--heatmap PATH`` (default: OUT with ``.npz`` replaced by ``.png``): the first
  ``--n-heatmap`` records, one row each.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from dnalm import atomic
from dnalm.cli._common import (
    CliError,
    add_common,
    check_fits,
    check_outputs,
    load_model,
    read_fasta,
    setup,
    write_tsv,
)

__all__ = ["add_parser", "long_table", "plot_first", "run"]


def add_parser(subparsers) -> None:
    """Register ``attention``."""
    p = subparsers.add_parser(
        "attention",
        help="nucleotide-level attention of FASTA records (npz, TSV) and a heatmap",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="fine-tuned BERT classifier directory")
    p.add_argument("--fasta", required=True, help="FASTA file (plain or gzip)")
    p.add_argument(
        "--card", help="task card.json, checked against the model (default: MODEL/card.json)"
    )
    p.add_argument(
        "--tsv", help="also write the scores in long format to this TSV (.tsv or .tsv.gz)"
    )
    p.add_argument(
        "--window-policy",
        choices=("error", "centre", "any"),
        default="error",
        help="records whose length differs from the model's window (task card): error "
        "(default, as dnalm predict), centre (cut longer records to the centred window), or any "
        "(keep every record as it is; attention is defined at any length, but the class "
        "probabilities in OUT are then for inputs of a length the model was not trained on)",
    )
    p.add_argument("--heatmap", help="heatmap PNG (default: OUT with .npz replaced by .png)")
    p.add_argument(
        "--n-heatmap", type=int, default=20, help="records drawn in the heatmap (default: 20)"
    )
    add_common(p, "output .npz")
    p.set_defaults(func=run)


def long_table(ids: list[str], seqs: list[str], scores: np.ndarray) -> pd.DataFrame:
    """Scores as rows ``id position base attention`` (1-based positions, record order).

    Parameters
    ----------
    ids, seqs : list of str, length n
    scores : numpy.ndarray, shape=(n, L_max)

    Returns
    -------
    pandas.DataFrame
    """
    lens = np.array([len(s) for s in seqs], dtype=np.int64)
    keep = np.arange(scores.shape[1])[None, :] < lens[:, None]
    return pd.DataFrame(
        {
            "id": np.repeat(np.asarray(ids, dtype=object), lens),
            "position": np.concatenate([np.arange(1, n + 1) for n in lens]) if len(lens) else [],
            "base": list("".join(seqs)),
            "attention": scores[keep],
        }
    )


def plot_first(
    scores: np.ndarray,
    probs: np.ndarray,
    ids: list[str],
    labels: list[str],
    path: str | Path,
    n: int = 20,
) -> None:
    """Heatmap of the first ``n`` records' attention, labelled with id and predicted class.

    Parameters
    ----------
    scores : numpy.ndarray, shape=(N, L_max)
    probs : numpy.ndarray, shape=(N, n_classes)
    ids : list of str, length N
    labels : list of str, length n_classes
    path : str or pathlib.Path
        PNG, written atomically.
    n : int, optional
        Default is 20.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = min(n, len(ids))
    data = np.asarray(scores[:m], dtype=np.float64)
    fig, ax = plt.subplots(figsize=(12, 0.3 * max(m, 4) + 1.5))
    try:
        im = ax.imshow(
            np.ma.masked_invalid(data), aspect="auto", cmap="viridis", interpolation="nearest"
        )
        ax.set_yticks(range(m))
        best = probs[:m].argmax(axis=1)
        ax.set_yticklabels([f"{ids[i]} {labels[best[i]]} p={probs[i, best[i]]:.2f}" for i in range(m)],
                           fontsize=6)  # fmt: skip
        ax.set_xlabel("position (bp, 0-based)")
        ax.set_title(f"attention of the first {m} records")
        fig.colorbar(im, ax=ax, fraction=0.02, label="attention")
        fig.tight_layout()
        with atomic.atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    finally:
        plt.close(fig)


def run(args: argparse.Namespace) -> int:
    """Run ``dnalm attention``; returns the exit status."""
    from dnalm.attention.scores import attention_scores

    dev = setup(args)
    out = Path(args.out)
    if out.suffix != ".npz":
        raise CliError(f"-o {out}: the attention file must end in .npz")
    if args.n_heatmap < 1:
        raise CliError(f"--n-heatmap must be >= 1, got {args.n_heatmap}")
    heatmap = Path(args.heatmap) if args.heatmap else out.with_suffix(".png")
    check_outputs([out, heatmap, *([args.tsv] if args.tsv else [])], args.out, [args.fasta, args.card])
    lm = load_model(args.model, card=args.card)
    if lm.kind == "gpt":
        raise CliError(
            f"{args.model}: is a GPT classifier; attention scores are DNABERT-viz's [CLS] row "
            "of a BERT's bidirectional attention, and a GPT has no [CLS] token (its causal "
            "attention rows weigh only earlier positions); use a fine-tuned BERT classifier"
        )
    if lm.kind != "classifier":
        raise CliError(
            f"{args.model}: attention needs a BERT classifier directory, not a long-input "
            f"classifier or a baseline ({lm.kind})"
        )
    from dnalm.cli.predict import fit_window

    records = read_fasta(args.fasta, min_len=lm.k)
    if args.window_policy != "any":
        fitted = fit_window(records, lm.window, args.window_policy, args.fasta)
        records = [r._replace(seq=q) for r, q in zip(records, fitted, strict=True)]
    check_fits(records, lm, args.fasta)
    ids, seqs = [r.id for r in records], [r.seq for r in records]
    res = attention_scores(
        lm.model, seqs, lm.k, batch_size=args.batch_size, device=dev, verbose=not args.quiet
    )
    paths = {"npz": out, "png": heatmap, **({"tsv": Path(args.tsv)} if args.tsv else {})}
    with atomic.atomic_paths(paths) as tmp:  # all of them or none
        np.savez_compressed(
            tmp["npz"],
            scores=res.scores,
            probs=res.probs,
            ids=np.asarray(ids),
            lengths=np.array([len(s) for s in seqs], dtype=np.int64),
            labels=np.asarray(lm.labels),
        )
        plot_first(res.scores, res.probs, ids, lm.labels, tmp["png"], args.n_heatmap)
        if args.tsv:
            write_tsv(long_table(ids, seqs, res.scores), tmp["tsv"])
    return 0
