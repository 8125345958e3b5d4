"""Pretraining benefit (Fig. 6d analogue): paired pretrained - scratch table, figure, config paths."""

import json

import numpy as np
import pandas as pd
import pytest
from dnalm import paths as P
from dnalm.benefit import BENEFIT_COLUMNS, benefit_table, pretraining_benefit
from dnalm.metrics import classification_metrics
from dnalm.settings import load_config
from dnalm.summary import read_results

N_TEST = 300


def _probs(y: np.ndarray, acc: float, rng: np.random.Generator) -> np.ndarray:
    """Two-class probabilities whose argmax is right on a share ``acc`` of the rows."""
    right = rng.random(len(y)) < acc
    pred = np.where(right, y, 1 - y)
    p1 = np.where(pred == 1, rng.uniform(0.55, 0.95, len(y)), rng.uniform(0.05, 0.45, len(y)))
    return np.column_stack([1 - p1, p1])


def _run(root, task, model, seed, y, probs, dev_loss):
    d = root / task / model / f"seed{seed}"
    d.mkdir(parents=True)
    m = classification_metrics(y, probs)
    meta = {"task": task, "model": model, "seed": seed, "n_train": 200, "n_test": len(y)}
    (d / "metrics.json").write_text(json.dumps({**meta, **m}))
    pd.DataFrame(
        {
            "split": "test",
            "index": np.arange(len(y)),
            "label": y,
            "pred": probs.argmax(1),
            "p0": probs[:, 0],
            "p1": probs[:, 1],
        }  # fmt: skip
    ).to_csv(d / "predictions.tsv.gz", sep="\t", index=False)
    steps = np.arange(1, len(dev_loss) + 1) * 10
    pd.DataFrame(
        {
            "epoch": steps / 70,
            "step": steps,
            "train_loss": dev_loss,
            "dev_loss": dev_loss,
            "dev_mcc": 0.0,
            "lr": 1e-4,
        }  # fmt: skip
    ).to_csv(d / "train_log.tsv", sep="\t", index=False)
    return d / "metrics.json", m["mcc"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Task `helps`: pretrained right on 90% of test rows, scratch on 65%; task `same`: equal."""
    root = tmp_path_factory.mktemp("finetune")
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], N_TEST // 2)
    paths, mccs = [], {}
    for seed in (1, 2, 3):
        for task, acc_a, acc_b in (("helps", 0.9, 0.65), ("same", 0.75, None)):
            pa = _probs(y, acc_a, rng)
            pb = _probs(y, acc_b, rng) if acc_b is not None else pa.copy()
            for model, p, loss in (
                ("lm", pa, [0.6, 0.4, 0.3]),
                ("lm-scratch", pb, [0.7, 0.65, 0.6]),
            ):
                path, mcc = _run(root, task, model, seed, y, p, loss)
                paths.append(path)
                mccs[(task, model, seed)] = mcc
    return paths, mccs


def test_table_is_paired_difference_with_intervals(runs):
    paths, mccs = runs
    t = benefit_table(read_results(paths), n_boot=500).set_index("task")
    assert list(t.reset_index().columns) == list(BENEFIT_COLUMNS)
    helps, same, pooled = t.loc["helps"], t.loc["same"], t.loc["all"]
    want = np.mean([mccs[("helps", "lm", s)] - mccs[("helps", "lm-scratch", s)] for s in (1, 2, 3)])
    assert helps["delta_mcc"] == pytest.approx(want, abs=1e-9)
    assert helps["delta_mcc"] > 0.3
    assert 0 < helps["delta_lo"] < helps["delta_mcc"] < helps["delta_hi"]
    assert helps["delta_seed_lo"] > 0 and helps["p_bootstrap"] < 0.01
    assert helps["n_seeds"] == 3 and helps["n_test"] == N_TEST and helps["n_train"] == 200
    assert len(helps["delta_by_seed"].split(",")) == 3
    # identical models: no difference and an interval of zero width around it
    assert same["delta_mcc"] == pytest.approx(0.0, abs=1e-12)
    assert same["delta_lo"] <= 0 <= same["delta_hi"]
    assert helps["dev_loss_min_pretrained"] == pytest.approx(0.3)
    assert helps["dev_loss_min_scratch"] == pytest.approx(0.6)
    # pooled row: mean of the 6 (task, seed) differences
    assert pooled["n_seeds"] == 6
    assert pooled["delta_mcc"] == pytest.approx((helps["delta_mcc"] + same["delta_mcc"]) / 2)


def test_writes_table_and_figure(tmp_path, runs):
    paths, _ = runs
    table = pretraining_benefit(paths, tmp_path / "b.tsv", tmp_path / "b.png", n_boot=200)
    disk = pd.read_csv(tmp_path / "b.tsv", sep="\t")
    assert list(disk["task"]) == list(table["task"]) == ["helps", "same", "all"]
    for f in ("b.png", "b.svg"):
        assert (tmp_path / f).stat().st_size > 5000


def test_no_pairs_gives_empty_table(runs):
    paths, _ = runs
    only_lm = [p for p in paths if p.parent.parent.name == "lm"]
    assert benefit_table(read_results(only_lm)).empty


def _cfg(**task_extra):
    task = {"genome": "g", "kind": "tfbs", "experiment": "E", "negatives": "gc_matched"}
    return load_config({
        "genomes": {"g": {"fasta": {"url": "g.fa.gz"}}},
        "annotations": {"g": {"peaks": {"E": {"url": "e.narrowPeak.gz"}}}},
        "language_models": {"lm": {"genome": "g", "k": 6, "size": "tiny", "preset": "p"}},
        "pretrain_presets": {"p": {"steps": 10, "batch_size": 4, "lr": 1e-3}},
        "tasks": {"full": dict(task), "scarce": {**task, **task_extra}},
        "finetune": {"models": ["lm", "lm-scratch", "cnn"], "seeds": [1]},
    })  # fmt: skip


def test_scarce_tasks_select_lm_and_scratch_runs_over_their_seeds():
    cfg = _cfg(max_train=200, seeds=[1, 2, 3])
    assert P.scarce_tasks(cfg) == ["scarce"]
    runs = P.benefit_outputs(cfg)
    assert len(runs) == 6 and all("/cnn/" not in r for r in runs)
    assert "results/finetune/scarce/lm-scratch/seed3/metrics.json" in runs
    assert "results/summary/pretraining_benefit.tsv" in P.final_outputs(cfg)
    assert sum("/scarce/" in r for r in P.finetune_outputs(cfg)) == 9  # 3 models x 3 seeds
    assert sum("/full/" in r for r in P.finetune_outputs(cfg)) == 3
    # seeds select jobs: they are not dataset params (adding a seed rebuilds no dataset)
    assert (
        "seeds" not in P.task_params(cfg, "scarce")
        and P.task_params(cfg, "scarce")["max_train"] == 200
    )
    assert P.scarce_tasks(
        _cfg()
    ) == [] and "results/summary/pretraining_benefit.tsv" not in P.final_outputs(_cfg())


def test_max_train_caps_only_the_training_split(tmp_path):
    """tasks.<t>.max_train: an equal share per class of train rows; dev and test stay whole."""
    from dnalm import datasets

    rng = np.random.default_rng(3)
    src = tmp_path / "src"
    src.mkdir()
    for split, n in (("train", 40), ("dev", 10), ("test", 12)):
        seqs = ["".join(rng.choice(list("ACGT"), 30)) for _ in range(n)]
        body = "".join(f"{s},{i % 2}\n" for i, s in enumerate(seqs))
        (src / f"{split}.csv").write_text("sequence,label\n" + body)
    outs = {s: tmp_path / "out" / f"{s}.tsv.gz" for s in ("train", "dev", "test")}
    outs["card"] = tmp_path / "out" / "card.json"
    splits = {"train": 0.8, "dev": 0.1, "test": 0.1, "seed": 1}
    spec = {"kind": "imported", "format": "gue_csv", "path": str(src), "max_train": 10}
    card = datasets.build_dataset("t", spec, {"path": src}, outs, splits, verbose=False)
    assert card["counts"]["train"] == {"0": 5, "1": 5}
    assert card["counts"]["dev"] == {"0": 5, "1": 5} and card["counts"]["test"] == {"0": 6, "1": 6}
    again = tmp_path / "again"
    outs2 = {k: again / v.name for k, v in outs.items()}
    datasets.build_dataset("t", spec, {"path": src}, outs2, splits, verbose=False)
    assert outs2["train"].read_bytes() == outs["train"].read_bytes()  # seeded: same rows


def test_gpt_pairs_on_any_task_listing_both():
    """A GPT LM beside its -scratch control joins the benefit table on any task; BERT only when scarce."""
    task = {"genome": "g", "kind": "tfbs", "experiment": "E", "negatives": "gc_matched"}
    raw = {
        "genomes": {"g": {"fasta": {"url": "g.fa.gz"}}},
        "annotations": {"g": {"peaks": {"E": {"url": "e.narrowPeak.gz"}}}},
        "language_models": {"lm": {"genome": "g", "k": 6, "size": "tiny", "preset": "p"},
                            "gpt": {"genome": "g", "arch": "gpt", "size": "tiny", "preset": "p"}},
        "pretrain_presets": {"p": {"steps": 10, "batch_size": 4, "lr": 1e-3}},
        "tasks": {"full": {**task, "models": ["lm", "lm-scratch", "gpt", "gpt-scratch", "cnn"]},
                  "gpt_only": {**task, "models": ["gpt", "cnn"]}},
        "finetune": {"models": ["lm", "cnn"], "seeds": [1, 2]},
    }  # fmt: skip
    cfg = load_config(raw)
    assert P.scarce_tasks(cfg) == [] and P.benefit_pairs(cfg) == [("full", "gpt")]
    runs = P.benefit_outputs(cfg)
    assert runs == [f"results/finetune/full/{m}/seed{s}/metrics.json" for m in ("gpt", "gpt-scratch") for s in (1, 2)]
    assert "results/summary/pretraining_benefit.tsv" in P.final_outputs(cfg)
    raw["tasks"]["full"]["models"] = ["lm", "lm-scratch", "gpt"]  # no GPT pair, no scarce task
    cfg = load_config(raw)
    assert P.benefit_pairs(cfg) == [] and "results/summary/pretraining_benefit.tsv" not in P.final_outputs(cfg)
