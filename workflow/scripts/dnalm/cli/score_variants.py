"""``dnalm score-variants``: a VCF's SNVs and indels scored by a fine-tuned classifier.

Each ALT allele (multi-allelic records allele by allele) is checked against the genome (REF
mismatches are skipped and counted, or fail with ``--strict-ref``), left-normalised, and
scored in a window of the model's length with the variant at its centre: ref vs alt
positive-class probability, DNABERT's ``diff`` and ``logOR``, and with ``--lm`` the zero-shot
masked-LM log-likelihood ratio (SNVs). MODEL is any fine-tuned classifier (BERT, long-input,
baseline, or GPT: its class logits at the ``<B>`` query); ``--lm`` must be a BERT masked LM. A deletion pulls flanking bases into the alt window,
an insertion trims it, as DNABERT's mutate_seqs. Outputs, written together atomically:

    OUT.vcf.gz  the records with INFO DNALM_PREF, DNALM_PALT, DNALM_DIFF, DNALM_LOGOR, DNALM_LLR
    OUT.tsv     one row per allele: input and normalised alleles, status, scores
    OUT.json    counts per status (scored, ref_mismatch, symbolic, no_change, unknown_contig,
                outside_contig, n_window) and warnings (REF mismatches, most of them on another
                assembly; ALT equal to REF; gaps; none scored)

``--region CHR[:START-END]`` (repeatable; 1-based, inclusive, as ``bcftools view -r``) scores
only the records overlapping the regions, and OUT.vcf.gz holds only those; the VCF is read
through (a streamed filter, no index needed). A region on a contig the genome lacks is an error.

A malformed VCF line is reported as file:line and nothing is written.
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
    """Register ``score-variants``."""
    p = subparsers.add_parser(
        "score-variants",
        help="ref/alt probability, diff, logOR (and zero-shot LLR) for a VCF's alleles",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="fine-tuned model directory")
    p.add_argument("--vcf", required=True, help="VCF (plain or gzip; no index needed)")
    p.add_argument("--genome", required=True, help="indexed genome FASTA (bgzip + .fai/.gzi, or plain)")
    p.add_argument("--lm", help="pretrained BERT (masked) language-model directory for the zero-shot LLR")
    p.add_argument("--card", help="task card.json giving the window (default: MODEL/card.json)")
    p.add_argument("--window", type=int, help="input length in bp when there is no task card")
    p.add_argument("--positive-class", type=int, default=1, help="class scored (default: 1)")
    p.add_argument("--strict-ref", action="store_true", help="fail on a REF mismatch instead of skipping it")
    p.add_argument("--region", action="append", metavar="CHR[:START-END]",
                   help="score only records overlapping this region (1-based, inclusive; "
                        "repeatable)")
    add_common(p, "output prefix: writes OUT.vcf.gz, OUT.tsv, OUT.json")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``dnalm score-variants``; returns the exit status."""
    from dnalm.score_vcf import output_paths, parse_region, score_vcf

    try:
        regions = [parse_region(r) for r in args.region or ()]
    except ValueError as e:
        raise CliError(f"--region: {e}") from None
    dev = setup(args)
    check_outputs(output_paths(args.out).values(), args.out, [args.vcf, args.genome, args.card])
    clf = load_model(args.model, card=args.card, window=args.window)
    if clf.window is None:
        raise CliError(f"{args.model}: no task card gives the window; pass --window (or --card)")
    if not 0 <= args.positive_class < len(clf.labels):
        raise CliError(f"--positive-class {args.positive_class}: the model has {len(clf.labels)} classes")
    limit = max_bp(clf)
    if limit is not None and clf.window > limit:
        raise CliError(f"{args.model}: the {clf.window}-bp window is longer than this model takes "
                       f"({limit} bp)")
    mlm = lm_k = None
    if args.lm:
        try:
            lm = load_model(args.lm, allow_lm=True)
        except CliError as e:  # name the option: MODEL is the classifier
            raise CliError(f"--lm {args.lm}: needs a BERT masked language model "
                           f"(results/pretrain/<lm>/model): {e}") from None
        if lm.kind == "gpt_lm":
            raise CliError(f"--lm {args.lm}: is a GPT language model; the zero-shot LLR masks the "
                           "k-mers at the site and reads them with both flanks, which needs a "
                           "BERT masked language model")
        if lm.kind != "lm":
            raise CliError(f"--lm {args.lm}: not a language-model directory")
        need = clf.window - lm.k + 3  # [CLS] k-mers [SEP]
        if need > lm.max_tokens:
            raise CliError(f"--lm {args.lm}: takes {lm.max_tokens} tokens, a {clf.window}-bp "
                           f"window needs {need}")
        mlm, lm_k = lm.model, lm.k
    summary = score_vcf(
        clf.model, clf.k, args.vcf, args.genome, args.out, clf.window, lm=mlm, lm_k=lm_k,
        batch_size=args.batch_size, device=dev, positive_class=args.positive_class,
        strict_ref=args.strict_ref, verbose=not args.quiet, regions=regions or None,
    )
    if not args.quiet:
        c = summary["counts"]
        print(f"{summary['n_records']} records, {sum(c.values())} alleles: "
              + ", ".join(f"{v} {s}" for s, v in c.items() if v)
              + f" -> {', '.join(summary['outputs'].values())}")
    return 0
