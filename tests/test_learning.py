"""Tests of the learning check (dnalm.pretrain.check): the k-mer frequency baseline, the verdict,
its downstream warning, and that the demo preset's LM clears the baseline (slow)."""

import itertools
import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from dnalm import kmers
from dnalm.corpus import find_shards
from dnalm.corpus.stream import Corpus, derive_seed, epoch_batches
from dnalm.finetune import finetune
from dnalm.mask import centre_prob_for_rate, mask_tokens
from dnalm.modeling import build_mlm
from dnalm.pretrain import (
    ACC_MARGIN,
    CHECK_FILE,
    KmerBaseline,
    learning_check,
    pretrain,
    read_learning_check,
)
from dnalm.pretrain.mlm import MLMLoss, evaluate

from tests.synth import synth_splits
from tests.test_corpus_stream import write_shards

pytestmark = pytest.mark.usefixtures("torch_one_thread")

ROOT = Path(__file__).resolve().parents[1]
SHARED_HG38 = ROOT.parent / "shared" / "data" / "real" / "hg38_chr2_1-2333275.fa.gz"


def _kmer_strings(codes: np.ndarray, k: int) -> list[str]:
    """k-mers of a code array, spelled out base by base (independent of kmers.codes_to_ids)."""
    s = "".join(kmers.ALPHABET[c] for c in codes)
    return [s[i : i + k] for i in range(len(s) - k + 1)]


def test_baseline_equals_hand_computation(tmp_path):
    k = 3
    shards = write_shards(tmp_path / "s", n_pieces=(30, 20), lengths=(6, 40))
    corpus = Corpus(find_shards(shards), k)
    train = np.flatnonzero(corpus.split == 0)
    # counts by hand: every k-mer string of every training piece
    hand: dict[str, int] = dict.fromkeys(("".join(p) for p in itertools.product("ATCG", repeat=k)), 0)
    for p in train:
        sh = np.load(corpus.paths[corpus.shard[p]])
        for km in _kmer_strings(sh[corpus.offset[p] : corpus.offset[p] + corpus.length[p]], k):
            hand[km] += 1
    counts = corpus.kmer_counts(train)
    assert counts.tolist() == list(hand.values())  # vocabulary order is product("ATCG")
    base = KmerBaseline.from_counts(counts, k)
    total = sum(hand.values())
    top = max(hand, key=lambda km: (hand[km], -list(hand).index(km)))
    assert kmers.decode([base.top_id], k) == [top]
    # the baseline's loss and accuracy on the masked validation positions, by hand
    val = np.flatnonzero(corpus.split == 1)
    batches = [val[b] for b in epoch_batches(corpus.n_tokens[val], 4, 0, 1)]
    lm = build_mlm(k, "tiny", max_positions=64, seed=0)
    p = centre_prob_for_rate(0.3, k)
    metrics, rows = evaluate(MLMLoss(lm), corpus, batches, k, p, kmers.vocab_size(k), seed=5,
                             device=torch.device("cpu"), baseline=base)
    gen = torch.Generator().manual_seed(derive_seed(5, 7919))  # evaluate's masks, drawn again
    nll, hits = [], []
    for b in batches:
        ids, att = corpus.collate(b)
        labels = mask_tokens(ids, att, k, p, kmers.vocab_size(k), gen).labels
        for km in kmers.decode(labels[labels != -100].tolist(), k):
            nll.append(-math.log((hand[km] + 1) / (total + 4**k)))
            hits.append(km == top)
    assert len(nll) == rows["n_masked"].sum() > 20
    assert metrics["baseline_loss"] == pytest.approx(np.mean(nll), rel=1e-12)
    assert metrics["baseline_acc"] == pytest.approx(np.mean(hits), rel=1e-12)
    assert rows["n_masked"].shape == (sum(len(b) for b in batches),)


def test_kmer_counts_sample_is_capped_and_seeded(tmp_path):
    corpus = Corpus(find_shards(write_shards(tmp_path / "s")), 6)
    train = np.flatnonzero(corpus.split == 0)
    full = corpus.kmer_counts(train, max_kmers=None)
    assert full.sum() == (corpus.n_tokens[train] - 2).sum()
    part = corpus.kmer_counts(train, max_kmers=1000, seed=3)
    assert 1000 <= part.sum() < 1000 + corpus.n_tokens.max()
    assert np.array_equal(part, corpus.kmer_counts(train, max_kmers=1000, seed=3))


def _rows(n, correct, base_correct, loss=2.0, base_loss=8.0):
    n = np.full(n, 50.0)
    return {"n_masked": n, "correct": n * correct, "loss_sum": n * loss,
            "baseline_correct": n * base_correct, "baseline_loss_sum": n * base_loss}


def test_verdict_rule():
    good = learning_check(_rows(40, 0.30, 0.01), step=7)
    assert good["verdict"] == "learns" and good["step"] == 7
    assert good["acc_margin"] == pytest.approx(0.29) and good["loss_margin"] == pytest.approx(6.0)
    assert good["n_tokens"] == 2000 and good["n_sequences"] == 40
    lo, hi = good["ci95"]["acc_margin"]
    assert lo <= 0.29 <= hi
    # a margin just under the required one, or a loss above the baseline's, is not enough
    assert learning_check(_rows(40, ACC_MARGIN, 0.01))["verdict"] == "does_not_beat_baseline"
    worse_loss = learning_check(_rows(40, 0.30, 0.01, loss=9.0))
    assert worse_loss["verdict"] == "does_not_beat_baseline"
    assert "does not beat" in worse_loss["reason"]
    with pytest.raises(ValueError, match="no masked validation tokens"):
        learning_check(_rows(3, 0.3, 0.0) | {"n_masked": np.zeros(3)})


def test_read_learning_check(tmp_path):
    assert read_learning_check(tmp_path) is None
    (tmp_path / CHECK_FILE).write_text('{"verdict": "maybe"}')
    with pytest.raises(ValueError, match=f"{CHECK_FILE}:1: `verdict`"):
        read_learning_check(tmp_path)
    (tmp_path / CHECK_FILE).write_text("{\n  oops")
    with pytest.raises(ValueError, match=f"{CHECK_FILE}:2: not valid JSON"):
        read_learning_check(tmp_path)


@pytest.fixture(scope="module")
def one_step_lm(tmp_path_factory):
    """An LM trained for a single step: it cannot beat the baseline."""
    d = tmp_path_factory.mktemp("one_step")
    shards = write_shards(d / "shards")
    preset = {"steps": 1, "batch_size": 8, "lr": 1e-3, "val_batches": 3}
    res = pretrain(shards, d / "model", d / "ckpt", d / "train_log.tsv", d / "curves.png", k=4,
                   size="tiny", preset=preset, verbose=False)
    return d, res


def test_one_step_run_does_not_beat_baseline(one_step_lm):
    import pandas as pd

    d, res = one_step_lm
    assert res["verdict"] == "does_not_beat_baseline"
    check = read_learning_check(d / "model")
    assert check["verdict"] == "does_not_beat_baseline" and check["step"] == 1
    log = pd.read_csv(d / "train_log.tsv", sep="\t")
    val = log[log.split == "val"].iloc[-1]
    assert val.baseline_loss == pytest.approx(check["kmer_baseline_loss"], rel=1e-5)  # %.6g
    assert val.baseline_acc == pytest.approx(check["kmer_baseline_acc"], rel=1e-5)
    assert val.loss == pytest.approx(check["val_mlm_loss"], rel=1e-5)
    assert log[log.split == "train"].baseline_loss.isna().all()


def test_finetune_warns_about_an_lm_that_does_not_learn(one_step_lm, tmp_path, caplog):
    d, _ = one_step_lm
    tr, dv, te = (s.iloc[:48] for s in synth_splits(n_train=48, n_eval=48))
    with caplog.at_level(logging.INFO, logger="dnalm.finetune"):
        m = finetune(tr, dv, te, tmp_path / "lm", "lm", lm_dir=d / "model", epochs=1,
                     batch_size=16, lr=1e-3)
    warn = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("does not beat the k-mer frequency baseline" in r.getMessage() for r in warn)
    assert m["lm_verdict"] == "does_not_beat_baseline"
    assert json.loads((tmp_path / "lm" / "metrics.json").read_text())["lm_verdict"] == m["lm_verdict"]
    # the scratch control does not use the LM's weights; an LM without a check is "unchecked"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dnalm.finetune"):
        m = finetune(tr, dv, te, tmp_path / "scr", "lm-scratch", lm_dir=d / "model", scratch=True,
                     epochs=1, batch_size=16, lr=1e-3)
    assert m["lm_verdict"] == "not_used" and "k-mer" not in caplog.text
    unchecked = tmp_path / "imported"
    import shutil

    shutil.copytree(d / "model", unchecked)
    (unchecked / CHECK_FILE).unlink()
    m = finetune(tr, dv, te, tmp_path / "imp", "imp", lm_dir=unchecked, epochs=1, batch_size=16)
    assert m["lm_verdict"] == "unchecked"


# ----------------------------------------------------------------------------- the demo preset learns


def _demo_lm() -> tuple[str, dict, dict]:
    """The demo LM's size, its pretraining preset and the corpus settings, from config/config.yaml."""
    import yaml

    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    lm = cfg["language_models"]["dnabert6_tiny"]
    return lm["size"], cfg["pretrain_presets"][lm["preset"]], cfg["corpus"]


def _pretrain_demo_preset(d: Path) -> dict:
    """Pretrain the demo LM (size and preset of config/config.yaml) on the shards in ``d/shards``."""
    size, preset, _ = _demo_lm()
    threads = torch.get_num_threads()
    try:  # the demo's 2 cores (the module runs on one thread otherwise)
        res = pretrain(d / "shards", d / "model", d / "ckpt", d / "train_log.tsv",
                       d / "curves.png", k=6, size=size, preset=preset, threads=2, verbose=False)
    finally:
        torch.set_num_threads(threads)
    check = read_learning_check(d / "model")
    print(json.dumps({key: v for key, v in check.items() if key != "rule"}, indent=1))
    assert res["verdict"] == check["verdict"]
    return check


@pytest.mark.slow
def test_demo_lm_beats_kmer_baseline(demo_dag):
    """The demo DAG's LM clears the baseline: lower 95% bound of the accuracy margin >= ACC_MARGIN.

    The shared demo run (tests/e2e_demo.py) pretrains exactly the configured demo LM on the
    simulated world, so this reads its verdict instead of pretraining a second time.
    """
    check = read_learning_check(demo_dag.path("results/pretrain/dnabert6_tiny/model"))
    assert check is not None, "the demo LM has no learning_check.json"
    print(json.dumps({key: v for key, v in check.items() if key != "rule"}, indent=1))
    assert check["verdict"] == "learns", check["reason"]
    assert check["ci95"]["acc_margin"][0] >= ACC_MARGIN and check["loss_margin"] > 0
    assert check["n_tokens"] > 5000
    log = pd.read_csv(demo_dag.path("results/pretrain/dnabert6_tiny/train_log.tsv"), sep="\t")
    val = log[log["split"] == "val"]
    assert {"baseline_loss", "baseline_acc"} <= set(log.columns) and len(val) >= 2
    assert (val["mlm_acc"].iloc[-1] > val["baseline_acc"].iloc[-1])


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_HG38.is_file(), reason=f"{SHARED_HG38} is absent")
def test_demo_preset_beats_kmer_baseline_on_real_hg38_piece(tmp_path):
    """The same check on real human chr2 (../shared/data/real), validated on a held-out region.

    The corpus's own validation pieces are drawn from the same passes over the same sequence as
    the training pieces (coverage 2), so their bases also occur in training pieces: a model that
    memorised would pass. Here the LM trains on chr2:1-2,000,000 and is validated on
    chr2:2,000,001-2,333,275 alone (:func:`bench.gpu_check.prepare`), which it never sees.
    """
    from bench.gpu_check import prepare

    size, preset, corpus_cfg = _demo_lm()
    settings = {key: corpus_cfg[key] for key in ("min_len", "max_len", "coverage", "seed")}
    meta = prepare(SHARED_HG38, [], tmp_path / "shards", train_end=2_000_000, **settings)
    assert [m["split"] for m in meta.values()] == ["train", "val"]
    check = _pretrain_demo_preset(tmp_path)
    assert check["verdict"] == "learns", check["reason"]
    assert check["ci95"]["acc_margin"][0] >= ACC_MARGIN and check["loss_margin"] > 0
