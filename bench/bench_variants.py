"""Variant scoring throughput (batched vs one at a time) and VCF streaming memory.

Run from the repository root::

    python -m bench.bench_variants [--size tiny] [--n-variants 256]
        [--n-records 10000000] [--gpu]

1. **Scoring.** The same random SNVs (101-bp windows, k=6, randomly initialised classifier
   and masked LM of the ``--size`` preset) are scored by ``dnalm.variants.effects`` batched
   (``--batch-size``) and one variant per forward pass (the reference), in the same run;
   the two are checked to agree before the variants/s and the ratio are printed.
   Classifier (ref + alt windows) and zero-shot masked LM (both strands) are timed apart.
2. **Streaming.** A synthetic bgzip VCF of ``--n-records`` records (RefSeq contig names,
   10 % multi-allelic) is written in chunks, then streamed through
   ``dnalm.vcf_prepare.normalise_vcf`` (validation, renaming, BGZF + tabix) while a sampler thread records the
   resident set size; then the first contig is read back with ``iter_alleles``
   (tabix fetch, multi-allelic split). Peak RSS above the baseline and RSS early vs late
   show whether memory stays flat.

``--gpu`` uses the ``base`` model (DNABERT's 12 x 768) on CUDA with a larger batch.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch
from dnalm import vcf as dvcf
from dnalm import vcf_prepare as vprep
from dnalm.variants import effects as V


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class _Sampler(threading.Thread):
    def __init__(self, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.every, self.samples, self._halt = every, [], threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append(_rss_mb())
            time.sleep(self.every)

    def stop(self) -> list[float]:
        self._halt.set()
        self.join()
        return self.samples


# ----------------------------------------------------------------------------- scoring


def _models(size: str, k: int):
    from dnalm.modeling import bert_config
    from transformers import BertForMaskedLM, BertForSequenceClassification

    torch.manual_seed(0)
    cfg = bert_config(k, size, max_positions=512)
    cfg.num_labels = 2
    return BertForSequenceClassification(cfg).eval(), BertForMaskedLM(cfg).eval()


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - t0


def bench_scoring(
    size: str,
    n: int,
    batch_size: int,
    device: str,
    k: int = 6,
    L: int = 101,
    n_ref: int | None = None,
) -> dict:
    rng = np.random.default_rng(0)
    clf, mlm = _models(size, k)
    wins = ["".join(rng.choice(list("ACGT"), L)) for _ in range(n)]
    off = L // 2
    refs = [w[off] for w in wins]
    alts = ["ACGT".replace(r, "")[int(rng.integers(3))] for r in refs]
    alt_w = [w[:off] + a + w[off + 1 :] for w, a in zip(wins, alts, strict=True)]
    n_ref = n if n_ref is None else min(n, n_ref)
    with torch.inference_mode():
        V.classifier_delta(clf, k, wins[:2], alt_w[:2], batch_size, device)  # warm-up
        (pb, ab), t_clf_b = _timed(
            lambda: V.classifier_delta(clf, k, wins, alt_w, batch_size, device)
        )
        one, t_clf_1 = _timed(
            lambda: [
                V.classifier_delta(clf, k, [wins[i]], [alt_w[i]], 1, device) for i in range(n_ref)
            ]
        )
        p1 = np.array([o[0][0] for o in one])
        zb, t_zs_b = _timed(
            lambda: V.zero_shot_llr(mlm, k, wins, [off] * n, refs, alts, batch_size, device)
        )
        z1, t_zs_1 = _timed(
            lambda: np.array(
                [
                    V.zero_shot_llr(mlm, k, [wins[i]], [off], [refs[i]], [alts[i]], 1, device)[0]
                    for i in range(n_ref)
                ]
            )
        )
    tol = 2e-2 if device.startswith("cuda") else 1e-4  # bf16 autocast on CUDA
    assert np.allclose(p1, pb[:n_ref], atol=tol), "batched and single classifier disagree"
    assert np.allclose(z1, zb[:n_ref], atol=tol * 10), "batched and single zero-shot disagree"
    res = {
        "size": size,
        "device": device,
        "n": n,
        "batch_size": batch_size,
        "clf_batched_vps": n / t_clf_b,
        "clf_single_vps": n_ref / t_clf_1,
        "zs_batched_vps": n / t_zs_b,
        "zs_single_vps": n_ref / t_zs_1,
    }
    res["clf_ratio"] = res["clf_batched_vps"] / res["clf_single_vps"]
    res["zs_ratio"] = res["zs_batched_vps"] / res["zs_single_vps"]
    return res


# ----------------------------------------------------------------------------- streaming


def write_synthetic_vcf(path: Path, n_records: int, chunk: int = 500_000, seed: int = 0) -> None:
    """bgzip VCF with ``n_records`` sorted SNV records over two RefSeq-named contigs."""
    import pysam

    rng = np.random.default_rng(seed)
    half = n_records // 2
    bases = np.array(list("ACGT"))
    with pysam.BGZFile(str(path), "wb") as out:
        out.write(
            b"##fileformat=VCFv4.2\n##contig=<ID=NC_000001.11,length=2000000000>\n"
            b"##contig=<ID=NC_000002.12,length=2000000000>\n"
            b"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        )
        for ci, (contig, n) in enumerate(
            (("NC_000001.11", half), ("NC_000002.12", n_records - half))
        ):
            pos0 = 1
            for s in range(0, n, chunk):
                m = min(chunk, n - s)
                pos = pos0 + np.cumsum(rng.integers(1, 20, m))
                pos0 = int(pos[-1])
                ref = rng.integers(0, 4, m)
                alt = (ref + rng.integers(1, 4, m)) % 4
                alt2 = (alt + 1) % 4
                multi = rng.random(m) < 0.1
                alts = np.where(
                    multi, np.char.add(np.char.add(bases[alt], ","), bases[alt2]), bases[alt]
                )
                ids = np.char.add("rs", (np.arange(s, s + m) + ci * half).astype(str))
                lines = np.char.add(
                    np.char.add(
                        np.char.add(
                            np.char.add(contig + "\t", pos.astype(str)), np.char.add("\t", ids)
                        ),
                        np.char.add("\t", bases[ref]),
                    ),
                    np.char.add("\t", alts),
                )
                out.write(("\t.\t.\t.\n".join(lines.tolist()) + "\t.\t.\t.\n").encode())


class _Map:
    def __init__(self):
        self.m = {"NC_000001.11": "chr1", "NC_000002.12": "chr2"}

    def canonical(self, name):
        return self.m.get(name)


def bench_streaming(n_records: int, workdir: Path) -> dict:
    src = workdir / "synthetic.vcf.gz"
    t0 = time.perf_counter()
    write_synthetic_vcf(src, n_records)
    t_write = time.perf_counter() - t0
    base = _rss_mb()
    sampler = _Sampler()
    sampler.start()
    t0 = time.perf_counter()
    counts = vprep.normalise_vcf(
        src, workdir / "norm.vcf.gz", _Map(), {"chr1": 2_000_000_000, "chr2": 2_000_000_000}
    )
    t_norm = time.perf_counter() - t0
    samples = sampler.stop()
    assert counts["records_out"] == n_records
    # read back the first contig's first 1/10 via tabix fetch, splitting alleles
    sampler = _Sampler()
    sampler.start()
    t0 = time.perf_counter()
    n_alleles = n_rec = 0
    with dvcf.open_vcf(workdir / "norm.vcf.gz") as vf:
        stop = None
        for i, rec in enumerate(vf.fetch("chr1")):
            if i == n_records // 20:
                stop = rec.pos
                break
        for _rec, alle in dvcf.iter_alleles(vf, "chr1", 0, stop or 1):
            n_rec += 1
            n_alleles += len(alle)
    t_read = time.perf_counter() - t0
    samples2 = sampler.stop()
    q = max(1, len(samples) // 5)
    return {
        "n_records": n_records,
        "write_s": t_write,
        "normalise_s": t_norm,
        "normalise_rps": n_records / t_norm,
        "rss_base_mb": base,
        "rss_peak_mb": max(samples + [base]),
        "rss_early_mb": float(np.mean(samples[:q])),
        "rss_late_mb": float(np.mean(samples[-q:])),
        "read_records": n_rec,
        "read_alleles": n_alleles,
        "read_rps": n_rec / t_read,
        "read_rss_peak_mb": max(samples2 + [base]),
        "file_mb": src.stat().st_size / 2**20,
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="tiny", choices=["tiny", "small", "base"])
    ap.add_argument("--n-variants", type=int, default=256)
    ap.add_argument(
        "--n-single", type=int, default=None, help="variants scored one at a time (default: all)"
    )
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--n-records", type=int, default=10_000_000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--gpu", action="store_true", help="base model on CUDA, batch 256")
    ap.add_argument("--skip-streaming", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    device, size, bs = "cpu", args.size, args.batch_size
    if args.gpu:
        if not torch.cuda.is_available():
            raise SystemExit("--gpu: CUDA is not available")
        device, size, bs = "cuda", "base", max(bs, 256)
    r = bench_scoring(size, args.n_variants, bs, device, n_ref=args.n_single)
    print(f"scoring ({r['size']} model, {r['device']}, {r['n']} SNVs, 101 bp, k=6, batch {bs})")
    print(
        f"  classifier ref+alt : batched {r['clf_batched_vps']:8.1f} variants/s, "
        f"one-at-a-time {r['clf_single_vps']:8.1f} variants/s, ratio {r['clf_ratio']:.1f}x"
    )
    print(
        f"  zero-shot MLM 2 str: batched {r['zs_batched_vps']:8.1f} variants/s, "
        f"one-at-a-time {r['zs_single_vps']:8.1f} variants/s, ratio {r['zs_ratio']:.1f}x"
    )
    out = {"scoring": r}
    if not args.skip_streaming:
        with tempfile.TemporaryDirectory(prefix="bench_variants_") as tmp:
            s = bench_streaming(args.n_records, Path(tmp))
        print(
            f"streaming {s['n_records']:,} records ({s['file_mb']:.0f} MiB bgzip, written in "
            f"{s['write_s']:.1f} s)"
        )
        print(
            f"  normalise_vcf: {s['normalise_rps']:,.0f} records/s ({s['normalise_s']:.1f} s); "
            f"RSS base {s['rss_base_mb']:.0f} MiB, peak {s['rss_peak_mb']:.0f} MiB, "
            f"first-fifth mean {s['rss_early_mb']:.0f} MiB, last-fifth mean "
            f"{s['rss_late_mb']:.0f} MiB"
        )
        print(
            f"  tabix fetch + split: {s['read_records']:,} records ({s['read_alleles']:,} "
            f"alleles) at {s['read_rps']:,.0f} records/s, RSS peak {s['read_rss_peak_mb']:.0f} MiB"
        )
        out["streaming"] = s
    return out


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
