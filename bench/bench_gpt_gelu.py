"""GPT activation: GPT-2's ``gelu_new`` against ``gelu_pytorch_tanh`` on the demo's ``dnagpt_tiny``.

Run from the repository root::

    python -m bench.bench_gpt_gelu               # about a minute on one CPU thread
    python -m bench.bench_gpt_gelu --repeats 30

Both are the tanh approximation of GELU, ``0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))``:
``gelu_new`` (``transformers.activations.NewGELUActivation``) evaluates it as five elementwise
torch operations, ``gelu_pytorch_tanh`` (``GELUTanh``) as torch's one fused
``gelu(approximate="tanh")`` kernel. Two copies of the tiny GPT with the same weights, one per
activation, run the same batches, alternating step by step so that load on the machine hits
both alike; the table gives the median milliseconds per step and the largest absolute
difference of their outputs. Shapes follow the demo's jobs: fine-tuning steps (batch 32 of
100-bp and 300-bp windows), a regression step (500 bp + 8 numbers: 92 positions), a pretraining
backbone step (16 pieces of ~220 tokens; the vocabulary head, the same for both, is left out)
and forward-only ISM batches.
"""

from __future__ import annotations

import argparse
import time

import torch
from dnalm.gpt.model import build_gpt

ACTIVATIONS = ("gelu_new", "gelu_pytorch_tanh")
# name: (batch, positions, backward)
CASES = {
    "finetune 100 bp (32 x 22, fwd+bwd)": (32, 22, True),
    "finetune 300 bp (32 x 56, fwd+bwd)": (32, 56, True),
    "regression 500 bp (32 x 92, fwd+bwd)": (32, 92, True),
    "pretrain backbone (16 x 220, fwd+bwd)": (16, 220, True),
    "ISM forward (512 x 22, no grad)": (512, 22, False),
}


def _models(seed: int) -> dict[str, torch.nn.Module]:
    from transformers.activations import ACT2FN

    models = {}
    for act in ACTIVATIONS:
        m = build_gpt("tiny", seed=seed)
        m.config.activation_function = act
        for block in m.transformer.h:
            block.mlp.act = ACT2FN[act]
        models[act] = m
    return models


def run(repeats: int = 15, seed: int = 1) -> list[dict]:
    """Time every case; returns one row per case (ms per step of each activation, max |diff|)."""
    torch.set_num_threads(1)
    models = _models(seed)
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for name, (b, t, backward) in CASES.items():
        ids = torch.randint(34, 19000, (b, t), generator=gen)
        times: dict[str, list[float]] = {a: [] for a in ACTIVATIONS}
        out = {}
        for r in range(repeats + 2):  # the first two rounds warm up
            for act, m in models.items():
                m.train(backward)
                t0 = time.perf_counter()
                with torch.set_grad_enabled(backward):
                    y = m.regress(m(ids))
                    if backward:
                        y.pow(2).mean().backward()
                        m.zero_grad(set_to_none=True)
                if r >= 2:
                    times[act].append(time.perf_counter() - t0)
                out[act] = y.detach()
        med = {a: sorted(v)[len(v) // 2] * 1000 for a, v in times.items()}
        rows.append({"case": name, **{f"{a}_ms": med[a] for a in ACTIVATIONS},
                     "change": med[ACTIVATIONS[1]] / med[ACTIVATIONS[0]] - 1,
                     "max_abs_diff": float((out[ACTIVATIONS[0]] - out[ACTIVATIONS[1]]).abs().max())})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=15, help="timed steps per case and activation")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    print("| case | gelu_new ms | gelu_pytorch_tanh ms | change | max abs diff |\n|---|---|---|---|---|")
    for r in run(a.repeats, a.seed):
        print(f"| {r['case']} | {r['gelu_new_ms']:.1f} | {r['gelu_pytorch_tanh_ms']:.1f} | "
              f"{100 * r['change']:+.0f}% | {r['max_abs_diff']:.1e} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
