"""Tests of dnalm.pretrain: outputs, determinism, resume after interruption, DDP."""

import json
import os
import subprocess
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from dnalm import checkpoint as ckpt
from dnalm import kmers
from dnalm.pretrain import (
    FINGERPRINT_FILE,
    LOG_COLUMNS,
    RUN_FILE,
    BatchPlan,
    PretrainConfig,
    TrainState,
    batch_plan,
    fingerprint_changes,
    lr_factor,
    mask_rate_at,
    pretrain,
    torchrun_command,
)

from tests.pretrain_helpers import (
    assert_same_weights,
    check_resume_after_stop,
    check_signal_resume,
    model_weights,
)
from tests.test_corpus_stream import write_shards

ROOT = Path(__file__).resolve().parents[1]

PRESET = {
    "steps": 12,
    "global_batch": 16,  # one process: 8 x 2 micro-steps; two: 8 x 1 each
    "micro_batch": 8,
    "lr": 5e-3,
    "warmup_steps": 2,
    "mask_schedule": [[0, 0.15], [6, 0.2]],
    "checkpoint_every": 100,
    "log_every": 1,
    "val_batches": 3,
}


pytestmark = pytest.mark.usefixtures("torch_one_thread")  # also covers the `straight` run


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return write_shards(tmp_path_factory.mktemp("corpus") / "shards")


def run(shards, d: Path, preset=PRESET, **kw):
    return pretrain(
        shards, d / "model", d / "checkpoints", d / "train_log.tsv", d / "curves.png",
        k=6, size="tiny", preset=preset, verbose=False, **kw,
    )


def train_rows(d: Path):
    df = pd.read_csv(d / "train_log.tsv", sep="\t")
    return df[df["split"] == "train"].reset_index(drop=True)


@pytest.fixture(scope="module")
def straight(shards, tmp_path_factory):
    d = tmp_path_factory.mktemp("straight")
    res = run(shards, d)
    return d, res


def test_outputs(straight):
    from transformers import BertForMaskedLM

    d, res = straight
    assert res["status"] == "done" and res["step"] == PRESET["steps"]
    df = pd.read_csv(d / "train_log.tsv", sep="\t")
    assert list(df.columns) == list(LOG_COLUMNS)
    tr, va = df[df.split == "train"], df[df.split == "val"]
    assert list(tr.step) == list(range(1, 13)) and list(va.step) == [12]
    assert tr.mfu.isna().all()  # CPU: no MFU
    assert (tr.global_batch == 16).all() and va.global_batch.isna().all()  # counted while training
    run_json = json.loads((d / "model" / RUN_FILE).read_text())
    assert run_json == {"batch": {"global_batch": 16, "per_device": 8, "grad_accum": 2, "world": 1,
                                  "source": "global_batch"},
                        "measured_global_batch": {"min": 16.0, "max": 16.0},
                        "schedule": {"steps": 12, "warmup_steps": 2, "lr_horizon": 12}}
    assert res["batch"] == run_json["batch"]
    assert (tr.padding_waste <= 0.10).all()
    assert (tr.tokens_per_s > 0).all()
    np.testing.assert_allclose(tr.perplexity, np.exp(tr.loss), rtol=1e-4)
    # the masked fraction follows the schedule (edges of short pieces mask a little less)
    assert 0.10 < tr.mask_rate[tr.step <= 6].mean() < 0.17
    assert 0.14 < tr.mask_rate[tr.step > 6].mean() < 0.22
    # warm-up then linear decay
    assert tr.lr[0] < tr.lr[1] and tr.lr.iloc[-1] < tr.lr[2]
    # an A/T-rich corpus is learnable: the loss falls from ln(4101) ~ 8.32
    assert tr.loss[:3].mean() > tr.loss.iloc[-3:].mean() + 0.2
    assert (d / "curves.png").stat().st_size > 10_000
    model = BertForMaskedLM.from_pretrained(d / "model")
    assert model.config.vocab_size == 4101 and model.config.num_hidden_layers == 2
    assert kmers.load_tokenizer(d / "model").k == 6
    assert (d / "model" / "vocab.txt").read_text() == kmers.vocab_text(6)
    assert not list(d.glob(".*tmp*"))


def test_saved_model_loads_with_stock_attention(straight):
    """Nothing on disk names an attention implementation; reloaded models use stock SDPA."""
    from transformers import BertForMaskedLM, BertForSequenceClassification

    d, _ = straight
    assert "attn_implementation" not in (d / "model" / "config.json").read_text()
    for cls in (BertForMaskedLM, BertForSequenceClassification):
        m = cls.from_pretrained(d / "model")
        assert m.config._attn_implementation == "sdpa"



def test_deterministic_rerun(shards, straight, tmp_path):
    d0, _ = straight
    run(shards, tmp_path)
    pd.testing.assert_frame_equal(train_rows(tmp_path).drop(columns=["tokens_per_s"]),
                                  train_rows(d0).drop(columns=["tokens_per_s"]))
    w0, w1 = model_weights(d0), model_weights(tmp_path)
    assert all(torch.equal(w0[key], w1[key]) for key in w0)


def test_fixed_split_trains_like_global_batch_on_one_process(shards, straight, tmp_path):
    """batch_size 8 x grad_accum 2 is global_batch 16 / micro_batch 8 on one process: same run."""
    d0, _ = straight
    legacy = {key: v for key, v in PRESET.items() if key not in ("global_batch", "micro_batch")}
    res = run(shards, tmp_path, preset={**legacy, "batch_size": 8, "grad_accum": 2})
    assert res["batch"] == {"global_batch": 16, "per_device": 8, "grad_accum": 2, "world": 1,
                            "source": "batch_size"}
    pd.testing.assert_frame_equal(train_rows(tmp_path).drop(columns=["tokens_per_s"]),
                                  train_rows(d0).drop(columns=["tokens_per_s"]))
    w0, w1 = model_weights(d0), model_weights(tmp_path)
    assert all(torch.equal(w0[key], w1[key]) for key in w0)


def _compare(d0, d1):
    a, b = train_rows(d0), train_rows(d1)
    assert list(a.step) == list(b.step)
    np.testing.assert_allclose(b.loss, a.loss, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.mask_rate, a.mask_rate, rtol=1e-9)
    assert_same_weights(d0, d1)


def test_resume_after_stop_equals_straight_run(shards, straight, tmp_path):
    d0, _ = straight
    check_resume_after_stop(partial(run, shards), tmp_path, partial(_compare, d0))


def test_signal_checkpoints_and_exits(shards, straight, tmp_path):
    """SIGUSR1 mid-run: checkpoint, PreemptedError (non-zero exit); the rerun resumes."""
    d0, _ = straight
    state = check_signal_resume(partial(run, shards), tmp_path, partial(_compare, d0))
    assert {"model", "optimizer", "scheduler", "rng", "epoch", "cursor", "preset"} <= set(state)
    assert set(state["rng"][0]) == {"python", "numpy", "torch", "cuda"}
    assert "scaler" not in state  # bf16/fp32 training: no GradScaler, nothing saved for it
    assert state["k"] == 6 and state["model_config"]["num_hidden_layers"] == 2


def test_rerun_after_finish_rewrites_outputs_without_training(shards, straight, tmp_path):
    d0, _ = straight
    import shutil

    shutil.copytree(d0 / "checkpoints", tmp_path / "checkpoints")  # as after a crash at the end
    res = run(shards, tmp_path)
    assert res["resumed_from"] == PRESET["steps"]
    pd.testing.assert_frame_equal(train_rows(tmp_path), train_rows(d0))
    w0, w1 = model_weights(d0), model_weights(tmp_path)
    assert all(torch.equal(w0[key], w1[key]) for key in w0)


def _stale_dirs(ckpt_dir: Path) -> list[Path]:
    return sorted(p for p in ckpt_dir.iterdir() if p.is_dir() and p.name.startswith("stale-"))


def test_changed_lr_never_resumes_old_checkpoints(shards, straight, tmp_path, caplog):
    """Same checkpoint dir, lr changed: the old checkpoints are set aside, the model is new."""
    import shutil

    d0, _ = straight
    shutil.copytree(d0 / "checkpoints", tmp_path / "checkpoints")
    old_steps = [p.name for _, p in ckpt.list_checkpoints(tmp_path / "checkpoints")]
    assert old_steps
    preset = {**PRESET, "lr": 1e-3}
    with caplog.at_level("WARNING", logger="dnalm.pretrain"):
        res = run(shards, tmp_path, preset=preset)
    assert res["resumed_from"] is None and res["status"] == "done"
    assert f"preset.lr: {PRESET['lr']} -> 0.001" in caplog.text
    stale = _stale_dirs(tmp_path / "checkpoints")
    assert len(stale) == 1
    assert sorted(p.name for p in stale[0].glob("step*.pt")) == old_steps
    assert (stale[0] / "train_log.live.tsv").is_file()
    w0, w1 = model_weights(d0), model_weights(tmp_path)
    assert any(not torch.equal(w0[key], w1[key]) for key in w0)
    # the new checkpoints carry the new preset; the model directory names its fingerprint
    _, state = ckpt.latest_checkpoint(tmp_path / "checkpoints")
    assert state["fingerprint"]["preset"]["lr"] == 1e-3 and state["preset"]["lr"] == 1e-3
    fp = json.loads((tmp_path / "model" / FINGERPRINT_FILE).read_text())
    assert fp == state["fingerprint"]
    assert fp["preset"]["lr"] == 1e-3 and fp["k"] == 6 and fp["size"] == "tiny"
    assert set(fp["corpus"]) == {"chr1.seq.npy", "chr2.seq.npy"}


def test_changed_corpus_or_size_sets_checkpoints_aside(shards, straight, tmp_path, caplog):
    import shutil

    d0, _ = straight
    ckpts = tmp_path / "checkpoints"
    shutil.copytree(d0 / "checkpoints", ckpts)
    other = write_shards(tmp_path / "other", seed=1)  # another corpus, same file names
    with caplog.at_level("WARNING", logger="dnalm.pretrain"):
        res = run(other, tmp_path, preset={**PRESET, "steps": 2})
    assert res["resumed_from"] is None
    assert "corpus.chr1.seq.npy" in caplog.text and "corpus.chr2.seq.npy" in caplog.text
    assert len(_stale_dirs(ckpts)) == 1
    # a bigger model against the same dir: its step-2 checkpoints are set aside in turn
    caplog.clear()
    with caplog.at_level("WARNING", logger="dnalm.pretrain"):
        pretrain(other, tmp_path / "m", ckpts, tmp_path / "l.tsv", tmp_path / "c.png", k=6,
                 size="small", preset={**PRESET, "steps": 1}, verbose=False)
    assert "size: tiny -> small" in caplog.text and "architecture.hidden_size" in caplog.text
    assert len(_stale_dirs(ckpts)) == 2


def test_checkpoint_without_fingerprint_is_set_aside(shards, straight, tmp_path, caplog):
    """A checkpoint from before fingerprints existed is never resumed."""
    d0, _ = straight
    path, state = ckpt.latest_checkpoint(d0 / "checkpoints")
    state.pop("fingerprint")
    ckpt.save_checkpoint(tmp_path / "checkpoints", state["step"], state)
    with caplog.at_level("WARNING", logger="dnalm.pretrain"):
        res = run(shards, tmp_path, preset={**PRESET, "steps": 2})
    assert res["resumed_from"] is None and "before training fingerprints" in caplog.text
    assert len(_stale_dirs(tmp_path / "checkpoints")) == 1


def test_unchanged_fingerprint_ignores_housekeeping_keys():
    """keep_checkpoints and num_workers do not change the result, so they do not block resume."""
    from dnalm.modeling import bert_config
    from dnalm.pretrain import training_fingerprint

    a = PretrainConfig.from_dict(PRESET)
    b = PretrainConfig.from_dict({**PRESET, "keep_checkpoints": 5, "num_workers": 2})
    c = PretrainConfig.from_dict({**PRESET, "seed": 7})
    cfg = bert_config(6, "tiny").to_dict()
    fa, fb, fc = (training_fingerprint(6, "tiny", x, cfg, []) for x in (a, b, c))
    assert fingerprint_changes(fa, fb) == []
    assert fingerprint_changes(fa, fc) == ["preset.seed: 42 -> 7"]


def test_schedules():
    sched = [[0, 0.15], [100, 0.2]]
    assert mask_rate_at(sched, 0) == 0.15 and mask_rate_at(sched, 99) == 0.15
    assert mask_rate_at(sched, 100) == 0.2
    assert lr_factor(0, 10, 100) == pytest.approx(0.1)
    assert lr_factor(9, 10, 100) == pytest.approx(1.0)
    assert lr_factor(10, 10, 100) == pytest.approx(1.0)
    assert lr_factor(55, 10, 100) == pytest.approx(0.5)
    assert lr_factor(100, 10, 100) == 0.0


def test_preset_validation():
    with pytest.raises(ValueError, match="unknown key"):
        PretrainConfig.from_dict({**PRESET, "lr_typo": 1})
    with pytest.raises(ValueError, match="steps"):
        PretrainConfig.from_dict({"batch_size": 1, "lr": 1e-3})
    with pytest.raises(ValueError, match="mask_schedule"):
        PretrainConfig.from_dict({**PRESET, "mask_schedule": [[5, 0.15]]})
    with pytest.raises(ValueError, match="mask_schedule"):
        PretrainConfig.from_dict({**PRESET, "mask_schedule": [[0, 1.5]]})
    with pytest.raises(ValueError, match=r"`pretrain_presets\.demo\.global_batch`"):
        PretrainConfig.from_dict({**PRESET, "global_batch": 0}, "demo")
    with pytest.raises(ValueError, match=r"`pretrain_presets\.demo\.lr`"):
        PretrainConfig.from_dict({**PRESET, "lr": "fast"}, "demo")
    with pytest.raises(ValueError, match=r"`pretrain_presets\.big\.lr_typo`: unknown key"):
        PretrainConfig.from_dict({**PRESET, "lr_typo": 1}, "big")


def _preset(**kw) -> PretrainConfig:
    base = {key: v for key, v in PRESET.items() if key not in ("global_batch", "micro_batch")}
    return PretrainConfig.from_dict({**base, **kw}, "p")


@pytest.mark.parametrize(("total", "micro"), [(2000, 10), (2000, 64), (16, 8), (16, None), (12, 5)])
def test_global_batch_is_the_same_for_1_2_4_processes(total, micro):
    cfg = _preset(global_batch=total, micro_batch=micro)
    for world in (1, 2, 4):
        plan = batch_plan(cfg, world, "p")
        assert plan.global_batch == total == plan.per_device * plan.grad_accum * world
        assert plan.per_device <= (micro or total) and plan.source == "global_batch"


def test_batch_plan_splits():
    paper = _preset(global_batch=2000, micro_batch=10)
    assert batch_plan(paper, 8) == BatchPlan(2000, 10, 25, 8, "global_batch")  # DNABERT's split
    assert batch_plan(paper, 1) == BatchPlan(2000, 10, 200, 1, "global_batch")
    # the fewest micro-steps whose size divides the share: 125 per process -> 25 x 5, not 13 x ~9.6
    assert batch_plan(paper, 16) == BatchPlan(2000, 5, 25, 16, "global_batch")
    assert batch_plan(_preset(global_batch=16), 2) == BatchPlan(16, 8, 1, 2, "global_batch")
    # every world size that divides the global batch keeps it exactly
    for total, micro in [(2000, 10), (96, 7), (30, 4), (7, None)]:
        cfg = _preset(global_batch=total, micro_batch=micro)
        for world in [w for w in range(1, 33) if total % w == 0]:
            plan = batch_plan(cfg, world)
            assert plan.per_device * plan.grad_accum * world == total
            assert plan.per_device <= (micro or total)
    assert "16 = 8 per process x 1 micro-steps x 2 processes" in batch_plan(_preset(global_batch=16), 2).describe()


def test_batch_plan_refuses_uneven_split():
    cfg = _preset(global_batch=2000, micro_batch=10)
    with pytest.raises(ValueError, match=r"`pretrain_presets\.paper\.global_batch`: 2000 .* over 3 processes"):
        batch_plan(cfg, 3, "paper")
    with pytest.raises(ValueError, match=r"`preset\.global_batch`"):
        batch_plan(_preset(global_batch=16), 5)
    with pytest.raises(ValueError, match="world"):
        batch_plan(cfg, 0)


def test_fixed_split_grows_with_processes():
    """``batch_size``/``grad_accum``: the per-process split is fixed, the global batch is not."""
    cfg = _preset(batch_size=10, grad_accum=25)
    assert batch_plan(cfg, 8) == BatchPlan(2000, 10, 25, 8, "batch_size")
    assert batch_plan(cfg, 1).global_batch == 250
    assert "changes with the process count" in batch_plan(cfg, 1).describe()
    assert batch_plan(_preset(batch_size=4), 2) == BatchPlan(8, 4, 1, 2, "batch_size")
    assert cfg.eval_batch_size == 10


def test_preset_batch_keys_are_unambiguous():
    for bad, key in [
        ({}, "global_batch"),  # neither
        ({"global_batch": 16, "batch_size": 8}, "global_batch"),  # both
        ({"global_batch": 16, "grad_accum": 2}, "grad_accum"),  # derived, not stated
        ({"batch_size": 8, "micro_batch": 4}, "micro_batch"),
        ({"global_batch": 16, "micro_batch": 32}, "micro_batch"),
        ({"global_batch": 16, "schedule_steps": 5}, "schedule_steps"),  # steps is 12
    ]:
        with pytest.raises(ValueError, match=rf"`pretrain_presets\.p`: {key}:"):
            _preset(**bad)
    cfg = _preset(global_batch=2000, micro_batch=10, schedule_steps=200)
    assert (cfg.eval_batch_size, cfg.lr_horizon) == (10, 200)
    assert (_preset(global_batch=16).eval_batch_size, _preset(global_batch=16).lr_horizon) == (16, 12)


def test_schedule_steps_sets_the_lr_horizon(shards, tmp_path):
    """DNABERT's way: the lr decays towards 0 at schedule_steps; training stops at steps."""
    preset = {**PRESET, "steps": 4, "schedule_steps": 10, "log_every": 1, "val_batches": 0}
    run(shards, tmp_path, preset=preset)
    tr = train_rows(tmp_path)
    want = [PRESET["lr"] * lr_factor(s, PRESET["warmup_steps"], 10) for s in range(4)]
    np.testing.assert_allclose(tr.lr, want, rtol=1e-5)
    assert tr.lr.iloc[-1] == pytest.approx(PRESET["lr"] * 7 / 8, rel=1e-5)  # not decayed to 0
    run_json = json.loads((tmp_path / "model" / RUN_FILE).read_text())
    assert run_json["schedule"] == {"steps": 4, "warmup_steps": 2, "lr_horizon": 10}


def test_train_state_roundtrip_and_best_only_improves():
    st = TrainState(step=3, epoch=1, cursor=4, rows=[{"step": 3, "split": "train", "loss": 2.0},
                                                    {"step": 5, "split": "val", "loss": 1.0}])
    st.record_val(2.5)
    st.step = 4
    st.record_val(3.0)  # worse: the best stays
    assert (st.best_val_loss, st.best_step) == (2.5, 3)
    back = TrainState.from_checkpoint({**st.to_checkpoint(), "step": 3})
    assert (back.step, back.epoch, back.cursor, back.resumed_from) == (3, 1, 4, 3)
    assert [r["step"] for r in back.rows] == [3]  # rows after the checkpoint's step are dropped
    assert back.best_val_loss == 2.5 and back.last("val") is None


def test_torchrun_command():
    cmd = torchrun_command(2, "x.py", ["--a", 1])
    assert cmd[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    assert cmd[-3:] == ["x.py", "--a", "1"]


@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_corpus_without_training_pieces_is_refused(shards, tmp_path, arch):
    """BERT and GPT share the check (dnalm.pretrain.runtime.split_pieces): the error names the folder."""
    import shutil

    from dnalm.gpt import pretrain_gpt

    d = tmp_path / "val_only"
    shutil.copytree(shards, d)
    for idx in d.glob("*.idx.npy"):
        table = np.load(idx)
        table[:, 2] = 1  # every piece a validation piece
        np.save(idx, table)
    with pytest.raises(ValueError, match=r"val_only: corpus has no training pieces \(split 0\)"):
        if arch == "bert":
            run(d, tmp_path)
        else:
            pretrain_gpt(d, tmp_path / "model", tmp_path / "checkpoints", tmp_path / "log.tsv",
                         tmp_path / "c.png", size="tiny", preset=PRESET, verbose=False)  # fmt: skip
    assert not (tmp_path / "checkpoints").exists()


@pytest.mark.slow
def test_ddp_two_cpu_processes(shards, straight, tmp_path):
    """The rule script under torchrun with 2 gloo processes trains, shards data, writes once,
    and trains with the same global batch as one process (16 = 8 x 2 x 1 = 8 x 1 x 2)."""
    preset = {**PRESET, "steps": 4, "checkpoint_every": 2}
    args = ["--shards", str(shards), "--out-dir", str(tmp_path / "model"),
            "--ckpt-dir", str(tmp_path / "checkpoints"), "--log-tsv", str(tmp_path / "train_log.tsv"),
            "--curves-png", str(tmp_path / "curves.png"), "--k", "6", "--size", "tiny",
            "--preset", json.dumps(preset), "--preset-name", "demo", "--threads", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = torchrun_command(2, ROOT / "workflow" / "scripts" / "bert_pretrain.py", args)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "world=2" in proc.stderr
    assert "global batch 16 = 8 per process x 1 micro-steps x 2 processes" in proc.stderr
    _, state = ckpt.latest_checkpoint(tmp_path / "checkpoints")
    assert state["world_size"] == 2 and len(state["rng"]) == 2
    assert state["batch"] == {"global_batch": 16, "per_device": 8, "grad_accum": 1, "world": 2,
                              "source": "global_batch"}
    # the ranks drew different masks (per-rank seed offset)
    assert not torch.equal(state["rng"][0]["torch"], state["rng"][1]["torch"])
    df = pd.read_csv(tmp_path / "train_log.tsv", sep="\t")
    tr = df[df.split == "train"]
    assert list(tr.step) == [1, 2, 3, 4]
    # the global batch counted over both processes equals the one-process run's
    d1, _ = straight
    one = json.loads((d1 / "model" / RUN_FILE).read_text())
    two = json.loads((tmp_path / "model" / RUN_FILE).read_text())
    assert (tr.global_batch == 16).all() and (train_rows(d1).global_batch == 16).all()
    assert one["measured_global_batch"] == two["measured_global_batch"] == {"min": 16.0, "max": 16.0}
    assert (one["batch"]["grad_accum"], two["batch"]["grad_accum"]) == (2, 1)
    # each rank walked its own half of the batches: 4 steps x 1 micro-batch
    assert (state["epoch"], state["cursor"]) == (0, 4)
    assert [s for s, _ in ckpt.list_checkpoints(tmp_path / "checkpoints")] == [2, 4]
    from transformers import BertForMaskedLM

    BertForMaskedLM.from_pretrained(tmp_path / "model")


@pytest.mark.slow
def test_ddp_refuses_a_global_batch_it_cannot_split(shards, tmp_path):
    preset = {**PRESET, "global_batch": 15, "micro_batch": None, "steps": 1}
    args = ["--shards", str(shards), "--out-dir", str(tmp_path / "model"),
            "--ckpt-dir", str(tmp_path / "checkpoints"), "--log-tsv", str(tmp_path / "train_log.tsv"),
            "--curves-png", str(tmp_path / "curves.png"), "--k", "6", "--size", "tiny",
            "--preset", json.dumps(preset), "--preset-name", "demo", "--threads", "1"]
    cmd = torchrun_command(2, ROOT / "workflow" / "scripts" / "bert_pretrain.py", args)
    proc = subprocess.run(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode != 0
    assert "`pretrain_presets.demo.global_batch`: 15 sequences per step cannot be split evenly over 2" in proc.stderr
    assert not (tmp_path / "model").exists()
