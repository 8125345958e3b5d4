"""Benchmark summary: per-seed rows equal metrics.json, mean/sd rows, figures from real runs."""

import json

import numpy as np
import pandas as pd
import pytest
from dnalm.finetune import finetune
from dnalm.summary import build_summary, section_figures

from tests.synth import make_lm, synth_splits

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Short real runs laid out as results/finetune/{task}/{model}/seed{s}/."""
    root = tmp_path_factory.mktemp("results")
    lm = make_lm(root / "lm", k=4)
    paths = []
    for task, n_classes in (("two", 2), ("three", 3)):
        splits = synth_splits(n_classes=n_classes, n_train=90, n_eval=30, seed=5)
        for model in ("tiny", "tiny-scratch", "kmer_lr"):
            for seed in (1, 2):
                d = root / "finetune" / task / model / f"seed{seed}"
                kw = (
                    {"lm_dir": lm, "scratch": model.endswith("scratch")}
                    if model != "kmer_lr"
                    else {}
                )
                finetune(*splits, d, model, epochs=1, batch_size=16, lr=1e-3, seed=seed,
                         task=task, evals_per_epoch=3, **kw)  # fmt: skip
                paths.append(d / "metrics.json")
    return root, paths


def test_table_rows_and_aggregates(tmp_path, runs):
    root, paths = runs
    out = tmp_path / "summary"
    table = build_summary(paths, out / "benchmarks.tsv", out / "mcc.png", out / "roc_pr.png",
                          out / "curves.png", comparisons_tsv=out / "comparisons.tsv")  # fmt: skip
    disk = pd.read_csv(out / "benchmarks.tsv", sep="\t", dtype={"seed": str})
    assert len(disk) == len(table) == 12 + 2 * 6
    assert list(disk.columns[:4]) == ["task", "model", "seed", "n_seeds"]
    for p in paths:
        m = json.loads(p.read_text())
        row = disk[
            (disk.task == m["task"]) & (disk.model == m["model"]) & (disk.seed == str(m["seed"]))
        ]
        assert len(row) == 1
        for key in ("mcc", "auroc", "accuracy", "f1"):
            assert row[key].iloc[0] == pytest.approx(m[key], rel=1e-5, abs=1e-6)
    g = disk[(disk.task == "three") & (disk.model == "tiny")]
    per_seed = g[g.seed.isin(["1", "2"])]["mcc"].to_numpy()
    assert g[g.seed == "mean"]["mcc"].iloc[0] == pytest.approx(per_seed.mean(), abs=1e-5)
    assert g[g.seed == "sd"]["mcc"].iloc[0] == pytest.approx(np.std(per_seed, ddof=1), abs=1e-5)
    assert (g[g.seed == "mean"]["n_seeds"] == 2).all()
    # every metric has a 95% interval and n next to it
    for m in ("accuracy", "precision", "recall", "f1", "mcc", "auroc", "auprc"):
        assert {f"{m}_lo", f"{m}_hi"} <= set(disk.columns)
    runs_ = disk[disk.seed.isin(["1", "2"])]
    assert (runs_["mcc_lo"] <= runs_["mcc_hi"]).all() and (runs_["n_test"] == 30).all()
    mean = disk[disk.seed == "mean"]
    assert ((mean["mcc_lo"] <= mean["mcc"] + 1e-9) & (mean["mcc"] <= mean["mcc_hi"] + 1e-9)).all()
    for name in ("mcc", "roc_pr", "curves"):
        data = (out / f"{name}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
        svg = (out / f"{name}.svg").read_text()  # vector sibling of every figure
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    # the MCC chart names each task with its n and seeds (text kept as text in the SVG)
    svg = (out / "mcc.svg").read_text()
    assert "n=30, 2 seeds" in svg and "95% CI" in svg


def test_section_figures(tmp_path, runs):
    root, paths = runs
    out = tmp_path / "summary"
    build_summary(paths, out / "benchmarks.tsv")
    section_figures(paths, out / "benchmarks.tsv", ["three"], out / "s" / "mcc.png",
                    out / "s" / "roc_pr.png")  # fmt: skip
    assert sorted(p.name for p in (out / "s").iterdir()) == [
        "mcc.png", "mcc.svg", "roc_pr.png", "roc_pr.svg"]
    svg = (out / "s" / "mcc.svg").read_text()
    assert "three" in svg and ">two<" not in svg  # only the section's tasks
    roc = (out / "s" / "roc_pr.svg").read_text()
    assert "n=30 test rows, 2 seeds pooled" in roc
    with pytest.raises(ValueError, match="no run of task"):
        section_figures(paths, out / "benchmarks.tsv", ["absent"], out / "x.png", out / "y.png")
    with pytest.raises(ValueError, match="`tasks` is empty"):
        section_figures(paths, out / "benchmarks.tsv", [], out / "x.png", out / "y.png")


def test_bad_metrics_file_is_named(tmp_path):
    p = tmp_path / "metrics.json"
    p.write_text('{"task": "t"}')
    with pytest.raises(ValueError, match=r"metrics.json: missing key"):
        build_summary([p], tmp_path / "b.tsv")
    assert not (tmp_path / "b.tsv").exists()


def test_paired_comparisons(tmp_path, runs):
    root, paths = runs
    out = tmp_path / "summary"
    build_summary(paths, out / "benchmarks.tsv", comparisons_tsv=out / "comparisons.tsv")
    cmp = pd.read_csv(out / "comparisons.tsv", sep="\t")
    pairs = set(zip(cmp.model_a, cmp.model_b, strict=True))
    assert pairs == {("tiny", "tiny-scratch"), ("tiny", "kmer_lr"), ("tiny-scratch", "kmer_lr")}
    one = cmp[(cmp.task == "two") & (cmp.model_a == "tiny") & (cmp.model_b == "kmer_lr")].iloc[0]
    assert one.n_seeds == 2 and one.n_test == 30
    assert one.delta_mcc == pytest.approx(one.mcc_a - one.mcc_b, abs=1e-6)
    assert one.delta_lo <= one.delta_hi and 0 < one.p_bootstrap <= 1
    assert set(cmp.task) == {"two", "three", "all"}
    # the spread over seeds: the t interval of the per-seed differences (the bootstrap's rows
    # hold the runs fixed)
    from scipy import stats

    bench = pd.read_csv(out / "benchmarks.tsv", sep="\t", dtype={"seed": str})
    per = bench[(bench.task == "two") & bench.seed.isin(["1", "2"])].set_index(["model", "seed"])["mcc"]
    d = np.array([per["tiny", s] - per["kmer_lr", s] for s in ("1", "2")])
    half = stats.t.ppf(0.975, 1) * d.std(ddof=1) / np.sqrt(2)
    assert one.delta_seed_lo == pytest.approx(d.mean() - half, abs=1e-5)
    assert one.delta_seed_hi == pytest.approx(d.mean() + half, abs=1e-5)
    assert cmp[cmp.task == "all"][["delta_seed_lo", "delta_seed_hi"]].isna().all().all()


def test_paired_bootstrap_detects_a_real_difference():
    from dnalm.metrics import paired_bootstrap

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    good = np.eye(2)[np.where(rng.random(400) < 0.85, y, 1 - y)] * 0.8 + 0.1
    bad = np.eye(2)[np.where(rng.random(400) < 0.6, y, 1 - y)] * 0.8 + 0.1
    d = paired_bootstrap(y, good, bad, n_boot=500)
    assert np.quantile(d, 0.025) > 0  # good beats bad
    same = paired_bootstrap(y, good, good, n_boot=100)
    assert np.all(same == 0)  # a model against itself: no difference in any resample


def test_roc_pr_legend_numbers_are_the_tables_for_one_seed(tmp_path, runs, monkeypatch):
    """The PR legend gave the trapezoid area under interpolated points (not average precision)
    and multi-class panels did not say they were micro-averaged, so the figure's numbers and
    benchmarks.tsv disagreed without a word."""
    import dnalm.summary as S

    root, paths = runs
    figs = []
    monkeypatch.setattr(S, "_savefig", lambda fig, path: figs.append(fig))
    one = [p for p in paths if "seed1" in str(p)]
    table = build_summary(one, tmp_path / "b.tsv", roc_pr_png=tmp_path / "roc_pr.png")
    (fig,) = figs
    axes = fig.axes
    titles = [ax.get_title() for ax in axes]
    two = titles.index(next(t for t in titles if t.startswith("two: precision-recall")))
    assert "micro-average" not in titles[two]
    assert any(t.startswith("three: ROC") and "micro-average over classes" in t for t in titles)
    labels = dict(t.get_text().rsplit(" (", 1) for t in axes[two].get_legend().get_texts())
    rows = table[(table.task == "two") & (table.seed.astype(str) == "1")].set_index("model")
    for model, text in labels.items():
        assert text == f"AP {rows.loc[model, 'auprc']:.3f})", (model, text)
    roc = dict(t.get_text().rsplit(" (", 1) for t in axes[two - 1].get_legend().get_texts())
    for model, text in roc.items():
        assert text == f"AUROC {rows.loc[model, 'auroc']:.3f})", (model, text)
