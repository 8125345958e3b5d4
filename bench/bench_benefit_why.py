"""Why does the pretrained demo LM fine-tune worse than its scratch twin on data-scarce tasks?

Run from the repository root on a copy of a finished demo run (it reads
``results/pretrain/<lm>/model``, ``results/datasets/<task>`` and
``results/finetune/<task>/<lm>[-scratch]/seed<s>``, and the demo's planted-site table)::

    python -m bench.bench_benefit_why --workdir <demo run copy> --lm dnabert6_tiny \\
        --tasks tf_p53_scarce tf_ctcf_scarce splice_scarce --seeds 1 2 3

Two measurements:

- **Does the LM know the planted motifs?** For every base of the first ``--probe-rows`` test
  positives, the k tokens that cover it are masked (a span that hides exactly that base); the first
  masked token's logits, restricted to the 4 k-mers that agree with the k-1 known bases before it,
  give P(base). The mean log P(true base) inside planted sites of the task's motif is set against
  that outside them and against uniform (ln 0.25). A model that had learned a motif whose
  positions are 85-97% consensus would predict its bases far above uniform.
- **Weight controls.** The pretrained LM is fine-tuned (config ``finetune`` section, same seeds)
  in two altered copies: ``rescaled`` (every weight matrix scaled to the random init's standard
  deviation, ``initializer_range``; directions, biases and LayerNorm kept) and ``shuffled``
  (entries permuted within each tensor: the scale is kept, what was learned is destroyed). Set
  against the demo's own pretrained and scratch runs, they separate the cost of the weight
  scale that pretraining leaves from that of the learned content.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from dnalm.dataset import read_split
from dnalm.finetune import finetune, finetune_kwargs
from dnalm.predict import _encode_inputs
from dnalm.settings import load_config
from safetensors.torch import load_file, save_file

from bench._democopy import demo_copy_parser, parse_demo_copy_args

TASK_MOTIFS = {"tf_p53_scarce": "P53_like", "tf_ctcf_scarce": "CTCF_like"}
WEIGHTS = "model.safetensors"


def control_lm(lm_dir: Path, out_dir: Path, kind: str, init_std: float, seed: int = 0) -> Path:
    """Write a copy of a BERT model directory with altered weights.

    Parameters
    ----------
    lm_dir : Path
        Model directory with ``model.safetensors``.
    out_dir : Path
        Destination (replaced).
    kind : str
        ``rescaled`` (each tensor of 2 or more dimensions, LayerNorm excepted, scaled to standard
        deviation ``init_std``) or ``shuffled`` (entries permuted within each tensor except
        LayerNorm gains and biases).
    init_std : float
        Standard deviation of the random init (the config's ``initializer_range``).
    seed : int, optional
        Seed of the permutations. Default is 0.

    Returns
    -------
    Path
        ``out_dir``.
    """
    if kind not in ("rescaled", "shuffled"):
        raise ValueError(f"kind must be rescaled or shuffled, got {kind!r}")
    sd = load_file(str(lm_dir / WEIGHTS))
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    for name, t in sd.items():
        if "LayerNorm" in name:
            out[name] = t.clone()
        elif kind == "rescaled":
            out[name] = (t / t.std() * init_std if t.ndim >= 2 else t).contiguous().clone()
        else:
            out[name] = t.flatten()[torch.randperm(t.numel(), generator=gen)].view_as(t).clone()
    if out_dir.exists():
        shutil.rmtree(out_dir)
    shutil.copytree(lm_dir, out_dir)
    save_file(out, str(out_dir / WEIGHTS), metadata={"format": "pt"})
    return out_dir


def motif_base_logp(
    lm_dir: Path, split: Path, positions: Path, motif: str, n_rows: int = 60, k: int = 6
) -> dict[str, np.ndarray]:
    """Masked-LM log P(true base) of test-positive bases inside and outside planted motif sites.

    Parameters
    ----------
    lm_dir : Path
        BERT masked-LM directory (``vocab.txt`` with ``[MASK]``).
    split : Path
        Dataset split with ``sequence``, ``label``, ``contig``, ``start``, ``end`` columns.
    positions : Path
        Planted-site table (``kind``, ``name``, ``contig``, ``start``, ``end``; 0-based).
    motif : str
        Motif name in ``positions`` (e.g. ``P53_like``).
    n_rows : int, optional
        Positive rows probed (the first ones). Default is 60.
    k : int, optional
        k-mer length of the LM's tokens. Default is 6.

    Returns
    -------
    dict of str to numpy.ndarray
        ``inside`` and ``outside``: log P of each probed base.
    """
    from transformers import BertForMaskedLM

    vocab = {
        line.strip(): i for i, line in enumerate((lm_dir / "vocab.txt").read_text().splitlines())
    }
    mask_id = vocab["[MASK]"]
    sites = pd.read_csv(positions, sep="\t")
    sites = sites[(sites["kind"] == "motif") & (sites["name"] == motif)]
    rows = read_split(split)
    rows = rows[rows["label"] == 1].head(n_rows)
    model = BertForMaskedLM.from_pretrained(str(lm_dir)).eval()
    res: dict[str, list[float]] = {"inside": [], "outside": []}
    for _, r in rows.iterrows():
        seq, start, end = r["sequence"], int(r["start"]), int(r["end"])
        inside = np.zeros(len(seq), bool)
        hit = sites[
            (sites["contig"] == r["contig"]) & (sites["end"] > start) & (sites["start"] < end)
        ]
        for s0, s1 in zip(hit["start"], hit["end"], strict=True):
            inside[max(0, s0 - start) : min(len(seq), s1 - start)] = True
        ids = _encode_inputs(model, [seq], k)["input_ids"][0]
        bases = list(range(k - 1, len(seq) - k + 1))
        batch = ids.repeat(len(bases), 1)
        for b, i in enumerate(bases):  # token j covers bases j..j+k-1 and sits at input j + 1
            batch[b, i - k + 2 : i + 2] = mask_id
        with torch.no_grad():
            logits = model(input_ids=batch).logits
        for b, i in enumerate(bases):
            cands = [vocab.get(seq[i - k + 1 : i] + x, -1) for x in "ACGT"]
            if min(cands) < 0 or seq[i] not in "ACGT":
                continue
            lp = torch.log_softmax(logits[b, i - k + 2, cands], -1)
            res["inside" if inside[i] else "outside"].append(float(lp["ACGT".index(seq[i])]))
    return {key: np.array(v) for key, v in res.items()}


def _mcc(run: Path) -> float:
    return float(json.loads((run / "metrics.json").read_text())["mcc"])


def main(argv: list[str] | None = None) -> int:
    """Command line: print the motif probe and the weight-control fine-tuning table."""
    ap = demo_copy_parser(__doc__.split("\n")[0], "bench_benefit_why")
    ap.add_argument("--genome", default="demo_hs")
    ap.add_argument(
        "--tasks", nargs="+", default=["tf_p53_scarce", "tf_ctcf_scarce", "splice_scarce"]
    )
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    ap.add_argument("--probe-rows", type=int, default=60)
    a = parse_demo_copy_args(ap, argv)
    wd, out = a.workdir, a.out
    cfg = load_config(yaml.safe_load((wd / a.config).read_text()))
    ft = json.loads(cfg.finetune.model_dump_json())
    lm = wd / "results" / "pretrain" / a.lm / "model"
    init_std = float(json.loads((lm / "config.json").read_text())["initializer_range"])
    torch.set_num_threads(1)

    positions = wd / "resources" / "demo" / a.genome / "truth" / "positions.tsv"
    for task in a.tasks:
        motif = TASK_MOTIFS.get(task)
        if motif is None or not positions.is_file():
            continue
        lp = motif_base_logp(lm, wd / "results/datasets" / task / "test.tsv.gz", positions, motif,
                             a.probe_rows)  # fmt: skip
        print(
            f"{task} {motif}: mean log P(true base) inside planted sites {lp['inside'].mean():.3f} "
            f"(n={len(lp['inside'])}), outside {lp['outside'].mean():.3f} (n={len(lp['outside'])}), "
            f"uniform {np.log(0.25):.3f}",
            flush=True,
        )

    rows = []
    for kind in ("rescaled", "shuffled"):
        ctl = control_lm(lm, out / f"lm_{kind}", kind, init_std)
        for task in a.tasks:
            d = wd / "results" / "datasets" / task
            for seed in a.seeds:
                run = out / kind / task / f"seed{seed}"
                if not (run / "metrics.json").is_file():
                    finetune(d / "train.tsv.gz", d / "dev.tsv.gz", d / "test.tsv.gz", run, a.lm,
                             lm_dir=ctl, scratch=False, seed=seed, task=task, num_threads=1,
                             verbose=False, **finetune_kwargs(ft, a.lm))  # fmt: skip
                base = wd / "results" / "finetune" / task
                rows.append({"task": task, "seed": seed, "lm": kind, "mcc": _mcc(run),
                             "pretrained": _mcc(base / a.lm / f"seed{seed}"),
                             "scratch": _mcc(base / f"{a.lm}-scratch" / f"seed{seed}")})  # fmt: skip
    table = pd.DataFrame(rows).pivot_table(index=["task", "seed"], columns="lm", values="mcc")
    ref = pd.DataFrame(rows).groupby(["task", "seed"])[["pretrained", "scratch"]].first()
    table = ref.join(table)
    print(table.round(3).to_string())
    print(table.groupby(level="task").mean().round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
