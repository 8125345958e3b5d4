"""bench.gpu_check: the held-out-region shards, and every section's code path in quick CPU mode.

The checks themselves are meant for a GPU; running them here (tiny sizes, few steps) keeps the
script working between the rare occasions a GPU is at hand.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.gpu_check import SECTIONS, main, prepare


def _fasta(path, name: str, n: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    seq = "".join(rng.choice(list("ACGT"), n))
    path.write_text(f">{name}\n" + "\n".join(seq[i : i + 60] for i in range(0, n, 60)) + "\n")
    return seq


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    d = tmp_path_factory.mktemp("gpucheck")
    _fasta(d / "main.fa", "chrT", 60_000, 0)
    _fasta(d / "extra.fa", "chrE", 20_000, 1)
    prepare(d / "main.fa", [d / "extra.fa"], d / "shards", train_end=50_000)
    return d / "shards"


def test_prepare_validates_on_a_held_out_region(shards):
    meta = json.loads((shards / "prepare.json").read_text())
    assert meta["chrT_1_50000"] == {"split": "train", "length_bp": 50_000,
                                     "n_pieces": meta["chrT_1_50000"]["n_pieces"]}
    assert meta["chrT_50001_60000"]["length_bp"] == 10_000
    assert meta["extra_chrE"]["split"] == "train"
    train = np.load(shards / "chrT_1_50000.idx.npy")
    val = np.load(shards / "chrT_50001_60000.idx.npy")
    extra = np.load(shards / "extra_chrE.idx.npy")
    assert (train[:, 2] == 0).all() and (extra[:, 2] == 0).all()  # no validation piece in training
    assert len(val) > 10 and (val[:, 2] == 1).all()  # the held-out region is validation only
    assert train[:, 1].sum() >= 2 * 45_000  # coverage 2 of the training region


def test_prepare_refuses_a_record_no_longer_than_the_split(tmp_path):
    _fasta(tmp_path / "short.fa", "chrS", 1_000, 0)
    with pytest.raises(ValueError, match="short.fa: needs one record longer than 1000 bp"):
        prepare(tmp_path / "short.fa", [], tmp_path / "out", train_end=1_000)
    assert not list((tmp_path / "out").glob("*.npy"))


def test_no_time_left_skips_every_section_and_still_writes_the_table(tmp_path, shards):
    out = tmp_path / "out"
    assert main(["run", "--out", str(out), "--quick", "--allow-cpu", "--real-shards", str(shards),
                 "--budget-s", "0"]) == 0
    res = json.loads((out / "gpu_check.json").read_text())
    assert set(res["sections"]) == set(SECTIONS)
    assert all("skipped" in v for v in res["sections"].values())
    table = (out / "gpu_check.md").read_text()
    assert table.count("skipped:") == len(SECTIONS)


@pytest.mark.slow
def test_quick_mode_runs_every_section_on_the_cpu(tmp_path, shards):
    """All sections but ``compile`` (inductor's first CPU build takes about a minute)."""
    out = tmp_path / "out"
    sections = [s for s in SECTIONS if s != "compile"]
    assert main(["run", "--out", str(out), "--quick", "--allow-cpu", "--real-shards", str(shards),
                 "--budget-s", "900", "--sections", *sections]) == 0
    res = json.loads((out / "gpu_check.json").read_text())
    secs = res["sections"]
    assert set(secs) == set(sections)
    errors = {k: v["error"] for k, v in secs.items() if "error" in v or "skipped" in v}
    assert not errors, errors
    for key in ("bf16_sdpa", "fp32_sdpa", "bf16_eager", "fp32_eager"):
        assert secs["bert_step"][key]["tokens_per_s"] > 0
    assert secs["pretrain_e2e"]["naive"]["tokens_per_s"] > 0
    assert secs["max_batch"]["largest_fitting"] == 8  # the quick limit; nothing runs out of memory
    learn = secs["learning"]
    assert learn["check"]["n_tokens"] > 0 and learn["verdict"] in ("learns", "does_not_beat_baseline")
    assert learn["val_curve"] and (out / "learning_curves.png").stat().st_size > 0
    assert secs["inference"]["scan"]["bp_per_s"] > 0
    assert secs["inference"]["score_variants"]["clf_lm"]["ours_vps"] > 0
    assert secs["gpt"]["b4"]["tokens_per_s"] > 0
    # on the CPU a resumed run repeats the uninterrupted one exactly, and CPU = CPU
    resume = secs["correctness"]["resume"]
    assert resume["max_abs_loss_diff_resumed_vs_uninterrupted"] == 0.0 and resume["within_noise"]
    assert secs["correctness"]["cpu_vs_device"]["max_abs_prob_diff_fp32"] == 0.0
    table = (out / "gpu_check.md").read_text()
    assert "learning run (tiny" in table and "score-variants, + zero-shot LLR" in table
