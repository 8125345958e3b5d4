"""``dnalm predict`` and ``dnalm embed`` throughput against two plain transformers loops, in one run.

Run from the repository root::

    python -m bench.bench_cli_predict [--n 512] [--size small] [--commands predict embed] [--gpu]

The same randomly initialised classifier directory (k=6, ``--size`` preset) runs on the same
random sequences (lengths ``--min-len``..``--max-len`` bp) three ways, for class probabilities
(``predict``) and for last-layer [CLS] vectors (``embed``):

1. **ours**: ``dnalm predict|embed MODEL --fasta F -o OUT`` end to end (model load, FASTA read,
   dnalm's vectorised tokenizer, length-grouped batches, output write).
2. **per-sequence pipeline**: a ``transformers`` ``text-classification`` (or
   ``feature-extraction``) pipeline called once per sequence on its space-separated k-mers
   (``--n-single`` sequences, the rate extrapolated).
3. **batched HF loop**: what a careful user writes: a fast (Rust) tokenizer on k-mer strings,
   rows sorted by length, ``--batch-size`` rows per forward pass, SDPA attention,
   ``torch.inference_mode`` (and bf16 autocast on CUDA, as ours).

Ours and the batched loop run ``--repeats`` times, alternating, and keep their best time.
The outputs of the three are checked to agree before sequences/s and ratios are printed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from dnalm import kmers
from dnalm.cli import main as dnalm_main

SIZES = {  # hidden, layers, heads
    "tiny": (64, 2, 2),
    "small": (256, 4, 4),
    "base": (768, 12, 12),
}


def _model_dir(root: Path, size: str, k: int, max_positions: int = 512) -> Path:
    from transformers import BertConfig, BertForSequenceClassification

    hidden, layers, heads = SIZES[size]
    cfg = BertConfig(vocab_size=kmers.vocab_size(k), hidden_size=hidden, num_hidden_layers=layers,
                     num_attention_heads=heads, intermediate_size=4 * hidden,
                     max_position_embeddings=max_positions, num_labels=2)  # fmt: skip
    torch.manual_seed(0)
    d = root / "model"
    BertForSequenceClassification(cfg).save_pretrained(str(d))
    kmers.write_tokenizer_files(d, k, max_len=max_positions)
    return d


def fast_kmer_tokenizer(k: int):
    """A ``PreTrainedTokenizerFast`` over space-separated k-mers with dnalm's ids.

    ``BertTokenizerFast(vocab_file=..., do_lower_case=False)`` maps every k-mer to [UNK] with
    the installed transformers, so the fast tokenizer is built from a word-level model.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    v = {w: i for i, w in enumerate(kmers.vocab(k))}
    t = Tokenizer(models.WordLevel(v, unk_token="[UNK]"))
    t.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    t.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", v["[CLS]"]), ("[SEP]", v["[SEP]"])]
    )
    return PreTrainedTokenizerFast(tokenizer_object=t, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                   model_max_length=512)  # fmt: skip


def per_sequence_pipeline(d: Path, seqs: list[str], k: int, device: str) -> np.ndarray:
    """One ``pipeline`` call per sequence; returns P(class j) in label order."""
    from transformers import BertForSequenceClassification, pipeline

    model = BertForSequenceClassification.from_pretrained(str(d)).eval()
    pipe = pipeline(
        "text-classification",
        model=model,
        tokenizer=fast_kmer_tokenizer(k),
        device=torch.device(device),
    )
    out = np.zeros((len(seqs), 2))
    for i, s in enumerate(seqs):
        for r in pipe(kmers.seq2kmer(s, k), top_k=None):
            out[i, int(r["label"].split("_")[-1])] = r["score"]
    return out


@torch.inference_mode()
def batched_hf_loop(d: Path, seqs: list[str], k: int, device: str, batch_size: int) -> np.ndarray:
    """A competent batched loop: fast tokenizer, length-sorted batches, SDPA, bf16 on CUDA."""
    from dnalm._compat import autocast
    from transformers import BertForSequenceClassification

    dev = torch.device(device)
    model = (
        BertForSequenceClassification.from_pretrained(str(d), attn_implementation="sdpa")
        .eval()
        .to(dev)
    )
    tok = fast_kmer_tokenizer(k)
    order = np.argsort([len(s) for s in seqs], kind="stable")
    out = np.zeros((len(seqs), 2))
    for a in range(0, len(seqs), batch_size):
        idx = order[a : a + batch_size]
        enc = tok([kmers.seq2kmer(seqs[j], k) for j in idx], padding=True, return_tensors="pt").to(
            dev
        )
        with autocast(dev):
            logits = model(**enc).logits
        out[idx] = torch.softmax(logits.float(), -1).cpu().numpy()
    return out


def per_sequence_features(d: Path, seqs: list[str], k: int, device: str) -> np.ndarray:
    """One ``feature-extraction`` pipeline call per sequence; returns the [CLS] vectors."""
    from transformers import BertModel, pipeline

    model = BertModel.from_pretrained(str(d), add_pooling_layer=False).eval()
    pipe = pipeline(
        "feature-extraction", model=model, tokenizer=fast_kmer_tokenizer(k), device=torch.device(device)
    )
    return np.stack([np.asarray(pipe(kmers.seq2kmer(s, k)))[0, 0] for s in seqs])


@torch.inference_mode()
def batched_hf_features(
    d: Path, seqs: list[str], k: int, device: str, batch_size: int
) -> np.ndarray:
    """The batched loop of :func:`batched_hf_loop` for [CLS] vectors of the last layer."""
    from dnalm._compat import autocast
    from transformers import BertModel

    dev = torch.device(device)
    model = (
        BertModel.from_pretrained(str(d), add_pooling_layer=False, attn_implementation="sdpa")
        .eval()
        .to(dev)
    )
    tok = fast_kmer_tokenizer(k)
    order = np.argsort([len(s) for s in seqs], kind="stable")
    out = np.zeros((len(seqs), model.config.hidden_size), dtype=np.float32)
    for a in range(0, len(seqs), batch_size):
        idx = order[a : a + batch_size]
        enc = tok([kmers.seq2kmer(seqs[j], k) for j in idx], padding=True, return_tensors="pt").to(
            dev
        )
        with autocast(dev):
            h = model(**enc).last_hidden_state[:, 0]
        out[idx] = h.float().cpu().numpy()
    return out


def _ours(command: str, d: Path, fa: Path, out: Path, device: str, batch_size: int) -> np.ndarray:
    argv = [command, str(d), "--fasta", str(fa), "-o", str(out), "--quiet", "--device", device,
            "--batch-size", str(batch_size)]  # fmt: skip
    if dnalm_main(argv) != 0:
        raise RuntimeError(f"dnalm {command} failed")
    if command == "embed":
        return np.load(out)
    return pd.read_csv(out, sep="\t")[["p_0", "p_1"]].to_numpy()


def compare(command: str, d: Path, fa: Path, seqs: list[str], k: int, device: str, batch_size: int,
            repeats: int, n_single: int) -> dict[str, float]:  # fmt: skip
    """Time ours, the batched HF loop and the per-sequence pipeline; check they agree.

    Returns
    -------
    dict
        Sequences/s of ``ours``, ``batched_hf``, ``per_sequence_pipeline`` and the largest
        absolute difference of ours to each (``diff_batched``, ``diff_single``).
    """
    batched_fn, single_fn = (
        (batched_hf_features, per_sequence_features)
        if command == "embed"
        else (batched_hf_loop, per_sequence_pipeline)
    )
    out = fa.with_name(f"out.{'npy' if command == 'embed' else 'tsv'}")
    batched_fn(d, seqs[:8], k, device, batch_size)  # warm-up (CUDA context, kernels, imports)
    t_ours = t_batched = float("inf")
    for _ in range(repeats):  # alternate the two, keep each one's best time
        t = time.perf_counter()
        ours = _ours(command, d, fa, out, device, batch_size)
        t_ours = min(t_ours, time.perf_counter() - t)
        t = time.perf_counter()
        batched = batched_fn(d, seqs, k, device, batch_size)
        t_batched = min(t_batched, time.perf_counter() - t)
    m = min(n_single, len(seqs))
    t = time.perf_counter()
    single = single_fn(d, seqs[:m], k, device)
    t_single = time.perf_counter() - t
    return {
        "ours": len(seqs) / t_ours,
        "batched_hf": len(seqs) / t_batched,
        "per_sequence_pipeline": m / t_single,
        "diff_batched": float(np.abs(ours - batched).max()),
        "diff_single": float(np.abs(ours[:m] - single).max()),
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=512, help="sequences (default: 512)")
    ap.add_argument(
        "--n-single", type=int, default=64, help="sequences for the per-sequence loop (default: 64)"
    )
    ap.add_argument("--min-len", type=int, default=200)
    ap.add_argument("--max-len", type=int, default=300)
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="best of this many runs of ours and batched HF (default: 2)",
    )
    ap.add_argument(
        "--commands", nargs="+", choices=("predict", "embed"), default=["predict", "embed"]
    )
    ap.add_argument("--gpu", action="store_true", help="run on CUDA")
    args = ap.parse_args(argv)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # BertModel from a classifier dir: unused-head reports
    device = "cuda" if args.gpu else "cpu"
    k = 6
    rng = np.random.default_rng(0)
    lengths = rng.integers(args.min_len, args.max_len + 1, args.n)
    seqs = ["".join(rng.choice(list("ACGT"), int(n))) for n in lengths]
    name = torch.cuda.get_device_name() if args.gpu else f"CPU, {torch.get_num_threads()} threads"
    tol = 2e-2 if args.gpu else 1e-4  # bf16 autocast on CUDA
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        d = _model_dir(root, args.size, k)
        fa = root / "in.fa"
        fa.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(seqs)))
        for command in args.commands:
            r = compare(
                command, d, fa, seqs, k, device, args.batch_size, args.repeats, args.n_single
            )
            assert r["diff_batched"] < tol and r["diff_single"] < tol, r
            results[command] = r
            print(f"{command}: {args.n} seqs of {args.min_len}-{args.max_len} bp, k={k}, size={args.size}, "
                  f"batch {args.batch_size}, {name}")  # fmt: skip
            print(
                f"  max |difference| vs batched HF {r['diff_batched']:.2g}, vs pipeline {r['diff_single']:.2g}"
            )
            for key in ("ours", "batched_hf", "per_sequence_pipeline"):
                print(f"  {key:<22} {r[key]:10.1f} seq/s")
            print(f"  ours / batched HF loop       {r['ours'] / r['batched_hf']:.2f}x")
            print(
                f"  ours / per-sequence pipeline {r['ours'] / r['per_sequence_pipeline']:.2f}x",
                flush=True,
            )
    return results


if __name__ == "__main__":
    main()
