"""Corpus build throughput and peak memory: dnalm.corpus vs a straightforward Python builder.

Run from the repository root::

    python -m bench.bench_corpus [--sizes 10 100 300] [--coverage 5]

For each size a synthetic one-chromosome genome (random ACGT, soft-masked blocks, N gaps) is
written as bgzip FASTA with .fai/.gzi into a temporary directory. Each build runs in its own
subprocess, which reports its build time and peak resident memory (``VmHWM`` from
``/proc/self/status``; ``ru_maxrss`` is not used because Linux carries the forking parent's
peak across ``exec``). The reference builder (whole chromosome read into one string,
``re.split`` at N, per-piece ``random.random()`` cuts into a list of strings, as DNABERT's
``process_pretrain_data.py`` works) runs on the smallest size for the ratio.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LINE = 60

_PEAK = """
def _peak_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
"""

OURS = (
    _PEAK
    + """
import json, sys, time
from dnalm.corpus import build_corpus_shard
fasta, out, coverage = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter()
meta = build_corpus_shard(fasta, "chrS", out + "/chrS.seq.npy", out + "/chrS.idx.npy",
                          coverage=coverage)
dt = time.perf_counter() - t0
n = meta["n_pieces"]["train"] + meta["n_pieces"]["val"]
print(json.dumps({"seconds": dt, "peak_mb": _peak_mb(), "stored_bp": meta["stored_bp"],
                  "pieces": n}))
"""
)

REFERENCE = (
    _PEAK
    + """
import gzip, json, random, re, sys, time
fasta, coverage = sys.argv[1], int(sys.argv[2])
min_len, max_len = 10, 510
t0 = time.perf_counter()
with gzip.open(fasta, "rt") as fh:
    fh.readline()
    seq = "".join(line.rstrip() for line in fh).upper()
segments = [s for s in re.split("[^ACGT]+", seq) if len(s) >= min_len]
pieces = []
for p in range(coverage):
    rnd = random.Random(p)
    for s in segments:
        pos, rest = 0, len(s)
        while rest > max_len:
            n = max_len if rnd.random() < 0.5 else rnd.randint(min_len, max_len)
            n = min(n, rest - min_len)
            pieces.append(s[pos : pos + n])
            pos += n
            rest -= n
        pieces.append(s[pos:])
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "peak_mb": _peak_mb(), "stored_bp": sum(map(len, pieces)),
                  "pieces": len(pieces)}))
"""
)


def write_genome(path: Path, mbp: int, seed: int = 0) -> int:
    """Write a synthetic bgzip FASTA of ``mbp`` Mbp in 1 Mbp blocks; index it; return length."""
    import pysam

    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ATCGatcgNN", dtype=np.uint8)
    block = 1_000_020  # a multiple of the line width
    total = mbp * 1_000_000
    with pysam.BGZFile(str(path), "wb") as fh:
        fh.write(b">chrS synthetic\n")
        done = 0
        while done < total:
            n = min(block, total - done)
            codes = rng.integers(0, 4, n, dtype=np.uint8)
            lo = int(rng.integers(0, n))  # one soft-masked block per Mbp
            codes[lo : lo + int(rng.integers(0, 300_000))] += 4
            if done == 0:
                codes[:10_000] = 8  # an N run at the start, as in real assemblies
            elif rng.random() < 0.05:
                g = int(rng.integers(0, n))
                codes[g : g + 50_000] = 8  # assembly gaps
            seq = letters[codes]
            full = n // LINE * LINE
            lines = np.concatenate(
                [seq[:full].reshape(-1, LINE), np.full((full // LINE, 1), 10, np.uint8)], axis=1
            )
            fh.write(lines.tobytes())
            if full < n:
                fh.write(seq[full:].tobytes() + b"\n")
            done += n
    pysam.faidx(str(path))
    return total


def run_child(code: str, args: list[str]) -> dict:
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    if res.returncode:
        raise RuntimeError(f"benchmark child failed:\n{res.stderr[-2000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["wall"] = time.perf_counter() - t0
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description="corpus build: dnalm.corpus vs reference")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 300], help="Mbp")
    ap.add_argument("--coverage", type=int, default=5)
    ap.add_argument("--no-reference", action="store_true", help="skip the reference builder")
    ap.add_argument(
        "--reference-all",
        action="store_true",
        help="run the reference on every size, not just the smallest",
    )
    ap.add_argument("--tmpdir", default=None, help="where the genomes and shards go")
    args = ap.parse_args(argv)
    if not Path("/proc/self/status").is_file():
        sys.exit("bench_corpus needs Linux /proc to read peak memory")

    work = Path(tempfile.mkdtemp(prefix="dnalm_bench_corpus_", dir=args.tmpdir))
    rows = []
    try:
        header = (
            f"{'builder':<10} {'Mbp':>5} {'cov':>4} {'pieces':>10} {'seconds':>8} "
            f"{'Mbp/s in':>9} {'Mbp/s out':>10} {'peak MB':>8}"
        )
        print(header)
        print("-" * len(header))
        for mbp in sorted(args.sizes):
            fasta = work / f"g{mbp}.fa.gz"
            write_genome(fasta, mbp)
            out = work / f"shards{mbp}"
            out.mkdir()
            r = run_child(OURS, [str(fasta), str(out), str(args.coverage)])
            rows.append({"builder": "dnalm", "mbp": mbp, **r})
            if not args.no_reference and (args.reference_all or mbp == min(args.sizes)):
                ref = run_child(REFERENCE, [str(fasta), str(args.coverage)])
                rows.append({"builder": "reference", "mbp": mbp, **ref})
            shutil.rmtree(out)
            for row in rows[-2:] if rows[-1]["builder"] == "reference" else rows[-1:]:
                print(
                    f"{row['builder']:<10} {mbp:>5} {args.coverage:>4} {row['pieces']:>10,} "
                    f"{row['seconds']:>8.2f} {mbp / row['seconds']:>9.1f} "
                    f"{row['stored_bp'] / 1e6 / row['seconds']:>10.1f} {row['peak_mb']:>8.0f}"
                )
            fasta.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ours = {r["mbp"]: r for r in rows if r["builder"] == "dnalm"}
    print()
    for ref in (r for r in rows if r["builder"] == "reference"):
        o = ours[ref["mbp"]]
        print(
            f"{ref['mbp']} Mbp: dnalm is {ref['seconds'] / o['seconds']:.1f}x faster and uses "
            f"{ref['peak_mb'] / o['peak_mb']:.1f}x less peak memory than the reference"
        )
    if len(ours) > 1:
        lo, hi = min(ours), max(ours)
        print(
            f"{lo} -> {hi} Mbp: time x{ours[hi]['seconds'] / ours[lo]['seconds']:.1f} "
            f"(size x{hi / lo:.0f}), peak memory {ours[lo]['peak_mb']:.0f} -> "
            f"{ours[hi]['peak_mb']:.0f} MB"
        )
    return rows


if __name__ == "__main__":
    main()
