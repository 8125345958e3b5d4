"""dnalm.attribution.task / .npz / .bigwig / .load: the rule's driver, the npz contract, bigWig."""

import json

import numpy as np
import pytest
import torch
from dnalm.attribution.bigwig import read_fai, write_bigwig
from dnalm.attribution.npz import read_attribution
from dnalm.attribution.task import attribute_task, pick_positives
from dnalm.dataset import Example, dataset_card, read_split, write_card, write_split
from dnalm.modeling import bert_config, save_model_dir

pytestmark = pytest.mark.usefixtures("torch_one_thread")
K = 3
L = 24


@pytest.fixture(scope="module")
def task_dir(tmp_path_factory):
    """A tiny task: test split with coordinates (one '-' row) + card + a saved random BERT."""
    from transformers import BertForSequenceClassification

    d = tmp_path_factory.mktemp("attr_task")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(7):
        seq = "".join(rng.choice(list("ACGT"), L))
        start = 100 + 10 * i  # overlapping windows on chr1
        rows.append(Example(seq, i % 2 if i < 6 else 1, "chr1", start, start + L,
                            "-" if i == 2 else "+", f"r{i}"))
    write_split(rows, d / "test.tsv.gz")
    card = dataset_card("toy", {"kind": "tfbs", "genome": "g", "k": K}, {"test": rows}, None)
    write_card(card, d / "card.json")
    torch.manual_seed(0)
    cfg = bert_config(K, "tiny", max_positions=32)
    cfg.num_labels = 2
    cfg.initializer_range = 0.3
    save_model_dir(BertForSequenceClassification(cfg), K, d / "model")
    (d / "genome.fa.fai").write_text("chr1\t1000\t6\t60\t61\nchr2\t500\t1030\t60\t61\n")
    return d


def _run(d, out, method, **kw):
    return attribute_task(d / "model", d / "test.tsv.gz", out, [method], card=d / "card.json",
                          device="cpu", **kw)[method]


@pytest.mark.parametrize("method", ["ism", "ig"])
def test_npz_contract(task_dir, tmp_path, method):
    summary = _run(task_dir, tmp_path, method, max_sequences=3, seed=2, ig_steps=64, n_shuffles=2,
                   batch_size=17)
    a = read_attribution(tmp_path / f"{method}.npz")
    df = read_split(task_dir / "test.tsv.gz")
    rows = pick_positives(df, 3, 2)
    n = 3
    assert set(a) == {"ids", "label", "prob", "onehot", "hyp", "attr", "chrom", "start", "strand"}
    assert a["ids"].tolist() == [f"test:{r}" for r in rows]
    assert a["label"].dtype == np.int64 and (a["label"] == 1).all()
    assert a["prob"].shape == (n,) and a["prob"].dtype == np.float32
    assert a["onehot"].shape == (n, L, 4) and a["onehot"].dtype == np.float32
    assert a["hyp"].shape == (n, L, 4) and a["hyp"].dtype == np.float32
    assert a["attr"].shape == (n, L) and a["attr"].dtype == np.float32
    np.testing.assert_allclose(a["attr"], (a["hyp"] * a["onehot"]).sum(-1), atol=1e-6)
    seqs = df["sequence"].iloc[rows].tolist()
    assert ["".join("ACGT"[j] for j in oh.argmax(1)) for oh in a["onehot"]] == seqs
    assert a["chrom"].tolist() == ["chr1"] * n
    assert a["start"].tolist() == df["start"].iloc[rows].astype(int).tolist()
    assert summary["n_sequences"] == n and summary["n_positives"] == 4 and summary["length"] == L
    assert json.loads((tmp_path / f"{method}.json").read_text())["method"] == method
    if method == "ig":
        assert summary["completeness_median_abs_error"] < 0.1 * summary["completeness_median_abs_gap"] + 1e-3
    else:
        np.testing.assert_allclose(a["hyp"].sum(-1), 0, atol=1e-5)


def test_subsample_is_seeded_and_bounded(task_dir):
    df = read_split(task_dir / "test.tsv.gz")
    assert pick_positives(df, None, 1).tolist() == [1, 3, 5, 6]
    a, b = pick_positives(df, 2, 5), pick_positives(df, 2, 5)
    assert a.tolist() == b.tolist() and len(a) == 2 and set(a) <= {1, 3, 5, 6}


def test_bigwig_mean_of_overlapping_windows(task_dir, tmp_path):
    import pyBigWig

    _run(task_dir, tmp_path, "ism", max_sequences=None)
    a = read_attribution(tmp_path / "ism.npz")
    info = write_bigwig(tmp_path / "ism.bw", a, read_fai(task_dir / "genome.fa.fai"))
    assert info["n_windows"] == 4
    expect: dict[int, list[float]] = {}
    for i in range(len(a["ids"])):
        v = a["attr"][i][::-1] if a["strand"][i] == "-" else a["attr"][i]
        for j, x in enumerate(v):
            expect.setdefault(int(a["start"][i]) + j, []).append(float(x))
    bw = pyBigWig.open(str(tmp_path / "ism.bw"))
    try:
        assert bw.chroms() == {"chr1": 1000, "chr2": 500}
        vals = bw.values("chr1", 0, 1000)
        for pos, xs in expect.items():
            assert vals[pos] == pytest.approx(np.mean(xs), abs=1e-5)
        assert np.isnan(vals[99]) and info["n_bases"] == len(expect)
    finally:
        bw.close()


def test_bigwig_rejects_window_past_contig_end(task_dir, tmp_path):
    _run(task_dir, tmp_path, "ism", max_sequences=1)
    a = read_attribution(tmp_path / "ism.npz")
    with pytest.raises(ValueError, match="passes the contig end"):
        write_bigwig(tmp_path / "x.bw", a, {"chr1": 110})
    with pytest.raises(ValueError, match="contig 'chr1' is not in the genome index"):
        write_bigwig(tmp_path / "x.bw", a, {"chr2": 500})
    assert not (tmp_path / "x.bw").exists()


def test_both_methods_in_one_call(task_dir, tmp_path):
    out = attribute_task(task_dir / "model", task_dir / "test.tsv.gz", tmp_path, card=task_dir / "card.json",
                         max_sequences=2, ig_steps=4, n_shuffles=1, device="cpu")
    assert set(out) == {"ism", "ig"}
    a, b = read_attribution(tmp_path / "ism.npz"), read_attribution(tmp_path / "ig.npz")
    assert a["ids"].tolist() == b["ids"].tolist() and (a["onehot"] == b["onehot"]).all()


def test_model_dir_without_task_card(task_dir, tmp_path):
    with pytest.raises(ValueError, match=r"model.*no task card: the model directory has no card.json"):
        attribute_task(task_dir / "model", task_dir / "test.tsv.gz", tmp_path, ["ism"], card=None,
                       device="cpu")
    assert not (tmp_path / "ism.npz").exists()


def test_other_bad_inputs(task_dir, tmp_path):
    args = (task_dir / "test.tsv.gz", tmp_path)
    card = task_dir / "card.json"
    with pytest.raises(ValueError, match=r"`methods` must be a non-empty list of \('ism', 'ig'\), got \['shap'\]"):
        attribute_task(task_dir / "model", *args, ["shap"], card=card)
    with pytest.raises(ValueError, match="`methods` must be a non-empty list"):
        attribute_task(task_dir / "model", *args, [], card=card)
    with pytest.raises(ValueError, match="nowhere: model directory not found"):
        attribute_task(tmp_path / "nowhere", *args, ["ism"], card=card)
    with pytest.raises(ValueError, match="cannot load a fine-tuned classifier"):
        (tmp_path / "empty").mkdir()
        attribute_task(tmp_path / "empty", *args, ["ism"], card=card)
    # positives of unequal length
    rows = [Example("ACGTACGTACGT", 1), Example("ACGTACGTACGTA", 1), Example("ACGTACGTACGT", 0)]
    write_split(rows, tmp_path / "uneq.tsv.gz")
    with pytest.raises(ValueError, match=r"uneq.tsv.gz: positives have lengths \[12, 13\]"):
        attribute_task(task_dir / "model", tmp_path / "uneq.tsv.gz", tmp_path, ["ism"], card=card)
    write_split([Example("ACGTACGTACGT", 0)], tmp_path / "neg.tsv.gz")
    with pytest.raises(ValueError, match="neg.tsv.gz: no rows with label 1"):
        attribute_task(task_dir / "model", tmp_path / "neg.tsv.gz", tmp_path, ["ism"], card=card)
    assert not (tmp_path / "ism.npz").exists()


def test_read_attribution_checks_contract(tmp_path):
    np.savez(tmp_path / "bad.npz", ids=np.array(["a"]), label=np.array([1]), prob=np.zeros(1),
             onehot=np.zeros((1, 5, 4)), hyp=np.zeros((1, 5, 4)))
    with pytest.raises(ValueError, match=r"bad.npz: missing array\(s\) \['attr'\]"):
        read_attribution(tmp_path / "bad.npz")
    np.savez(tmp_path / "bad2.npz", ids=np.array(["a"]), label=np.array([1]), prob=np.zeros(1),
             onehot=np.zeros((1, 5, 4)), hyp=np.zeros((1, 5, 4)), attr=np.zeros((1, 6)))
    with pytest.raises(ValueError, match=r"attr has shape \(1, 6\), expected \(1, 5\)"):
        read_attribution(tmp_path / "bad2.npz")
    with pytest.raises(ValueError, match="attribution file not found"):
        read_attribution(tmp_path / "none.npz")


def test_cnn_model_dir_with_its_own_card(task_dir, tmp_path):
    """A one-hot baseline saved as a standalone model dir; its card.json stands in for the task's."""
    from dnalm.baselines import build_baseline
    from dnalm.modeling import save_classifier_dir

    torch.manual_seed(1)
    card = json.loads((task_dir / "card.json").read_text())
    save_classifier_dir(build_baseline("cnn", 2), tmp_path / "cnn", k=None, labels=["0", "1"],
                        card=card, readme="toy\n", name="cnn")
    s = attribute_task(tmp_path / "cnn", task_dir / "test.tsv.gz", tmp_path, ["ig"], device="cpu",
                       ig_steps=16, n_shuffles=1)["ig"]
    assert s["model_kind"] == "onehot" and s["k"] is None
    a = read_attribution(tmp_path / "ig.npz")
    assert a["hyp"].shape == (4, L, 4) and np.abs(a["attr"]).max() > 0
