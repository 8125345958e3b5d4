"""Why the demo's tiny BERT does not attend to the TATA box on ``prom300_tata`` (issue #12, item 3).

Run from the repository root on a copy of a finished demo run (it reads
``results/pretrain/<lm>/model`` and ``results/datasets/<task>``; ``genomic`` also needs the
copy's ``results/datasets/<task>_genomic``, the same task with ``negatives: genomic``)::

    python -m bench.bench_tata --workdir <demo run copy> --lm dnabert6_tiny --task prom300_tata

Each arm fine-tunes the LM (the config's ``finetune`` section with the arm's overrides, one
thread) and then measures, on the test split:

- test MCC and AUROC;
- **box replacement**: the mean change of the positive-class logit (logit 1 - logit 0) when the
  8 bases from the positive's TATA consensus ``TATA[AT]A[AT]`` (start in -38..-30) are replaced by
  random bases, against the same replacement at a random upstream position (-200..-60); 3 draws
  per row. A model that uses the box loses logit when it is destroyed;
- **box insertion**: ``TATAAAAG`` written over -33..-26 and over -150..-143 of each negative;
- the attention contrast (:func:`dnalm.attention.class_contrast`, DNABERT-viz last-layer [CLS]
  attention, 999 label shuffles): peak position and permutation p, and the same on shuffled
  labels (the control of ``tests/test_attention.py``).

Arms: the demo recipe; learning rate 1e-3 and 2e-3; dropout 0 and 0.3; batch 8; frozen word
embeddings; patience 10 with 600 steps (at lr 5e-4 and 1e-4); the ``-scratch`` twin;
``genomic`` (negatives without the TATA requirement: TATA presence alone then separates the
classes); ``positional`` (a synthetic
task on the same backgrounds: every row gets ``TATAAAAG``, at -33..-31 in positives and anywhere
outside -45..-20 in negatives, so only the box's position separates the classes); ``gue`` and
``gue_scratch`` (the task rebuilt on a human-preset world at ``--gue-scale``, default 10: about
2,200 training positives, GUE's scale; :func:`gue_task`, written under ``<out>/gue_task``).

Every row has 95 % bootstrap CIs of test MCC and AUROC. ``--threads`` sets the torch threads.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml
from dnalm import attention as A
from dnalm import paths as P
from dnalm.dataset import read_card, read_split
from dnalm.datasets import build_dataset, prepare_annotation
from dnalm.finetune import finetune, finetune_kwargs
from dnalm.genome import prepare_genome
from dnalm.metrics import bootstrap_ci
from dnalm.predict import encode_inputs, forward_logits, load_model_dir
from dnalm.settings import Config, canonical, load_config
from dnalm.sim import simulate_world, world_spec

from bench._democopy import demo_copy_parser, parse_demo_copy_args

BOX = "TATAAAAG"
TATA = re.compile("(?=TATA[AT]A[AT])")
#: the simulator's Inr consensus (``dnalm.sim.presets.INR``: YYANWYY, its A at +1, so it starts at -2)
INR = re.compile("[CT][CT]A[ACGT][AT][CT][CT]")
INR_START = -2

#: ``gue`` world: the human preset at this scale has 10x the demo's promoters (4,444 training
#: rows of ``prom300_tata`` at seed 13; GUE's ``prom_300_tata`` has 4,904)
GUE_SCALE = 10.0
GUE_SEED = 13

#: arm -> (dataset variant, model suffix, finetune overrides)
ARMS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "demo": ("task", "", {}),
    "lr1e-3": ("task", "", {"lr": 1e-3}),
    "lr2e-3": ("task", "", {"lr": 2e-3}),
    "lr1e-3_dropout0": ("task", "", {"lr": 1e-3, "dropout": 0.0}),
    "lr1e-3_dropout0.3": ("task", "", {"lr": 1e-3, "dropout": 0.3}),
    "batch8_lr2e-4": ("task", "", {"batch_size": 8, "lr": 2e-4}),
    "frozen_words_lr1e-3": ("task", "", {"lr": 1e-3, "freeze": ["word_embeddings"]}),
    "patience10_600steps": ("task", "", {"patience": 10, "min_steps": 600}),
    "lr1e-4_patience10_600steps": ("task", "", {"lr": 1e-4, "patience": 10, "min_steps": 600}),
    "scratch": ("task", "-scratch", {}),
    "genomic": ("genomic", "", {}),
    "positional": ("positional", "", {}),
    "gue": ("gue", "", {}),
    "gue_scratch": ("gue", "-scratch", {}),
    # GUE's fine-tuning recipe gives prom_300_tata 10 epochs (4 for the other promoter tasks)
    "gue_ep10": ("gue", "", {"epochs": 10}),
    "gue_scratch_ep10": ("gue", "-scratch", {"epochs": 10}),
}


def box_start(seq: str, tss: int) -> int | None:
    """0-based start of the first ``TATA[AT]A[AT]`` starting at -38..-30, or None."""
    for m in TATA.finditer(seq):
        if -38 <= m.start() - tss <= -30:
            return m.start()
    return None


def positional_task(src: Path, dst: Path, tss: int, seed: int = 5) -> Path:
    """Write the ``positional`` diagnostic task: ``BOX`` in every row, only its position differs.

    Labels are re-drawn half and half on each split's own sequences; positives get the box at
    -33..-31, negatives anywhere in the window outside -45..-20.
    """
    rng = np.random.default_rng(seed)
    dst.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        df = read_split(src / f"{split}.tsv.gz")
        y = rng.permutation(np.arange(len(df)) % 2)
        seqs = []
        for s, lab in zip(df["sequence"], y, strict=True):
            if lab == 1:
                st = tss - 33 + int(rng.integers(0, 3))
            else:
                st = int(rng.integers(0, len(s) - len(BOX) + 1))
                while tss - 45 <= st <= tss - 20:
                    st = int(rng.integers(0, len(s) - len(BOX) + 1))
            seqs.append(s[:st] + BOX + s[st + len(BOX) :])
        df.assign(sequence=seqs, label=y).to_csv(dst / f"{split}.tsv.gz", sep="\t", index=False)
    (dst / "card.json").write_text((src / "card.json").read_text())
    return dst


def gue_task(cfg: Config, task: str, out: Path, scale: float = GUE_SCALE,
             seed: int = GUE_SEED) -> Path:  # fmt: skip
    """Build ``task`` (a promoter task of the config) on a larger simulated world.

    The world is the task genome's ``simulate`` preset at ``scale`` with its own ``seed``
    (``<out>/world``), prepared and annotated as rules ``genome_prepare`` and
    ``annotation_epd`` do (``<out>/genome``, ``<out>/epd.tsv``), and the task is built by
    :func:`dnalm.datasets.build_dataset` with the config's task entry and ``splits``
    (``<out>/data``). Steps whose output exists are skipped.

    Parameters
    ----------
    cfg : Config
        The demo config; ``tasks.<task>`` must be a promoter task on a simulated genome.
    task : str
        Task key.
    out : pathlib.Path
        Working folder.
    scale, seed : float, int
        World scale (chromosome lengths and feature counts) and simulator seed.

    Returns
    -------
    pathlib.Path
        The dataset folder (``train``/``dev``/``test.tsv.gz``, ``card.json``).
    """
    spec = P.task_params(cfg, task)
    if spec.get("kind") != "promoter":
        raise ValueError(
            f"config key `tasks.{task}.kind` must be promoter, got {spec.get('kind')!r}"
        )
    genome = spec["genome"]
    if genome not in cfg.simulate:
        raise ValueError(f"config key `tasks.{task}.genome`: {genome!r} is not a `simulate` world")
    preset = world_spec(canonical(cfg.simulate), genome)["preset"]
    world, gdir, data = out / "world", out / "genome", out / "data"
    if not (world / "epd.bed").is_file():
        simulate_world(world, preset=preset, seed=seed, scale=scale)
    files = {k: gdir / Path(v).name for k, v in P.genome_files(genome).items()}
    if not files["contigs"].is_file():
        prepare_genome(world / "genome.fa.gz", gdir, cfg.genomes[genome].contigs,
                       assembly_report=world / "assembly_report.txt", verbose=False)  # fmt: skip
    epd = out / "epd.tsv"
    if not epd.is_file():
        sources = {"epd": {"url": str(world / "epd.bed")},
                   "epd_motifs": {"url": str(world / "promoter_motifs.txt")}}  # fmt: skip
        prepare_annotation("epd", sources, epd, fasta=files["fasta"], contigs=files["contigs"])
    if not (data / "card.json").is_file():
        outputs = {s: data / f"{s}.tsv.gz" for s in ("train", "dev", "test")}
        build_dataset(task, spec, {**files, "epd": epd}, {**outputs, "card": data / "card.json"},
                      splits=P.rule_params(cfg, "splits"), verbose=False)  # fmt: skip
    return data


def mcc_auroc_ci(run: Path) -> dict[str, float]:
    """95 % bootstrap CIs (1,000 test-row resamples) of test MCC and AUROC of a finished run."""
    pr = pd.read_csv(run / "predictions.tsv.gz", sep="\t")
    pr = pr[pr["split"] == "test"]
    ci = bootstrap_ci(pr["label"].to_numpy(), pr[["p0", "p1"]].to_numpy())
    return {"mcc_lo": ci["mcc"][0], "mcc_hi": ci["mcc"][1],
            "auroc_lo": ci["auroc"][0], "auroc_hi": ci["auroc"][1]}  # fmt: skip


@torch.no_grad()
def _logit(model: torch.nn.Module, k: int | None, seqs: list[str]) -> np.ndarray:
    out = []
    for i in range(0, len(seqs), 64):
        lg = forward_logits(model, encode_inputs(model, seqs[i : i + 64], k)).float()
        out.append((lg[:, 1] - lg[:, 0]).numpy())
    return np.concatenate(out)


def edit_effects(model: torch.nn.Module, k: int | None, test: pd.DataFrame, tss: int,
                 seed: int = 0) -> dict[str, float]:  # fmt: skip
    """Mean logit change for box replacement, a random upstream edit, box insertion, and
    replacement of the Inr (positives with the consensus at -2..+4)."""
    rng = np.random.default_rng(seed)
    seqs, y = test["sequence"].tolist(), test["label"].to_numpy()
    base = _logit(model, k, seqs)

    def rand8() -> str:
        return "".join(rng.choice(list("ACGT"), 8, p=[0.2, 0.2, 0.3, 0.3]))

    box, rnd, rows = [], [], []
    for i, s in enumerate(seqs):
        st = box_start(s, tss) if y[i] == 1 else None
        if st is None:
            continue
        rows.append(i)
        for _ in range(3):
            ro = int(rng.integers(tss - 200, tss - 60))
            box.append((i, s[:st] + rand8() + s[st + 8 :]))
            rnd.append((i, s[:ro] + rand8() + s[ro + 8 :]))
    neg = np.flatnonzero(y == 0)
    inr = []
    for i in np.flatnonzero(y == 1):
        s, st = seqs[i], tss + INR_START
        if INR.fullmatch(s[st : st + 7]):
            inr.extend((int(i), s[:st] + rand8()[:7] + s[st + 7 :]) for _ in range(3))

    def delta(pairs: list[tuple[int, str]]) -> float:
        idx = np.array([i for i, _ in pairs])
        return float(np.mean(_logit(model, k, [t for _, t in pairs]) - base[idx]))

    return {
        "n_box_rows": len(rows),
        "box_replaced": delta(box),
        "random_edit": delta(rnd),
        "n_negatives": int(neg.size),
        "box_at_-33": delta([(i, seqs[i][: tss - 33] + BOX + seqs[i][tss - 25 :]) for i in neg]),
        "box_at_-150": delta([(i, seqs[i][: tss - 150] + BOX + seqs[i][tss - 142 :]) for i in neg]),
        "n_inr_rows": len(inr) // 3,
        "inr_replaced": delta(inr) if inr else float("nan"),
    }


def tata_claim(x: np.ndarray, c: A.Contrast) -> dict[str, Any]:
    """The demo's TATA claim (:data:`dnalm.attention.TATA_CLAIM`) judged on one contrast.

    Parameters
    ----------
    x : numpy.ndarray
        TSS-relative position of each window base, shape=(L,).
    c : dnalm.attention.Contrast
        The contrast over those positions.

    Returns
    -------
    dict
        ``peak`` (position), ``p``, ``holds`` (room around -30, peak within -35..-20 and
        p < 0.01), ``n_above_band`` (positions within -35..-20 whose contrast exceeds the
        97.5 % shuffled-label band), ``box_best`` (the position of highest contrast within
        -35..-20) and ``box_ratio`` (its contrast over the peak's).
    """
    lo, hi = A.TATA_CLAIM["window"]
    peak = int(x[c.peak_index])
    inside = (x >= lo) & (x <= hi)
    holds = A.judge_tata_claim(x, c)["holds"]
    best = int(np.flatnonzero(inside)[np.argmax(c.contrast[inside])])
    return {"peak": peak, "p": float(c.pvalue), "holds": bool(holds),
            "n_above_band": int((c.contrast[inside] > c.band_high[inside]).sum()),
            "box_best": int(x[best]),
            "box_ratio": float(c.contrast[best] / c.contrast[c.peak_index])}  # fmt: skip


def contrast(model: torch.nn.Module, k: int, test: pd.DataFrame, tss: int) -> dict[str, Any]:
    """The TATA claim on the attention contrast, and on shuffled labels (as the demo test)."""
    sc = A.attention_scores(model, test["sequence"].tolist(), k).scores
    y = test["label"].to_numpy()
    x = np.arange(sc.shape[1]) - tss
    c = tata_claim(x, A.class_contrast(sc, y, n_permutations=999, seed=1))
    shuffled = np.random.default_rng(11).permutation(y)
    ctl = tata_claim(x, A.class_contrast(sc, shuffled, n_permutations=999, seed=1))
    return {**c, **{f"control_{key}": v for key, v in ctl.items()}}


def run_arm(arm: str, data: Path, lm_dir: Path, lm: str, ft: dict[str, Any], out: Path,
            seed: int, threads: int = 1) -> dict[str, Any]:  # fmt: skip
    """Fine-tune one arm (or reuse its finished run) and measure it."""
    _, suffix, over = ARMS[arm]
    over = dict(over)
    freeze = over.pop("freeze", [])
    kw = {**finetune_kwargs(ft, lm), **over}
    run = out / arm / f"seed{seed}"
    if not (run / "metrics.json").is_file():
        import dnalm.finetune as F

        build = F._build_bert
        if freeze:

            def frozen(*a: Any, **k: Any) -> torch.nn.Module:
                m = build(*a, **k)
                for n, p in m.named_parameters():
                    p.requires_grad_(not any(f in n for f in freeze))
                return m

            F._build_bert = frozen
        try:
            finetune(data / "train.tsv.gz", data / "dev.tsv.gz", data / "test.tsv.gz", run,
                     lm + suffix, lm_dir=lm_dir, scratch=bool(suffix), seed=seed, num_threads=threads,
                     card=data / "card.json", **kw)  # fmt: skip
        finally:
            F._build_bert = build
    m = json.loads((run / "metrics.json").read_text())
    loaded = load_model_dir(run / "model", attn_implementation="eager")
    test = read_split(data / "test.tsv.gz")
    tss = read_card(data / "card.json").tss_offset
    row = {"arm": arm, "seed": seed, "n_train": m["n_train"], "n_test": m["n_test"],
           "mcc": m["mcc"], "auroc": m["auroc"], **mcc_auroc_ci(run), "best_step": m["best_step"],
           "runtime_s": m["runtime_s"]}  # fmt: skip
    row.update(edit_effects(loaded.model, loaded.k, test, tss))
    row.update(contrast(loaded.model, loaded.k, test, tss))
    return row


def main(argv: list[str] | None = None) -> int:
    """Command line: one table row per arm (printed and written to ``<out>/table.tsv``)."""
    ap = demo_copy_parser(__doc__.split("\n")[0], "bench_tata")
    ap.add_argument("--task", default="prom300_tata")
    ap.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="torch threads of each fine-tune")
    ap.add_argument("--gue-scale", type=float, default=GUE_SCALE, help="world scale of `gue` arms")
    a = parse_demo_copy_args(ap, argv)
    wd, out = a.workdir, a.out
    cfg = load_config(yaml.safe_load((wd / a.config).read_text()))
    ft = {**json.loads(cfg.finetune.model_dump_json()), "min_steps": cfg.task_min_steps(a.task)}
    lm_dir = wd / "results" / "pretrain" / a.lm / "model"
    task_dir = wd / "results" / "datasets" / a.task
    tss = read_card(task_dir / "card.json").tss_offset
    torch.set_num_threads(a.threads)
    rows = []
    for arm in a.arms:
        variant = ARMS[arm][0]
        data = {"task": task_dir,
                "genomic": wd / "results" / "datasets" / f"{a.task}_genomic",
                "positional": out / "positional_data",
                "gue": out / "gue_task" / "data"}[variant]  # fmt: skip
        if variant == "positional" and not (data / "card.json").is_file():
            positional_task(task_dir, data, tss)
        if variant == "gue":
            gue_task(cfg, a.task, out / "gue_task", scale=a.gue_scale)
        if not (data / "card.json").is_file():
            print(f"{arm}: skipped, {data} does not exist", flush=True)
            continue
        rows.append(run_arm(arm, data, lm_dir, a.lm, ft, out, a.seed, a.threads))
        print(json.dumps(rows[-1]), flush=True)
    table = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "table.tsv", sep="\t", index=False, float_format="%.4g")
    print(table.round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
