"""TF-MoDISco (modisco-lite) cost on attribution maps: wall time, CPU time and peak memory at
1k / 10k / 50k sequences (issue 16, item 5).

Each size runs in its own child process (peak RSS is per process), on synthetic 101-bp maps in
the contract's layout: half of the rows carry a planted CTCF-like instance whose hypothetical
contributions are its log-odds, the rest Gaussian noise. Printed per size: seconds, CPU seconds,
peak RSS, the input arrays' size (one-hot + hypothetical contributions, float32) and the ratio
of the two, seqlets, patterns, and whether TOMTOM matched the planted PWM (q < 0.05).

    python -m bench.bench_modisco [--sizes 1000 10000 50000] [--leiden-runs 2]
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

L = 101


def _one(n: int, leiden_runs: int) -> dict:
    from dnalm.attribution_motifs.modisco import read_patterns, run_modisco, write_h5
    from dnalm.attribution_motifs.warmup import planted_maps
    from dnalm.meme import write_meme
    from dnalm.sim.presets import PWMS
    from dnalm.tomtom import match_motifs

    onehot, hyp = planted_maps(n, L)
    input_mb = (onehot.nbytes + hyp.nbytes) / 2**20
    t0, c0 = time.perf_counter(), time.process_time()
    run = run_modisco(onehot, hyp, sliding_window_size=15, flank_size=5, n_leiden_runs=leiden_runs,
                      min_metacluster_size=20, final_min_cluster_size=20)  # fmt: skip
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    with tempfile.TemporaryDirectory() as d:
        write_h5(run, Path(d) / "m.h5", 15)
        patterns = read_patterns(Path(d) / "m.h5")
        write_meme(Path(d) / "p.meme", {p.name: p.ppm for p in patterns})
        write_meme(Path(d) / "k.meme", PWMS)
        m = match_motifs(Path(d) / "p.meme", Path(d) / "k.meme") if patterns else None
    matched = bool(m is not None and (m[m["target"] == "CTCF_like"]["q"] < 0.05).any())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"n": n, "wall_s": round(wall, 1), "cpu_s": round(cpu + children.ru_utime + children.ru_stime, 1),
            "peak_rss_mb": round(peak), "input_mb": round(input_mb, 1),
            "peak_over_input": round(peak / input_mb, 1), "seqlets": run.n_pos_seqlets + run.n_neg_seqlets,
            "patterns": len(patterns), "ctcf_matched": matched}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    ap.add_argument("--leiden-runs", type=int, default=2)
    ap.add_argument("--one", type=int, metavar="N",
                    help="run one size in this process and print its JSON line (what --sizes runs per size)")  # fmt: skip
    args = ap.parse_args(argv)
    if args.one is not None:
        print(json.dumps(_one(args.one, args.leiden_runs)))
        return 0
    print("n\twall_s\tcpu_s\tpeak_rss_mb\tinput_mb\tpeak/input\tseqlets\tpatterns\tCTCF matched")
    for n in args.sizes:
        r = subprocess.run([sys.executable, "-m", "bench.bench_modisco", "--one", str(n),
                            "--leiden-runs", str(args.leiden_runs)], capture_output=True, text=True)  # fmt: skip
        if r.returncode != 0:
            print(f"{n}\tfailed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}")
            continue
        d = json.loads(r.stdout.strip().splitlines()[-1])
        print("\t".join(str(d[k]) for k in ("n", "wall_s", "cpu_s", "peak_rss_mb", "input_mb",
                                            "peak_over_input", "seqlets", "patterns", "ctcf_matched")),
              flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
