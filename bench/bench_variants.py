"""Variant scoring throughput (``dnalm score-variants`` vs a batched HF loop) and VCF streaming memory.

Run from the repository root::

    python -m bench.bench_variants [--size tiny] [--n-variants 2000]
        [--n-records 10000000] [--gpu]

1. **Scoring.** A random genome (two 300-kb contigs) and a VCF of ``--n-variants`` records
   (80 % SNVs, 10 % insertions, 10 % deletions of 1-5 bp) are scored with a randomly
   initialised classifier and masked LM of the ``--size`` preset (k = 6, 101-bp windows) two
   ways, in the same run, alternating ``--repeats`` times (best time of each kept):

   - **ours**: ``dnalm score-variants CLF --vcf --genome [--lm LM] -o OUT`` end to end (VCF
     parsing and checks, REF check against the genome, left-normalisation, windows,
     batched scoring, VCF + TSV written);
   - **batched HF loop**, what a careful user writes with ``transformers``: pysam reads the
     records and windows, a fast (Rust) tokenizer turns k-mer strings into ids,
     ``--batch-size`` ref and alt windows go through ``BertForSequenceClassification`` per
     forward pass (SDPA attention, ``torch.inference_mode``, bf16 autocast on CUDA); for the
     zero-shot LLR the k tokens covering each SNV are masked in one ``BertForMaskedLM``
     pass per strand and the ref/alt k-mer logits read off. It does not left-normalise
     (a user would run ``bcftools norm`` first) and writes nothing.

   Both are checked to agree on the SNVs (``p_ref``, ``p_alt``, LLR) before variants/s and
   the ratios are printed, for the classifier alone and with the zero-shot LLR.
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
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from dnalm import kmers
from dnalm import vcf as dvcf
from dnalm import vcf_prepare as vprep
from dnalm.seq import revcomp


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


def make_inputs(root: Path, size: str, n: int, k: int = 6, L: int = 101, seed: int = 0) -> dict:
    """Genome (bgzip + .fai/.gzi), VCF, classifier directory (with a task card) and LM directory."""
    import pysam
    from dnalm.modeling import bert_config
    from transformers import BertForMaskedLM, BertForSequenceClassification

    rng = np.random.default_rng(seed)
    contigs = {c: "".join(rng.choice(list("ACGT"), 300_000)) for c in ("chr1", "chr2")}
    plain = root / "genome.fa"
    plain.write_text("".join(f">{c}\n" + "\n".join(s[i : i + 60] for i in range(0, len(s), 60))
                             + "\n" for c, s in contigs.items()))  # fmt: skip
    genome = root / "genome.fa.gz"
    pysam.tabix_compress(str(plain), str(genome), force=True)
    pysam.faidx(str(genome))
    lines = []
    per = n // 2
    for c, seq in contigs.items():
        for pos0 in np.sort(rng.choice(np.arange(1000, len(seq) - 1000, 7), per, replace=False)):
            pos0 = int(pos0)
            u = rng.random()
            if u < 0.8:
                ref = seq[pos0]
                alt = "ACGT".replace(ref, "")[int(rng.integers(3))]
            elif u < 0.9:
                ref = seq[pos0]
                alt = ref + "".join(rng.choice(list("ACGT"), int(rng.integers(1, 6))))
            else:
                ref = seq[pos0 : pos0 + 1 + int(rng.integers(1, 6))]
                alt = ref[0]
            lines.append(f"{c}\t{pos0 + 1}\tv{len(lines)}\t{ref}\t{alt}\t.\t.\t.\n")
    vcf = root / "in.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n" + "".join(f"##contig=<ID={c},length={len(s)}>\n"
                                                     for c, s in contigs.items())
                   + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "".join(lines))  # fmt: skip
    torch.manual_seed(0)
    cfg = bert_config(k, size, max_positions=512)
    cfg.num_labels = 2
    clf, lm = root / "clf", root / "lm"
    BertForSequenceClassification(cfg).save_pretrained(str(clf))
    BertForMaskedLM(cfg).save_pretrained(str(lm))
    for d in (clf, lm):
        kmers.write_tokenizer_files(d, k, max_len=512)
    (clf / "card.json").write_text(json.dumps({"task": "bench", "kind": "tfbs", "k": k,
                                               "window_length": L, "counts": {}}))  # fmt: skip
    return {"genome": genome, "vcf": vcf, "clf": clf, "lm": lm, "k": k, "L": L,
            "n_alleles": len(lines)}  # fmt: skip


def ours(inp: dict, out: Path, batch_size: int, device: str, with_lm: bool) -> pd.DataFrame:
    """``dnalm score-variants`` end to end; its TSV."""
    from dnalm.cli import main

    argv = ["score-variants", str(inp["clf"]), "--vcf", str(inp["vcf"]), "--genome",
            str(inp["genome"]), "--batch-size", str(batch_size), "--device", device, "--quiet",
            "-o", str(out)]  # fmt: skip
    if with_lm:
        argv += ["--lm", str(inp["lm"])]
    if main(argv) != 0:
        raise RuntimeError("dnalm score-variants failed")
    return pd.read_csv(f"{out}.tsv", sep="\t", na_values=".", keep_default_na=False)


@torch.inference_mode()
def batched_hf_loop(inp: dict, batch_size: int, device: str, with_lm: bool) -> pd.DataFrame:
    """A competent batched ``transformers`` loop over the VCF (see the module docstring)."""
    import pysam
    from dnalm._compat import autocast
    from transformers import BertForMaskedLM, BertForSequenceClassification

    from bench.bench_cli_predict import fast_kmer_tokenizer

    dev = torch.device(device)
    k, L = inp["k"], inp["L"]
    c = L // 2
    tok = fast_kmer_tokenizer(k)
    clf = BertForSequenceClassification.from_pretrained(str(inp["clf"]), attn_implementation="sdpa")
    clf = clf.eval().to(dev)
    rows, ref_w, alt_w = [], [], []
    with pysam.VariantFile(str(inp["vcf"])) as vf, pysam.FastaFile(str(inp["genome"])) as fa:
        for rec in vf:
            s = rec.pos - 1 - c
            left = fa.fetch(rec.chrom, s, rec.pos - 1).upper()
            for alt in rec.alts:
                right = fa.fetch(rec.chrom, rec.pos - 1 + len(rec.ref),
                                 rec.pos - 1 + len(rec.ref) + L).upper()  # fmt: skip
                ref_w.append(fa.fetch(rec.chrom, s, s + L).upper())
                alt_w.append((left + alt + right)[:L])
                rows.append((rec.id, rec.ref, alt))

    def probs(seqs: list[str]) -> np.ndarray:
        out = np.zeros(len(seqs))
        for a in range(0, len(seqs), batch_size):
            enc = tok([kmers.seq2kmer(x, k) for x in seqs[a : a + batch_size]], padding=True,
                      return_tensors="pt").to(dev)  # fmt: skip
            with autocast(dev):
                logits = clf(**enc).logits
            out[a : a + batch_size] = torch.softmax(logits.float(), -1)[:, 1].cpu().numpy()
        return out

    p = probs(ref_w + alt_w)
    df = pd.DataFrame(rows, columns=["id", "ref", "alt"])
    df["p_ref"], df["p_alt"] = p[: len(rows)], p[len(rows) :]
    if with_lm:
        mlm = BertForMaskedLM.from_pretrained(str(inp["lm"]), attn_implementation="sdpa")
        mlm = mlm.eval().to(dev)
        snv = [i for i, (_, r, a) in enumerate(rows) if len(r) == len(a) == 1]
        llr = np.zeros(len(snv))
        for strand in ("+", "-"):
            ws = [ref_w[i] if strand == "+" else revcomp(ref_w[i]) for i in snv]
            alts = [rows[i][2] if strand == "+" else revcomp(rows[i][2]) for i in snv]
            off = c if strand == "+" else L - 1 - c
            cover = np.arange(max(0, off - k + 1), min(off, L - k) + 1) + 1  # +1: [CLS]
            for a in range(0, len(ws), batch_size):
                wb = ws[a : a + batch_size]
                ids = tok([kmers.seq2kmer(x, k) for x in wb], return_tensors="pt")["input_ids"]
                alt_ids = tok([kmers.seq2kmer(x[:off] + b + x[off + 1 :], k)
                               for x, b in zip(wb, alts[a : a + batch_size], strict=True)],
                              return_tensors="pt")["input_ids"]  # fmt: skip
                ref_tok, alt_tok = ids[:, cover], alt_ids[:, cover]
                masked = ids.clone()
                masked[:, cover] = tok.mask_token_id
                with autocast(dev):
                    logits = mlm(input_ids=masked.to(dev)).logits[:, cover].float().cpu()
                diff = (logits.gather(-1, alt_tok[..., None]) - logits.gather(-1, ref_tok[..., None]))
                llr[a : a + len(wb)] += diff[..., 0].mean(1).numpy() / 2
        df["llr"] = np.nan
        df.loc[snv, "llr"] = llr
    return df


def bench_scoring(size: str, n: int, batch_size: int, device: str, repeats: int = 2) -> dict:
    """Variants/s of ours and the batched HF loop, classifier alone and with the zero-shot LLR."""
    res: dict = {"size": size, "device": device, "batch_size": batch_size}
    tol = 2e-2 if device.startswith("cuda") else 1e-4  # bf16 autocast on CUDA
    with tempfile.TemporaryDirectory(prefix="bench_score_") as tmp:
        inp = make_inputs(Path(tmp), size, n)
        res["n_alleles"] = n_all = inp["n_alleles"]
        batched_hf_loop(inp, batch_size, device, False)  # warm-up (imports, kernels)
        for mode, with_lm in (("clf", False), ("clf_lm", True)):
            t_ours = t_ref = float("inf")
            for _ in range(repeats):  # alternate, keep each one's best time
                t = time.perf_counter()
                got = ours(inp, Path(tmp) / "out", batch_size, device, with_lm)
                t_ours = min(t_ours, time.perf_counter() - t)
                t = time.perf_counter()
                ref = batched_hf_loop(inp, batch_size, device, with_lm)
                t_ref = min(t_ref, time.perf_counter() - t)
            assert len(got) == len(ref) == n_all and (got["status"] == "scored").all()
            snv = (got["kind"] == "snv").to_numpy()
            cols = ["p_ref", "p_alt"] + (["llr"] if with_lm else [])
            diff = max(float(np.abs(got.loc[snv, col].to_numpy() - ref.loc[snv, col].to_numpy()).max())
                       for col in cols)  # fmt: skip
            assert diff < (10 * tol if with_lm else tol), (mode, diff)
            res[mode] = {"ours_vps": n_all / t_ours, "batched_hf_vps": n_all / t_ref,
                         "ratio": t_ref / t_ours, "max_abs_diff_snv": diff,
                         "n_snv": int(snv.sum()), "n_indel": int((~snv).sum())}  # fmt: skip
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
    ap.add_argument("--n-variants", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--n-records", type=int, default=10_000_000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--gpu", action="store_true", help="base model on CUDA, batch 256")
    ap.add_argument("--skip-streaming", action="store_true")
    ap.add_argument("--skip-scoring", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    device, size, bs = "cpu", args.size, args.batch_size
    if args.gpu:
        if not torch.cuda.is_available():
            raise SystemExit("--gpu: CUDA is not available")
        device, size, bs = "cuda", "base", max(bs, 256)
    out: dict = {}
    if not args.skip_scoring:
        r = bench_scoring(size, args.n_variants, bs, device, args.repeats)
        name = torch.cuda.get_device_name() if args.gpu else f"CPU, {args.threads} thread(s)"
        print(f"scoring ({r['size']} model, {name}, {r['n_alleles']} alleles: "
              f"{r['clf']['n_snv']} SNVs + {r['clf']['n_indel']} indels, 101 bp, k=6, batch {bs})")
        for mode, label in (("clf", "classifier ref+alt"), ("clf_lm", "+ zero-shot LLR   ")):
            m = r[mode]
            print(f"  {label}: ours {m['ours_vps']:8.1f} variants/s, batched HF loop "
                  f"{m['batched_hf_vps']:8.1f} variants/s, ratio {m['ratio']:.2f}x "
                  f"(SNVs agree within {m['max_abs_diff_snv']:.1g})")
        out["scoring"] = r
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
