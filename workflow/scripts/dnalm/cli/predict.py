"""``dnalm predict``: class probabilities of a fine-tuned model on a FASTA file or BED intervals.

Output: a TSV (gzip when ``-o`` ends in ``.gz``) with one row per input, in input order::

    id  [contig start end strand]  p_<label>...  label

For BED input the coordinates are those of the window scored: the task's window (card's
``window_length``, else ``--window``) centred on the interval, read from ``--genome`` on the
interval's strand (reverse-complemented for ``-``). With ``--anchor tss`` (promoter tasks) the
window is placed as the training windows were: the interval's first base (``+``) or last base
(``-``) is the TSS, at the card's ``tss_offset`` inside the window.

For FASTA input every record is scored as it is; when a window is known, records of another
length raise an error naming the record's ``file:line`` (``--window-policy error``, the
default) or, with ``--window-policy centre``, records longer than the window are cut to their
centred middle (shorter ones still raise).
``--rc-average`` averages the probabilities of each sequence and its reverse complement.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from dnalm.cli._common import (
    CliError,
    FastaRecord,
    LoadedModel,
    add_common,
    check_fits,
    check_outputs,
    load_model,
    max_bp,
    read_bed,
    read_fasta,
    setup,
    write_tsv,
)

__all__ = ["add_parser", "bed_windows", "fit_window", "predict_table", "run"]


def add_parser(subparsers) -> None:
    """Register ``predict``."""
    p = subparsers.add_parser(
        "predict",
        help="class probabilities for a FASTA file or BED intervals",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="fine-tuned model directory")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--fasta", help="FASTA file (plain or gzip) of sequences to score")
    src.add_argument("--bed", help="BED intervals to score (needs --genome)")
    p.add_argument("--genome", help="indexed genome FASTA (bgzip + .fai/.gzi, or plain) for --bed")
    p.add_argument("--card", help="task card.json giving the window (default: MODEL/card.json)")
    p.add_argument("--window", type=int, help="input length in bp when there is no task card")
    p.add_argument(
        "--anchor",
        choices=("centre", "tss"),
        default="centre",
        help="BED: centre the window on each interval (default), or place it around the "
        "interval's TSS as the promoter task's card says (stranded intervals)",
    )
    p.add_argument(
        "--window-policy",
        choices=("error", "centre"),
        default="error",
        help="FASTA records whose length differs from the window: error (default) or centre "
        "(cut longer records to the centred window)",
    )
    p.add_argument(
        "--rc-average",
        action="store_true",
        help="average forward and reverse-complement probabilities",
    )
    add_common(p, "output TSV (.tsv or .tsv.gz)")
    p.set_defaults(func=run)


def fit_window(
    records: list[FastaRecord], window: int | None, policy: str, path: str | Path
) -> list[str]:
    """Sequences to score: checked against (or, with ``policy="centre"``, cut to) ``window``.

    Parameters
    ----------
    records : list of FastaRecord
    window : int or None
        None: every record is kept as it is.
    policy : {"error", "centre"}
    path : str or pathlib.Path
        The FASTA file, for error messages.

    Returns
    -------
    list of str
    """
    if window is None:
        return [r.seq for r in records]
    out = []
    for r in records:
        n = len(r.seq)
        if n == window:
            out.append(r.seq)
        elif policy == "centre" and n > window:
            a = (n - window) // 2
            out.append(r.seq[a : a + window])
        else:
            hint = "" if policy == "centre" else " (--window-policy centre cuts longer records)"
            raise CliError(
                f"{path}:{r.line}: record {r.id!r} has {n} bases, the model's window is {window}{hint}"
            )
    return out


def bed_windows(
    bed: str | Path, genome: str | Path, window: int, tss_offset: int | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Windows of ``window`` bp on each BED interval, and their sequences.

    Parameters
    ----------
    bed, genome : str or pathlib.Path
    window : int
        bp.
    tss_offset : int, optional
        Place the window around each interval's TSS (first base on ``+``, last on ``-``) with
        the TSS at this 0-based index of the strand-oriented window. Default is None (centre
        the window on the interval).

    Returns
    -------
    coords : pandas.DataFrame
        ``id`` (the BED name, else ``contig:start-end``), ``contig``, ``start``, ``end``,
        ``strand`` of the windows, in BED order.
    seqs : list of str
        Upper-case window sequences (reverse-complemented on ``-``).
    """
    from dnalm.fasta import Genome

    intervals = read_bed(bed)
    if not Path(genome).is_file():
        raise CliError(f"--genome {genome}: file not found")
    rows, seqs = [], []
    try:
        g = Genome(genome)
    except (OSError, ValueError) as e:
        raise CliError(f"--genome {genome}: cannot open ({e})") from None
    from dnalm.contigs import prefix_resolver

    resolve = prefix_resolver(g.sizes)  # chr1 / 1, chrM / MT: as score-variants matches them
    with g:
        for iv in intervals:
            contig = g.canonical(iv.contig) or resolve(iv.contig)
            if contig is None:
                raise CliError(f"{bed}:{iv.line}: contig {iv.contig!r} is not in {genome}")
            if tss_offset is None:
                start = (iv.start + iv.end) // 2 - window // 2
            elif iv.strand == "+":
                start = iv.start - tss_offset
            elif iv.strand == "-":
                start = iv.end - 1 + tss_offset - window + 1
            else:
                raise CliError(
                    f"{bed}:{iv.line}: --anchor tss needs a strand ('+' or '-') in column 6"
                )
            end = start + window
            if not g.within(contig, start, end):
                raise CliError(
                    f"{bed}:{iv.line}: the {window}-bp window {contig}:{start}-{end} leaves the contig "
                    f"(length {g.sizes[contig]})"
                )
            seqs.append(g.fetch(contig, start, end, "-" if iv.strand == "-" else "+"))
            name = iv.name or f"{iv.contig}:{iv.start}-{iv.end}"
            rows.append((name, contig, start, end, iv.strand))
    return pd.DataFrame(rows, columns=["id", "contig", "start", "end", "strand"]), seqs


def predict_table(
    lm: LoadedModel,
    seqs: list[str],
    ids: pd.DataFrame,
    rc_average: bool = False,
    batch_size: int = 64,
    device=None,
    verbose: bool = False,
) -> pd.DataFrame:
    """Probability table of ``seqs``: ``ids``' columns, ``p_<label>`` per class, ``label``.

    Parameters
    ----------
    lm : LoadedModel
        A classifier.
    seqs : list of str, length n
    ids : pandas.DataFrame, n rows
        Leading columns (``id`` and, for BED, coordinates).
    rc_average : bool, optional
        Average with the reverse complement's probabilities. Default is False.
    batch_size : int, optional
        Default is 64.
    device : str or torch.device, optional
    verbose : bool, optional

    Returns
    -------
    pandas.DataFrame
    """
    from dnalm.predict import predict_proba
    from dnalm.seq import revcomp

    probs = predict_proba(
        lm.model, seqs, lm.k, batch_size=batch_size, device=device, verbose=verbose
    )
    if rc_average:
        rc = predict_proba(
            lm.model,
            [revcomp(s) for s in seqs],
            lm.k,
            batch_size=batch_size,
            device=device,
            verbose=verbose,
        )
        probs = (probs + rc) / 2
    out = ids.reset_index(drop=True).copy()
    for j, name in enumerate(lm.labels):
        out[f"p_{name}"] = probs[:, j]
    out["label"] = np.asarray(lm.labels, dtype=object)[probs.argmax(axis=1)] if len(seqs) else []
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``dnalm predict``; returns the exit status."""
    dev = setup(args)
    check_outputs([args.out], args.out, [args.fasta, args.bed, args.genome, args.card])
    lm = load_model(args.model, card=args.card, window=args.window)
    if args.bed is not None:
        if args.genome is None:
            raise CliError("--bed needs --genome")
        if lm.window is None:
            raise CliError(
                f"{args.model}: no task card gives the window; pass --window (bp) or --card"
            )
        limit = max_bp(lm)
        if limit is not None and lm.window > limit:
            raise CliError(f"window {lm.window} bp is longer than this model takes ({limit} bp)")
        tss = None
        if args.anchor == "tss":
            tss = lm.card.get("tss_offset")
            if tss is None:
                raise CliError("--anchor tss needs a promoter task card with a tss_offset (--card)")
        ids, seqs = bed_windows(
            args.bed, args.genome, lm.window, int(tss) if tss is not None else None
        )
    else:
        records = read_fasta(args.fasta, min_len=1 if lm.is_gpt else lm.k)
        seqs = fit_window(records, lm.window, args.window_policy, args.fasta)
        check_fits([r._replace(seq=s) for r, s in zip(records, seqs, strict=True)], lm, args.fasta)
        ids = pd.DataFrame({"id": [r.id for r in records]})
    gaps = [i for i, q in enumerate(seqs) if q.count("N") > 0.5 * len(q)]
    if gaps:  # the model scores N as [UNK]: a guess, not a call
        names = ids["id"].iloc[gaps[:5]].tolist()
        print(f"dnalm predict: warning: {len(gaps)} of {len(seqs)} inputs are more than half N "
              f"({', '.join(map(str, names))}{', ...' if len(gaps) > 5 else ''}); their "
              "probabilities are the model's response to unknown bases, not evidence",
              file=sys.stderr)
    table = predict_table(
        lm, seqs, ids, args.rc_average, args.batch_size, dev, verbose=not args.quiet
    )
    write_tsv(table, args.out)
    return 0
