"""Run every benchmark in turn: `python -m bench` (or `make bench`) from the repository root.

Each benchmark runs a straightforward reference implementation and ours side by side in the same
process and prints the ratio, because shared machines are noisy. See bench/README.md.
"""

from __future__ import annotations

import subprocess
import sys

BENCHES = [
    ["bench.bench_tokenize"],
    ["bench.bench_corpus", "--sizes", "10", "100"],
    ["bench.bench_motifs"],
    ["bench.bench_pretrain"],
    ["bench.bench_gpt"],
    ["bench.bench_variants", "--n-records", "2000000"],
    ["bench.bench_cli_predict"],
    ["bench.bench_cli_scan"],
    ["bench.bench_attribution", "--n", "50"],
    ["bench.bench_modisco", "--sizes", "1000", "10000"],
]


def main() -> int:
    rc = 0
    for args in BENCHES:
        print(f"\n=== python -m {' '.join(args)}", flush=True)
        rc |= subprocess.run([sys.executable, "-m", *args]).returncode
    return rc


if __name__ == "__main__":
    sys.exit(main())
