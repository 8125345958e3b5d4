"""Attribution throughput: batched ISM and integrated gradients against a per-mutation loop.

Run from the repository root::

    python -m bench.bench_attribution [--n 200] [--naive-windows 2] [--threads 2]

Random 101-bp windows (the demo's TF task length) are explained for the positive-class
log-odds of three randomly initialised classifiers of the demo's shapes: the ``tiny`` k=6 BERT
(64 hidden x 2 layers, ``dnabert6_tiny``), the one-hot ``cnn`` baseline and the ``tiny`` GPT
classifier (128 hidden x 4 layers, 6-mer tokens, ``dnagpt_tiny``). In one run, per model:

- ``naive ISM``: one ``dnalm.predict.predict_proba`` call per mutant (a string mutated,
  tokenised and predicted alone), on the first ``--naive-windows`` windows, extrapolated;
- ``ISM``: :func:`dnalm.attribution.ism` (all 3 L mutants of every window as code matrices,
  re-tokenised in vectorised passes, ``--batch-size`` rows per forward);
- ``IG``: :func:`dnalm.attribution.integrated_gradients` (``--ig-steps`` x ``--n-shuffles``
  forward + backward rows per window).

The naive maps are checked to equal the batched ones before bases/s and ratios are printed.
The ``ISM`` and ``IG`` rows on ``--n`` windows are also the demo's per-job model time
(``attribution.max_sequences``); multiply by 2 tasks for the demo's attribution stage.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def _models():
    from dnalm.baselines import build_baseline
    from dnalm.modeling import bert_config
    from transformers import BertForSequenceClassification

    torch.manual_seed(0)
    cfg = bert_config(6, "tiny", max_positions=512)
    cfg.num_labels = 2
    bert = BertForSequenceClassification(cfg).eval()
    torch.manual_seed(0)
    cnn = build_baseline("cnn", 2).eval()
    from dnalm.gpt import build_gpt
    from dnalm.gpt.classify import GptClassifier

    gpt = GptClassifier(build_gpt("tiny", seed=0).float(), 2).eval()
    return {"dnabert6_tiny": (bert, 6), "cnn": (cnn, None), "dnagpt_tiny": (gpt, None)}


def _naive_ism(model, seqs, k) -> np.ndarray:
    """One forward pass per mutant: what a loop over ``predict_proba`` calls does."""
    from dnalm.predict import predict_proba

    out = np.zeros((len(seqs), len(seqs[0]), 4))
    for i, s in enumerate(seqs):
        for pos in range(len(s)):
            for b, nb in enumerate("ACGT"):
                p = predict_proba(model, [s[:pos] + nb + s[pos + 1 :]], k, batch_size=1, device="cpu")[0]
                out[i, pos, b] = np.log(p[1]) - np.log(p[0])
    return out - out.mean(axis=2, keepdims=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200, help="windows for ISM and IG (default 200)")
    ap.add_argument("--length", type=int, default=101)
    ap.add_argument("--naive-windows", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--ig-steps", type=int, default=16)
    ap.add_argument("--n-shuffles", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from dnalm.attribution import integrated_gradients, ism

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), args.length)) for _ in range(args.n)]
    bases = args.n * args.length
    print(f"{args.n} windows x {args.length} bp, {args.threads} torch threads, batch "
          f"{args.batch_size}, IG {args.ig_steps} steps x {args.n_shuffles} shuffles")
    print("| model | method | bases/s | seconds | vs naive ISM |")
    print("|---|---|---|---|---|")
    for name, (model, k) in _models().items():
        nw = max(1, args.naive_windows)
        t0 = time.perf_counter()
        naive = _naive_ism(model, seqs[:nw], k)
        t_naive = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = ism(model, seqs, k, batch_size=args.batch_size, device="cpu")
        t_ism = time.perf_counter() - t0
        err = float(np.abs(res.hyp[:nw] - naive).max())
        assert err < 1e-3, f"{name}: batched ISM differs from the naive loop by {err}"
        t0 = time.perf_counter()
        integrated_gradients(model, seqs, k, steps=args.ig_steps, n_shuffles=args.n_shuffles,
                             batch_size=args.batch_size, device="cpu")
        t_ig = time.perf_counter() - t0
        naive_bps = nw * args.length / t_naive
        for method, t in (("naive ISM (1 forward per mutant), extrapolated", t_naive * args.n / nw),
                          ("ISM (batched)", t_ism), ("IG (batched)", t_ig)):
            bps = bases / t
            print(f"| {name} | {method} | {bps:,.0f} | {t:.1f} | {bps / naive_bps:.1f}x |")
        print(f"| {name} | max naive-vs-batched ISM difference | {err:.1e} | | |")


if __name__ == "__main__":
    main()
