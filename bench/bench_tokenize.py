"""Tokenization throughput: dnalm.kmers (vectorised) vs a DNABERT-style pure-Python reference.

Run from the repository root::

    python -m bench.bench_tokenize [--n-seqs 2000] [--length 510]

Both sides tokenise the same random sequences (1 % N, 30 % soft-masked) in the same run; the
ids of every mode are checked to equal the reference before anything is timed. Modes:

- ``encode``: one :func:`dnalm.kmers.encode` call per sequence (per-call overhead dominates);
- ``batched``: the batch joined with one ``N`` between sequences, one
  :func:`~dnalm.kmers.seq_to_codes` + :func:`~dnalm.kmers.codes_to_ids` call, then each
  sequence's ids sliced out (k-mers spanning a separator are dropped);
- ``stored codes``: the corpus path, where pieces are already uint8 codes in a shard and a
  contiguous block of pieces is tokenised by one ``codes_to_ids`` call, then sliced.

Then the Hugging Face side: ``transformers.AutoTokenizer.from_pretrained`` of a model
directory's ``tokenizer.json`` (:func:`dnalm.kmers.hf_tokenizer_json`, which k-merises raw DNA)
called on a batch of raw sequences, against :func:`dnalm.kmers.encode_batch` on the same
``--hf-seqs`` sequences; both must give the same padded ``[CLS] ... [SEP]`` ids first. Goal:
dnalm >= 20x the HF fast tokenizer.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from dnalm import kmers


def reference_tokenize(seqs: list[str], k: int, table: dict[str, int]) -> list[list[int]]:
    """DNABERT's way: upper-case, ``seq2kmer`` sentence, split on spaces, dict lookup."""
    out = []
    for seq in seqs:
        seq = seq.upper()
        sentence = " ".join(seq[i : i + k] for i in range(len(seq) - k + 1))
        out.append([table.get(tok, kmers.UNK_ID) for tok in sentence.split(" ")])
    return out


def batched_tokenize(seqs: list[str], k: int) -> list[np.ndarray]:
    """All sequences in one vectorised call: join with N, tokenise, slice rows back out."""
    ids = kmers.codes_to_ids(kmers.seq_to_codes("N".join(seqs)), k)
    out, start = [], 0
    for s in seqs:
        out.append(ids[start : start + len(s) - k + 1])
        start += len(s) + 1
    return out


def stored_tokenize(codes: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, k: int):
    """Contiguous pieces of a shard (``codes``) -> per-piece ids with one call."""
    ids = kmers.codes_to_ids(codes, k)
    return [ids[o : o + n - k + 1] for o, n in zip(offsets.tolist(), lengths.tolist(), strict=True)]


def random_seqs(n: int, length: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGTacgtN", dtype=np.uint8)
    p = np.array([0.7 / 4] * 4 + [0.29 / 4] * 4 + [0.01])
    arr = letters[rng.choice(9, size=(n, length), p=p / p.sum())]
    return [row.tobytes().decode() for row in arr]


def best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def hf_versus_dnalm(seqs: list[str], k: int, repeats: int) -> dict:
    """tokens/s of AutoTokenizer (the model directory's tokenizer.json) and of encode_batch."""
    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory() as d:
        kmers.write_tokenizer_files(d, k, max_len=max(len(s) for s in seqs))
        tok = AutoTokenizer.from_pretrained(d)
    ids, mask = kmers.encode_batch(seqs, k)
    hf = tok(seqs, padding=True)
    if hf["input_ids"] != ids.tolist() or hf["attention_mask"] != mask.tolist():
        raise AssertionError(f"k={k}: AutoTokenizer ids differ from dnalm.kmers.encode_batch")
    n_tok = int(mask.sum())
    t_hf = best_time(lambda: tok(seqs, padding=True), repeats)
    t_dn = best_time(lambda: kmers.encode_batch(seqs, k), repeats)
    return {"k": k, "tokens": n_tok, "hf_tok_s": n_tok / t_hf, "dnalm_tok_s": n_tok / t_dn,
            "dnalm_over_hf": t_hf / t_dn}  # fmt: skip


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description="k-mer tokenization: dnalm.kmers vs reference")
    ap.add_argument("--n-seqs", type=int, default=2000)
    ap.add_argument("--length", type=int, default=510)
    ap.add_argument("--k", type=int, nargs="+", default=[3, 4, 5, 6])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hf-seqs", type=int, default=500, help="sequences for the HF comparison")
    args = ap.parse_args(argv)

    seqs = random_seqs(args.n_seqs, args.length, args.seed)
    lengths = np.array([len(s) for s in seqs])
    offsets = np.concatenate([[0], np.cumsum(lengths[:-1])])
    codes = kmers.seq_to_codes("".join(seqs))  # a shard stores codes, not text
    rows = []
    print(
        f"{args.n_seqs} sequences x {args.length} bp, best of {args.repeats}; tokens/s (x ratio "
        "to the pure-Python reference)"
    )
    header = (
        f"{'k':>2} {'tokens':>10} {'reference':>11} {'encode':>18} {'batched':>19} "
        f"{'stored codes':>19}"
    )
    print(header)
    print("-" * len(header))
    for k in args.k:
        table = {tok: i for i, tok in enumerate(kmers.vocab(k))}
        ref = reference_tokenize(seqs, k, table)
        modes = {
            "encode": lambda k=k: [kmers.encode(s, k) for s in seqs],
            "batched": lambda k=k: batched_tokenize(seqs, k),
            "stored codes": lambda k=k: stored_tokenize(codes, offsets, lengths, k),
        }
        for name, fn in modes.items():
            if any(r != o.tolist() for r, o in zip(ref, fn(), strict=True)):
                raise AssertionError(f"k={k} {name}: dnalm.kmers ids differ from the reference")
        n_tok = sum(len(r) for r in ref)
        t_ref = best_time(lambda k=k, table=table: reference_tokenize(seqs, k, table), args.repeats)
        row = {"k": k, "tokens": n_tok, "reference_tok_s": n_tok / t_ref}
        cells = []
        for name, fn in modes.items():
            t = best_time(fn, args.repeats)
            row[f"{name}_tok_s"] = n_tok / t
            row[f"{name}_ratio"] = t_ref / t
            cells.append(f"{n_tok / t / 1e6:>8.1f}M ({t_ref / t:>5.1f}x)")
        rows.append(row)
        print(
            f"{k:>2} {n_tok:>10,} {n_tok / t_ref / 1e6:>10.2f}M "
            f"{cells[0]:>18} {cells[1]:>19} {cells[2]:>19}"
        )
    print("goal: >= 50x for the vectorised (batched / stored-codes) paths")
    hf_seqs = seqs[: args.hf_seqs]
    print(f"\nAutoTokenizer (tokenizer.json, raw DNA) vs dnalm.kmers.encode_batch, same "
          f"{len(hf_seqs)} sequences and ids, best of {args.repeats}")  # fmt: skip
    print(f"{'k':>2} {'tokens':>10} {'HF fast':>10} {'dnalm':>10} {'ratio':>8}")
    for k in args.k:
        r = hf_versus_dnalm(hf_seqs, k, args.repeats)
        rows.append({"mode": "hf_auto_tokenizer", **r})
        print(f"{k:>2} {r['tokens']:>10,} {r['hf_tok_s'] / 1e6:>9.2f}M {r['dnalm_tok_s'] / 1e6:>9.1f}M "
              f"{r['dnalm_over_hf']:>7.0f}x")  # fmt: skip
    print("goal: dnalm >= 20x the HF fast tokenizer")
    return rows


if __name__ == "__main__":
    main()
