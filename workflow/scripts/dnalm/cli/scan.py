"""``dnalm scan``: a fine-tuned classifier slid along a genome (DNABERT's Prom-scan).

Windows of the model's length (task card's ``window_length``, else ``--window``) start every
``--stride`` bp along each contig (``--contigs``, default all) or each merged ``--regions``
interval, and are read and predicted chunk by chunk, so memory stays flat. MODEL is any
fine-tuned classifier (BERT, long-input, baseline or GPT). Each window is
scored on both strands by default (the larger probability is kept; --strand + for forward only). Long-input
(DNABERT-XL style) models take their windows whole. Outputs, written together atomically:

    OUT.bedGraph  class probability of each window over its central STRIDE bp
    OUT.bw        the same track as BigWig (pyBigWig; chrom sizes from the FASTA .fai)
    OUT.bed       called regions: windows with p >= --threshold merged, >= --min-len bp
    OUT.json      counts (windows, windows skipped for N, regions) and settings; with --truth,
                  recall (known sites inside a called region) and precision (regions
                  holding a known site)
"""

from __future__ import annotations

import argparse

from dnalm.cli._common import (
    CliError,
    add_common,
    check_outputs,
    load_model,
    max_bp,
    setup,
)

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    """Register ``scan``."""
    p = subparsers.add_parser(
        "scan",
        help="strided genome scan: bedGraph/BigWig track and called regions",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="fine-tuned model directory")
    p.add_argument("--genome", required=True, help="indexed genome FASTA (bgzip + .fai/.gzi, or plain)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--regions", help="BED of intervals to scan (default: whole contigs)")
    where.add_argument("--contigs", help="comma-separated contigs to scan (default: all)")
    p.add_argument("--card", help="task card.json giving the window (default: MODEL/card.json)")
    p.add_argument("--window", type=int, help="input length in bp when there is no task card")
    p.add_argument("--stride", type=int, default=None, help="bp between window starts (default: window // 2)")
    p.add_argument("--threshold", type=float, default=0.5, help="call windows with p >= this (default: 0.5)")
    p.add_argument("--min-len", type=int, default=0, help="shortest called region in bp (default: 0)")
    p.add_argument("--positive-class", type=int, default=1, help="class whose probability is tracked (default: 1)")
    p.add_argument("--max-n", type=float, default=0.5, help="skip windows with a larger fraction of N (default: 0.5)")
    p.add_argument("--strand", choices=("+", "-", "both"), default="both",
                   help="score windows as read, reverse-complemented, or both keeping the larger "
                   "probability (default: both)")
    p.add_argument("--no-bigwig", action="store_true", help="write no BigWig (no pyBigWig needed)")
    p.add_argument("--truth", help="BED of known sites (e.g. TSSs): recall and precision in OUT.json")
    add_common(p, "output prefix: writes OUT.bedGraph, OUT.bw, OUT.bed, OUT.json")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``dnalm scan``; returns the exit status."""
    from dnalm.scan import output_paths, scan_genome

    dev = setup(args)
    check_outputs(output_paths(args.out, not args.no_bigwig).values(), args.out,
                  [args.genome, args.regions, args.truth, args.card])
    lm = load_model(args.model, card=args.card, window=args.window)
    if lm.window is None:
        raise CliError(f"{args.model}: no task card gives the window; pass --window (or --card)")
    limit = max_bp(lm)
    if limit is not None and lm.window > limit:
        raise CliError(f"{args.model}: the {lm.window}-bp window is longer than this model takes "
                       f"({limit} bp)")
    n_classes = len(lm.labels)
    if not 0 <= args.positive_class < n_classes:
        raise CliError(f"--positive-class {args.positive_class}: the model has {n_classes} classes")
    stride = args.stride if args.stride is not None else max(1, lm.window // 2)
    if stride < 1:
        raise CliError(f"--stride must be >= 1, got {stride}")
    if not 0.0 <= args.threshold <= 1.0:
        raise CliError(f"--threshold must lie in [0, 1], got {args.threshold}")
    if args.min_len < 0:
        raise CliError(f"--min-len must be >= 0, got {args.min_len}")
    contigs = [c for c in args.contigs.split(",") if c] if args.contigs else None
    if contigs is not None:
        twice = sorted({c for c in contigs if contigs.count(c) > 1})
        if twice:  # each would be scanned again: a doubled track and doubled regions
            raise CliError(f"--contigs names {', '.join(map(repr, twice))} more than once")
        if not contigs:
            raise CliError("--contigs names no contig")
    res = scan_genome(
        lm.model, lm.k, args.genome, args.out, lm.window, stride, contigs=contigs,
        regions=args.regions, threshold=args.threshold, min_len=args.min_len,
        batch_size=args.batch_size, device=dev, positive_class=args.positive_class,
        max_n=args.max_n, strand=args.strand, bigwig=not args.no_bigwig, truth=args.truth,
        verbose=not args.quiet,
    )
    if not args.quiet:
        print(f"scanned {res.n_bases} bp in {res.n_windows} windows ({res.n_skipped_n} skipped "
              f"for N); {res.n_regions} regions -> {', '.join(res.outputs.values())}")
        if res.truth is not None:
            t = res.truth
            print(f"truth: {t['n_sites_found']}/{t['n_sites']} sites in a called region "
                  f"(recall {t['recall']}), {t['n_regions_with_site']}/{t['n_regions']} regions "
                  f"hold a site (precision {t['precision']})")
    return 0
