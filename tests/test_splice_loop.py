"""SpliceFinder-style hard-negative rounds (dnalm.splice_loop) on a small synthetic genome.

The genome carries multi-exon genes on both strands whose donors and acceptors have a
consensus context (``AG|GTAAGT``, a pyrimidine tract before ``AG``), plus intronic decoys
(``GTAAGT`` without the exonic ``AG``) that a round-0 model tends to call donors: the pool
mining finds them as false positives.
"""

from __future__ import annotations

import filecmp
import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from dnalm import splice_loop as L
from dnalm.dataset import read_examples
from dnalm.datasets import build_dataset
from dnalm.fasta import Genome
from dnalm.settings import ConfigError, load_config
from dnalm.splice import NONSITE, read_gtf_exons, splice_sites

from tests.splice_world import SPLITS, dataset_files, write_splice_world

REPO = Path(__file__).resolve().parents[1]
W = 40
HN = {"rounds": 2, "model": "cnn", "pool_size": 400, "heldout_size": 200, "threshold": 0.5,
      "max_added_per_round": 40}  # fmt: skip
SPEC = {"kind": "splice", "genome": "syn", "window": W, "hard_negatives": HN}
FT = {"epochs": 3, "batch_size": 32, "lr": 3e-3, "patience": 3}


def _gene(rng: np.random.Generator, n_exons: int, exon: int, intron: int) -> tuple[str, list]:
    """A gene in transcript orientation with planted site contexts; exons as 0-based [s, e)."""
    length = n_exons * exon + (n_exons - 1) * intron
    s = list("".join(rng.choice(list("ACGT"), length)))
    exons = [(i * (exon + intron), i * (exon + intron) + exon) for i in range(n_exons)]
    for i, (a, b) in enumerate(exons):
        if i < n_exons - 1:  # donor at b: exon ends ...AG | GTAAGT
            s[b - 2 : b + 6] = "AGGTAAGT"
            for _ in range(2):  # intronic decoys: GTAAGT without the AG
                d = int(rng.integers(b + 30, b + intron - 60))
                s[d - 2 : d + 6] = "CCGTAAGT"
        if i > 0:  # acceptor at a: pyrimidine tract + AG | exon
            s[a - 14 : a] = "TTTCTTTTCCTCAG"
    return "".join(s), exons


def _world(root: Path, seed: int = 0) -> tuple[Path, Path]:
    return write_splice_world(root, _gene, seed)


def _run_loop(root: Path, fa: Path, gtf: Path, seed: int = 1, train: bool = True) -> Path:
    """Rounds 0..2 as the rules run them; returns the loop folder."""
    inputs = {"fasta": fa, "gtf": gtf}
    build_dataset("syn_splice", SPEC, inputs, dataset_files(root / "rounds/r0"), {"seed": seed}, verbose=False)
    loop = root / "loop"
    L.heldout_pool("syn_splice", dataset_files(root / "rounds/r0"), gtf, fa, loop / "heldout.tsv.gz",
                   HN["heldout_size"], seed)  # fmt: skip
    for r in range(HN["rounds"] + 1):
        if r:
            out = {**dataset_files(root / f"rounds/r{r}"), "added": loop / f"r{r}/added.tsv.gz"}
            L.mine_round("syn_splice", SPEC, r, dataset_files(root / f"rounds/r{r - 1}"),
                         loop / f"r{r - 1}/model", loop / "heldout.tsv.gz", gtf, fa, out, seed)  # fmt: skip
        if train:
            L.train_round("syn_splice", SPEC, r, dataset_files(root / f"rounds/r{r}"), loop / "heldout.tsv.gz",
                          loop / f"r{r}", FT, seed=1, num_threads=1)  # fmt: skip
    if train:
        L.rounds_table([loop / f"r{r}/round.json" for r in range(HN["rounds"] + 1)], loop / "rounds.tsv")
    return loop


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("splice_loop")
    fa, gtf = _world(root)
    loop = _run_loop(root, fa, gtf)
    return root, fa, gtf, loop


def test_two_rounds_run_and_are_tabled(world):
    root, _, _, loop = world
    table = pd.read_csv(loop / "rounds.tsv", sep="\t")
    assert table["round"].tolist() == [0, 1, 2]
    assert table.loc[0, "added"] == 0
    assert (table.loc[1:, "added"] > 0).all()  # the decoys are found
    assert (table["added"] <= HN["max_added_per_round"]).all()
    assert (table["heldout_n"] == HN["heldout_size"]).all()
    assert ((table["heldout_fpr_lo"] <= table["heldout_fpr"]) & (table["heldout_fpr"] <= table["heldout_fpr_hi"])).all()
    n_train = table["n_train"].tolist()
    assert n_train[1] == n_train[0] + table.loc[1, "added"]
    assert n_train[2] == n_train[1] + table.loc[2, "added"]
    card = yaml.safe_load((root / "rounds/r2/card.json").read_text())
    assert [x["round"] for x in card["stats"]["hard_negative_rounds"]] == [1, 2]


def test_added_rows_are_false_positives_of_the_previous_model(world):
    root, _, _, loop = world
    for r in (1, 2):
        added = pd.read_csv(loop / f"r{r}/added.tsv.gz", sep="\t")
        p = L.site_probability(loop / f"r{r - 1}/model", added["sequence"].tolist())
        assert (p > HN["threshold"]).all()
        np.testing.assert_allclose(p, added["p_site"], atol=1e-5)
        train = read_examples(root / f"rounds/r{r}/train.tsv.gz")
        new = train[-len(added):]
        assert [e.sequence for e in new] == added["sequence"].tolist()
        assert all(e.label == NONSITE for e in new)


def test_dev_test_unchanged_and_no_overlap(world):
    root, fa, gtf, loop = world
    for r in (1, 2):
        for s in ("dev", "test"):
            assert filecmp.cmp(root / f"rounds/r0/{s}.tsv.gz", root / f"rounds/r{r}/{s}.tsv.gz", shallow=False)
    true: dict[str, list[int]] = {}
    for s in splice_sites(read_gtf_exons(gtf)):
        true.setdefault(s.contig, []).append(s.boundary)
    held = read_examples(loop / "heldout.tsv.gz")
    shut = read_examples(root / "rounds/r0/dev.tsv.gz") + read_examples(root / "rounds/r0/test.tsv.gz") + held
    train0 = read_examples(root / "rounds/r0/train.tsv.gz")
    for r in (1, 2):
        added = pd.read_csv(loop / f"r{r}/added.tsv.gz", sep="\t")
        for row in added.itertuples():
            b = row.start + W // 2
            assert min(abs(b - x) for x in true[row.contig]) > L.SITE_MARGIN
            assert not any(e.contig == row.contig and abs(e.start - row.start) < W for e in shut)
            assert not any(e.contig == row.contig and e.start == row.start and e.strand == row.strand for e in train0)
    # the held-out pool overlaps no dataset row and no true site
    every = sum((read_examples(root / f"rounds/r0/{s}.tsv.gz") for s in SPLITS), [])
    for e in held:
        assert e.sequence[W // 2 : W // 2 + 2] == "GT" or e.sequence[W // 2 - 2 : W // 2] == "AG"
        assert not any(x.contig == e.contig and abs(x.start - e.start) < W for x in every)
        assert min(abs(e.start + W // 2 - x) for x in true[e.contig]) > L.SITE_MARGIN


def test_same_seed_same_round_other_seed_other_pool(world, tmp_path):
    root, fa, gtf, loop = world
    out = {**dataset_files(tmp_path / "r1"), "added": tmp_path / "added.tsv.gz"}
    L.mine_round("syn_splice", SPEC, 1, dataset_files(root / "rounds/r0"), loop / "r0/model",
                 loop / "heldout.tsv.gz", gtf, fa, out, 1)  # fmt: skip
    for key in ("train", "dev", "test", "card"):
        assert filecmp.cmp(out[key], root / f"rounds/r1/{Path(out[key]).name}", shallow=False), key
    assert gzip.open(out["added"]).read() == gzip.open(loop / "r1/added.tsv.gz").read()
    ex = lambda: L.Exclusions({}, {}, set(), set(), W)  # noqa: E731
    with Genome(fa) as g:
        tx = read_gtf_exons(gtf)
        a = L.gtag_pool(tx, g, np.random.default_rng(1), W, 50, ex(), "t")
        b = L.gtag_pool(tx, g, np.random.default_rng(1), W, 50, ex(), "t")
        c = L.gtag_pool(tx, g, np.random.default_rng(2), W, 50, ex(), "t")
    assert a == b and a != c


def test_last_round_reuses_the_tasks_own_run(world, tmp_path):
    """A fine-tuning run of the same model on the same data is copied, not trained again."""
    root, _, _, loop = world
    got = L.train_round("syn_splice", SPEC, 2, dataset_files(root / "rounds/r2"), loop / "heldout.tsv.gz",
                        tmp_path / "r2", FT, seed=1, trained=loop / "r2")  # fmt: skip
    want = yaml.safe_load((loop / "r2/round.json").read_text())
    assert got == want
    assert (tmp_path / "r2/model").is_dir() and not (tmp_path / "r2/train_log.tsv").exists()
    with pytest.raises(ValueError, match="expected 'cnn_gru'"):
        L.train_round("syn_splice", {**SPEC, "hard_negatives": {**HN, "model": "cnn_gru"}}, 2,
                      dataset_files(root / "rounds/r2"), loop / "heldout.tsv.gz", tmp_path / "x", FT,
                      trained=loop / "r2")  # fmt: skip


def test_round_must_follow_round_zero(world, tmp_path):
    root, fa, gtf, loop = world
    with pytest.raises(ValueError, match="round must be >= 1"):
        L.mine_round("syn_splice", SPEC, 0, dataset_files(root / "rounds/r0"), loop / "r0/model",
                     loop / "heldout.tsv.gz", gtf, fa, dataset_files(tmp_path), 1)  # fmt: skip


def test_round_metrics_are_on_one_pool_and_test_split_and_seeds_add_a_spread(world, tmp_path):
    """Every round scores the same held-out rows and test sites; eval_seeds > 1 adds per-seed rows."""
    root, _, _, loop = world
    rounds = [yaml.safe_load((loop / f"r{r}/round.json").read_text()) for r in range(3)]
    assert {x["heldout_n"] for x in rounds} == {HN["heldout_size"]}
    assert len({x["n_test_sites"] for x in rounds}) == 1 and rounds[0]["n_test_sites"] > 0
    for x in rounds:
        assert 0.5 <= x["heldout_auroc"] <= 1 and 0 <= x["heldout_fpr_at_recall"] <= 1
        assert x["eval_seeds"] == 1 and [s["seed"] for s in x["per_seed"]] == [1]
        assert x["heldout_fpr_mean"] == x["heldout_fpr_min"] == x["heldout_fpr"]
    # the numbers are the model's own: rescoring the saved round-1 model gives them back
    test = pd.read_csv(root / "rounds/r1/test.tsv.gz", sep="\t")
    held = pd.read_csv(loop / "heldout.tsv.gz", sep="\t")["sequence"].tolist()
    again = L.heldout_scores(loop / "r1/model", held, test, HN["threshold"])
    assert again["heldout_fp"] == rounds[1]["heldout_fp"]
    assert again["heldout_auroc"] == pytest.approx(rounds[1]["heldout_auroc"])
    spec = {**SPEC, "hard_negatives": {**HN, "eval_seeds": 2}}
    got = L.train_round("syn_splice", spec, 1, dataset_files(root / "rounds/r1"), loop / "heldout.tsv.gz",
                        tmp_path / "r1", FT, seed=1, num_threads=1)  # fmt: skip
    assert [s["seed"] for s in got["per_seed"]] == [1, 2] and got["eval_seeds"] == 2
    assert got["heldout_fp"] == rounds[1]["heldout_fp"]  # the mining model is the seed-1 one
    fprs = [s["heldout_fpr"] for s in got["per_seed"]]
    assert got["heldout_fpr_min"] == min(fprs) and got["heldout_fpr_max"] == max(fprs)
    assert sorted(p.name for p in (tmp_path / "r1").iterdir() if p.name.startswith(".")) == []


def _round_json(path: Path, r: int, fprs: list[float], n: int = 1000) -> Path:
    k = round(fprs[0] * n)
    per = [{"seed": i + 1, "heldout_fpr": f, "heldout_auroc": 0.9, "heldout_fpr_at_recall": f,
            "test_mcc": 0.5} for i, f in enumerate(fprs)]  # fmt: skip
    x = {"task": "t", "round": r, "model": "cnn", "n_train": 100, "added": 0, "pool": 0,
         "pool_false_positives": 0, "test_mcc": 0.5, "heldout_n": n, "heldout_fp": k,
         "heldout_fpr": k / n, "heldout_fpr_ci": list(L.wilson_ci(k, n)), "heldout_auroc": 0.9,
         "n_test_sites": 50, "heldout_fpr_at_recall": fprs[0], "eval_seeds": len(fprs),
         "heldout_fpr_mean": float(np.mean(fprs)), "heldout_fpr_min": min(fprs),
         "heldout_fpr_max": max(fprs), "heldout_auroc_mean": 0.9,
         "heldout_fpr_at_recall_mean": float(np.mean(fprs)), "test_mcc_mean": 0.5, "per_seed": per}  # fmt: skip
    path.write_text(json.dumps(x))
    return path


@pytest.mark.parametrize(
    ("fprs", "want"),
    [
        ([[0.31], [0.48], [0.25]], ["reference", "higher", "lower"]),  # one seed: Wilson CIs
        ([[0.31, 0.28, 0.85], [0.48, 0.28, 0.36], [0.25, 0.25, 0.29]],
         ["reference", "no clear change", "no clear change"]),  # the demo's seed spread
        ([[0.40, 0.45, 0.50], [0.30, 0.32, 0.35], [0.10, 0.12, 0.15]],
         ["reference", "lower", "lower"]),
    ],
    ids=["one_seed", "seed_spread_overlaps", "clearly_lower"],
)
def test_rounds_table_says_lower_only_outside_round0_spread(tmp_path, fprs, want):
    paths = [_round_json(tmp_path / f"r{r}.json", r, f) for r, f in enumerate(fprs)]
    df = L.rounds_table(paths, tmp_path / "rounds.tsv")
    assert df["fpr_vs_round0"].tolist() == want
    assert list(pd.read_csv(tmp_path / "rounds.tsv", sep="\t").columns) == list(L.ROUND_COLUMNS)


def test_wilson_interval():
    lo, hi = L.wilson_ci(10, 100)
    assert lo == pytest.approx(0.0552, abs=1e-3) and hi == pytest.approx(0.1744, abs=1e-3)
    assert L.wilson_ci(0, 0) == (None, None)


def _config() -> dict:
    return yaml.safe_load((REPO / "config/config.yaml").read_text())


@pytest.mark.parametrize(
    ("task", "block", "key"),
    [
        ("tf_ctcf", {"rounds": 2}, "tasks.tf_ctcf.hard_negatives"),
        ("splice", {"rounds": 0}, "tasks.splice.hard_negatives.rounds"),
        ("splice", {"threshold": 1.5}, "tasks.splice.hard_negatives.threshold"),
        ("splice", {"model": "dnabert6_tiny"}, "tasks.splice.hard_negatives.model"),
        ("splice", {"pool": 10}, "tasks.splice.hard_negatives.pool"),
    ],
)
def test_bad_hard_negative_config_names_the_key(task: str, block: dict, key: str) -> None:
    cfg = _config()
    cfg["tasks"][task]["hard_negatives"] = block
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    assert key in str(e.value)


def test_demo_dry_run_plans_the_rounds() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1",
         "results/splice_loop/splice/rounds.tsv", "results/datasets/splice/card.json",
         "results/datasets/splice_scarce/card.json", "--forcerun", "splice_round0", "dataset_build",
         "-n", "--quiet", "rules"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    counts = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    rounds = load_config(_config()).tasks["splice"].hard_negatives.rounds
    assert counts.get("splice_round0") == 1
    assert counts.get("splice_loop_train") == rounds + 1
    assert counts.get("splice_loop_mine") == rounds
    assert counts.get("splice_loop_final") == 1 and counts.get("splice_loop_table") == 1
    assert counts.get("dataset_build") == 1  # splice_scarce only: the loop task is not built twice
    assert counts.get("baseline_finetune") == 1  # the last round reuses the task's own cnn run
