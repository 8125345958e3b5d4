"""bench.bench_tata: the TATA-box locator, the positional and GUE-scale tasks, edit effects, CIs."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from dnalm.attention import Contrast
from dnalm.dataset import read_card, read_split
from dnalm.settings import load_config

from bench.bench_tata import (
    BOX,
    box_start,
    edit_effects,
    gue_task,
    mcc_auroc_ci,
    positional_task,
    tata_claim,
)

TSS = 249  # prom300: window -249..+50
REPO = Path(__file__).resolve().parents[1]


def _background(rng: np.random.Generator, n: int = 300) -> str:
    return "".join(rng.choice(list("CG"), n))  # no T or A: no accidental TATA


def _put(seq: str, pos: int, motif: str) -> str:
    i = TSS + pos
    return seq[:i] + motif + seq[i + len(motif) :]


@pytest.mark.parametrize(("pos", "found"), [(-38, True), (-33, True), (-30, True),
                                            (-29, False), (-39, False), (-150, False)])  # fmt: skip
def test_box_start_only_in_the_core_window(pos, found):
    seq = _put(_background(np.random.default_rng(0)), pos, "TATAAAAG")
    assert box_start(seq, TSS) == (TSS + pos if found else None)


def test_box_start_needs_the_consensus():
    bg = _background(np.random.default_rng(1))
    assert box_start(_put(bg, -33, "TATAGAAG"), TSS) is None  # G breaks TATA[AT]A[AT]
    assert box_start(_put(bg, -33, "TATTAAAG"), TSS) is None
    assert box_start(_put(bg, -33, "TATATAT"), TSS) == TSS - 33


def test_positional_task_moves_only_the_box(tmp_path):
    rng = np.random.default_rng(2)
    src = tmp_path / "src"
    src.mkdir()
    for split, n in (("train", 40), ("dev", 10), ("test", 10)):
        df = pd.DataFrame(
            {"sequence": [_background(rng) for _ in range(n)], "label": [0, 1] * (n // 2)}
        )
        df.to_csv(src / f"{split}.tsv.gz", sep="\t", index=False)
    (src / "card.json").write_text(json.dumps({"kind": "promoter"}))
    dst = positional_task(src, tmp_path / "pos", TSS, seed=3)
    assert json.loads((dst / "card.json").read_text()) == {"kind": "promoter"}
    for split in ("train", "dev", "test"):
        old, new = read_split(src / f"{split}.tsv.gz"), read_split(dst / f"{split}.tsv.gz")
        assert len(new) == len(old) and new["label"].sum() == len(new) // 2
        for a, b, y in zip(old["sequence"], new["sequence"], new["label"], strict=True):
            assert len(b) == len(a) and b.count(BOX) == 1
            st = b.index(BOX)
            if y == 1:
                assert -33 <= st - TSS <= -31
            else:
                assert not -45 <= st - TSS <= -20
            assert b[:st] == a[:st] and b[st + len(BOX) :] == a[st + len(BOX) :]


class _BoxReader(torch.nn.Module):
    """A one-hot classifier (``dnalm.baselines.one_hot`` input, A C G T channels) whose class-1
    logit is 2 x the ``TATA`` starts at -33..-30 minus those elsewhere."""

    input_kind = "onehot"

    def __init__(self) -> None:
        super().__init__()
        w = torch.zeros(2, 4, 4)
        for j, b in enumerate("TATA"):
            w[1, "ACGT".index(b), j] = 1.0
        self.conv = torch.nn.Conv1d(4, 2, 4, bias=False)
        self.conv.weight.data = w

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:  # x: (B, 4, L)
        hits = (self.conv(x)[:, 1] >= 4).float()  # (B, L - 3)
        core = torch.zeros(hits.shape[1])
        core[TSS - 33 : TSS - 29] = 1.0
        logit1 = (hits * core).sum(1) * 2 - (hits * (1 - core)).sum(1)
        return torch.stack([torch.zeros_like(logit1), logit1], 1)


def test_edit_effects_of_a_box_reading_model():
    rng = np.random.default_rng(4)
    pos = [_put(_background(rng), -33, "TATAAAAG") for _ in range(6)]
    pos[:4] = [_put(s, -2, "CCAGTCC") for s in pos[:4]]  # an Inr (YYANWYY, A at +1) in 4 of 6
    neg = [_put(_background(rng), -120, "TATAAAAG") for _ in range(6)]
    test = pd.DataFrame({"sequence": pos + neg, "label": [1] * 6 + [0] * 6})
    fx = edit_effects(_BoxReader(), None, test, TSS)
    assert fx["n_box_rows"] == 6 and fx["n_negatives"] == 6
    assert fx["box_replaced"] < -1.5  # the box (worth 2) is destroyed
    assert abs(fx["random_edit"]) < 0.5
    assert fx["box_at_-33"] > 1.5 and fx["box_at_-150"] < -0.5
    assert fx["n_inr_rows"] == 4 and abs(fx["inr_replaced"]) < 0.5  # the reader ignores the Inr


def _demo_config():
    return load_config(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))


def test_gue_task_builds_prom300_tata_on_a_new_world(tmp_path):
    cfg = _demo_config()
    data = gue_task(cfg, "prom300_tata", tmp_path, scale=0.2, seed=3)
    card = read_card(data / "card.json")
    assert card.tss_offset == TSS
    rows = pd.concat([read_split(data / f"{s}.tsv.gz") for s in ("train", "dev", "test")])
    assert len(rows) > 40 and rows["label"].sum() * 2 == len(rows)  # as many negatives
    assert (rows["sequence"].str.len() == 300).all()
    boxed = rows["sequence"].map(lambda q: box_start(q.upper(), TSS) is not None)
    by_label = boxed.groupby(rows["label"]).mean()
    assert by_label[1] > 0.5 > 0.2 > by_label[0]  # planted boxes at -30 in positives only
    assert rows["sequence"].str.upper().str.contains("TATA").all()  # tata_genomic negatives
    first = (data / "card.json").stat().st_mtime_ns
    assert gue_task(cfg, "prom300_tata", tmp_path, scale=0.2, seed=3) == data
    assert (data / "card.json").stat().st_mtime_ns == first  # finished steps are kept


def test_gue_task_needs_a_promoter_task(tmp_path):
    with pytest.raises(ValueError, match=r"tasks\.tf_ctcf\.kind"):
        gue_task(_demo_config(), "tf_ctcf", tmp_path, scale=0.2)


def test_test_ci_reads_only_test_rows(tmp_path):
    y = np.array([0, 1] * 20)
    p1 = np.where(y == 1, 0.9, 0.1)
    test = pd.DataFrame({"split": "test", "label": y, "p0": 1 - p1, "p1": p1})
    dev = test.assign(split="dev", p0=p1, p1=1 - p1)  # all wrong: must not count
    pd.concat([dev, test]).to_csv(tmp_path / "predictions.tsv.gz", sep="\t", index=False)
    ci = mcc_auroc_ci(tmp_path)
    assert ci["mcc_lo"] == ci["mcc_hi"] == pytest.approx(1.0)
    assert ci["auroc_lo"] == pytest.approx(1.0)


def _contrast(x: np.ndarray, peak: int, p: float) -> Contrast:
    c = np.zeros(x.size)
    c[x == peak] = 1.0
    c[x == -28] = 0.5  # a second bump inside -35..-20
    band = np.full(x.size, 0.2)
    i = int(np.argmax(c))
    return Contrast(c, -band, band, c, np.zeros(x.size), i, 1.0, p, 10, 10, 999)


@pytest.mark.parametrize(
    ("window", "peak", "p", "holds"),
    [
        ((-249, 50), -31, 0.001, True),
        ((-249, 50), -31, 0.02, False),
        ((-249, 50), 4, 0.001, False),
        ((-34, 35), -31, 0.001, False),
    ],  # fmt: skip
)
def test_tata_claim(window, peak, p, holds):
    x = np.arange(window[0], window[1] + 1)
    out = tata_claim(x, _contrast(x, peak, p))
    assert out["peak"] == peak and out["p"] == p and out["holds"] is holds
    assert out["n_above_band"] == (2 if -35 <= peak <= -20 else 1)
    assert out["box_best"] == (peak if -35 <= peak <= -20 else -28)
    assert out["box_ratio"] == (1.0 if -35 <= peak <= -20 else 0.5)
