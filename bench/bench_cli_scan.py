"""``dnalm scan`` throughput and memory: batched, streamed scan vs a one-window-at-a-time loop.

Run from the repository root::

    python -m bench.bench_cli_scan [--bp 200000] [--naive-windows 400] [--rss-mbp 1 10]

A tiny random BERT classifier (``--hidden``, ``--layers``, k-mer ``--k``, ``--window`` bp) scans
a random genome in the same process two ways:

- ``naive``: for each window, one FASTA fetch and one ``predict_proba`` call of batch 1 (what a
  loop over windows does); timed on the first ``--naive-windows`` windows and extrapolated;
- ``scan``: :func:`dnalm.scan.scan_genome` (windows read and predicted in chunks, batch
  ``--batch-size``), bedGraph + called regions + BigWig when pyBigWig is installed.

Both score the forward strand only (``dnalm scan --strand +``; the command's default, both
strands, costs twice the model time).

The naive probabilities are checked to equal the scan's bedGraph values before the ratio is
printed. Peak RSS is measured in a fresh process per genome size (``--rss-mbp``), scanning every
base with a coarse stride (``--rss-stride``) so the sizes stay quick: memory must not grow with
the genome.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def make_model(directory: Path, k: int, window: int, hidden: int, layers: int) -> Path:
    """A random ``BertForSequenceClassification`` directory with a task card."""
    from dnalm import kmers
    from transformers import BertConfig, BertForSequenceClassification

    n_tok = window - k + 3
    cfg = BertConfig(vocab_size=kmers.vocab_size(k), hidden_size=hidden, num_hidden_layers=layers,
                     num_attention_heads=max(1, hidden // 32), intermediate_size=4 * hidden,
                     max_position_embeddings=max(64, n_tok), num_labels=2)
    torch.manual_seed(0)
    BertForSequenceClassification(cfg).save_pretrained(str(directory))
    kmers.write_tokenizer_files(directory, k, max_len=cfg.max_position_embeddings)
    (directory / "card.json").write_text(json.dumps({"task": "bench", "k": k, "window_length": window}))
    return directory


def make_genome(path: Path, n_bp: int, seed: int = 0) -> Path:
    """A random plain FASTA of one contig ``chr1`` with ``n_bp`` bases, ``.fai``-indexed."""
    import pysam

    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    seq = letters[rng.integers(0, 4, n_bp)]
    with open(path, "wb") as fh:
        fh.write(b">chr1\n")
        for i in range(0, n_bp, 60):
            fh.write(seq[i : i + 60].tobytes() + b"\n")
    pysam.faidx(str(path))
    return path


def have_bigwig() -> bool:
    try:
        import pyBigWig  # noqa: F401
    except ImportError:
        return False
    return True


def peak_rss_mib() -> float:
    """This process's peak RSS: ``VmHWM`` (``ru_maxrss`` would carry the parent's peak over
    fork + exec on Linux, and the parent held the random genome)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: argparse.Namespace) -> int:
    """Scan one genome and print peak RSS (run in a fresh process)."""
    from dnalm.predict import load_classifier
    from dnalm.scan import scan_genome

    torch.set_num_threads(args.threads)
    model, k = load_classifier(args.child[1])
    t = time.perf_counter()
    res = scan_genome(model, k, args.child[0], args.child[2], args.window, args.rss_stride,
                      batch_size=args.batch_size, device="cpu", bigwig=have_bigwig())
    print(json.dumps({"seconds": time.perf_counter() - t, "windows": res.n_windows,
                      "maxrss_mib": peak_rss_mib()}))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bp", type=int, default=200_000, help="genome size of the throughput run")
    ap.add_argument("--window", type=int, default=101)
    ap.add_argument("--stride", type=int, default=50)
    ap.add_argument("--k", type=int, default=6)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--naive-windows", type=int, default=400)
    ap.add_argument("--rss-mbp", type=float, nargs="*", default=[1, 10])
    ap.add_argument("--rss-stride", type=int, default=500)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args)

    from dnalm.predict import load_classifier, predict_proba
    from dnalm.scan import scan_genome

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        mdir = make_model(tmp / "model", args.k, args.window, args.hidden, args.layers)
        genome = make_genome(tmp / "g.fa", args.bp)
        model, k = load_classifier(mdir)
        n_windows = (args.bp - args.window) // args.stride + 1
        print(f"model: BERT hidden {args.hidden}, {args.layers} layers, k={k}, window "
              f"{args.window} bp, stride {args.stride}; {args.threads} thread(s), cpu")

        import pysam

        fa = pysam.FastaFile(str(genome))
        n_naive = min(args.naive_windows, n_windows)
        t = time.perf_counter()
        naive = []
        for i in range(n_naive):
            s = i * args.stride
            w = fa.fetch("chr1", s, s + args.window).upper()
            naive.append(predict_proba(model, [w], k, batch_size=1, device="cpu")[0, 1])
        t_naive = (time.perf_counter() - t) / n_naive  # seconds per window
        fa.close()

        t = time.perf_counter()
        res = scan_genome(model, k, genome, tmp / "scan", args.window, args.stride,
                          batch_size=args.batch_size, device="cpu", bigwig=have_bigwig())
        t_scan = (time.perf_counter() - t) / res.n_windows
        track = [float(line.split("\t")[3])
                 for line in (tmp / "scan.bedGraph").read_text().splitlines()[:n_naive]]
        err = float(np.max(np.abs(np.array(track) - np.array(naive))))
        if err > 1e-5:
            print(f"MISMATCH: naive and scan probabilities differ by {err:.3g}")
            return 1
        print(f"check: first {n_naive} windows equal (max |diff| {err:.2g})")
        print(f"naive (1 window per call): {args.stride / t_naive:12,.0f} bp/s "
              f"({1 / t_naive:,.0f} windows/s)")
        print(f"scan  (batch {args.batch_size}):         {args.stride / t_scan:12,.0f} bp/s "
              f"({1 / t_scan:,.0f} windows/s, {res.n_windows} windows, bigwig="
              f"{'yes' if have_bigwig() else 'no'})")
        print(f"ratio scan/naive: {t_naive / t_scan:.1f}x")

        for mbp in args.rss_mbp:
            g = make_genome(tmp / f"g{mbp}.fa", int(mbp * 1e6), seed=1)
            out = subprocess.run(
                [sys.executable, "-m", "bench.bench_cli_scan", "--child", str(g), str(mdir),
                 str(tmp / f"rss{mbp}"), "--window", str(args.window), "--rss-stride",
                 str(args.rss_stride), "--batch-size", str(args.batch_size), "--threads",
                 str(args.threads)],
                capture_output=True, text=True, check=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"peak RSS, {mbp:g} Mbp (stride {args.rss_stride}, {r['windows']} windows, "
                  f"{r['seconds']:.1f} s): {r['maxrss_mib']:.0f} MiB")
            g.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
