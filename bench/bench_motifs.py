"""Motif discovery speed: dnalm.motifs.find_motifs vs the plain-loop oracle, side by side.

Run from the repository root::

    .venv/bin/python -m bench.bench_motifs [--n 10000] [--length 101]

Synthetic input (``tests.motif_oracle.planted_dataset``): random sequences, half positive,
most positives carrying one of two planted motifs (30% with one substitution) under a
high-attention span with jittered edges, plus a random decoy span. Both implementations run
on the same input in this process; the script checks that they agree (candidates, counts,
p-values, motifs and windows) and prints the times and the speed-up ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from dnalm.motifs import find_motifs

from tests.motif_oracle import oracle_find_motifs, planted_dataset


def main(argv: list[str] | None = None) -> float:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="sequences (default 10000)")
    ap.add_argument("--length", type=int, default=101, help="bp per sequence (default 101)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="runs of ours; the best is used")
    args = ap.parse_args(argv)

    seqs, scores, positive = planted_dataset(
        np.random.default_rng(args.seed), n_seqs=args.n, length=args.length
    )
    t_ours = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        res = find_motifs(seqs, scores, positive)
        t_ours.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    table, motifs = oracle_find_motifs(seqs, scores, positive)
    t_oracle = time.perf_counter() - t0

    same = (
        res.candidates == list(table)
        and np.allclose(res.pvalue, [table[c][2] for c in res.candidates], rtol=1e-12, atol=0)
        and np.allclose(res.padj, [table[c][3] for c in res.candidates], rtol=1e-12, atol=0)
        and {
            m.key: sorted(
                zip(m.seq_index.tolist(), m.start.tolist(), m.end.tolist(), m.region, strict=True)
            )
            for m in res.motifs
        }
        == {k: sorted(v) for k, v in motifs.items()}
    )
    best = min(t_ours)
    print(f"input: {args.n} sequences x {args.length} bp, {int(positive.sum())} positive")
    print(
        f"candidates {len(res.candidates)}, significant {int((res.padj < 0.005).sum())}, "
        f"motifs {len(res.motifs)}; identical to oracle: {same}"
    )
    print(f"dnalm.motifs.find_motifs : {best:8.3f} s (best of {args.repeats})")
    print(f"oracle (plain loops)     : {t_oracle:8.3f} s")
    print(f"speed-up                 : {t_oracle / best:8.1f}x")
    if not same:
        raise SystemExit("results differ from the oracle")
    return t_oracle / best


if __name__ == "__main__":
    main()
