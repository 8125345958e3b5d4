"""bench.bench_benefit_why: the weight-control LM copies and the planted-motif masked-base probe."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from dnalm.dataset import Example, write_split
from dnalm.modeling import build_mlm, save_model_dir
from safetensors.torch import load_file

from bench.bench_benefit_why import control_lm, motif_base_logp

K = 6


@pytest.fixture
def lm_dir(tmp_path):
    model = build_mlm(K, "tiny", max_positions=64, seed=0)
    with torch.no_grad():  # a "pretrained" scale: 5x the init's
        for name, p in model.named_parameters():
            if p.ndim >= 2:
                p.mul_(5.0)
            elif "LayerNorm" in name:
                p.add_(0.3)
    save_model_dir(model, K, tmp_path / "lm")
    return tmp_path / "lm"


def test_rescaled_copy_has_init_scale_and_keeps_the_rest(lm_dir, tmp_path):
    out = control_lm(lm_dir, tmp_path / "rescaled", "rescaled", init_std=0.02)
    old, new = (
        load_file(str(lm_dir / "model.safetensors")),
        load_file(str(out / "model.safetensors")),
    )
    assert old.keys() == new.keys()
    n_scaled = 0
    for name, t in new.items():
        if t.ndim >= 2 and "LayerNorm" not in name:
            assert float(t.std()) == pytest.approx(0.02, rel=1e-4)
            cos = torch.nn.functional.cosine_similarity(t.flatten(), old[name].flatten(), dim=0)
            assert float(cos) == pytest.approx(1.0, abs=1e-5)  # direction kept
            n_scaled += 1
        else:
            torch.testing.assert_close(t, old[name])
    assert n_scaled > 5
    assert (out / "vocab.txt").read_text() == (lm_dir / "vocab.txt").read_text()


def test_shuffled_copy_keeps_values_not_positions(lm_dir, tmp_path):
    out = control_lm(lm_dir, tmp_path / "shuffled", "shuffled", init_std=0.02)
    old, new = (
        load_file(str(lm_dir / "model.safetensors")),
        load_file(str(out / "model.safetensors")),
    )
    emb = next(n for n in new if n.endswith("word_embeddings.weight"))
    torch.testing.assert_close(new[emb].flatten().sort().values, old[emb].flatten().sort().values)
    assert not torch.equal(new[emb], old[emb])
    ln = next(n for n in new if "LayerNorm" in n)
    torch.testing.assert_close(new[ln], old[ln])
    with pytest.raises(ValueError, match="rescaled or shuffled"):
        control_lm(lm_dir, tmp_path / "x", "zeroed", init_std=0.02)


def test_motif_probe_splits_bases_and_is_uniform_for_an_untrained_lm(tmp_path):
    lm = tmp_path / "lm"
    save_model_dir(build_mlm(K, "tiny", max_positions=64, seed=0), K, lm)
    rng = np.random.default_rng(0)
    L = 40
    rows = [Example("".join(rng.choice(list("ACGT"), L)), lab, "chr1", 1000 * i, 1000 * i + L, "+", f"r{i}")
            for i, lab in enumerate([1, 1, 0])]  # fmt: skip
    write_split(rows, tmp_path / "test.tsv.gz")
    pd.DataFrame({"kind": ["motif", "motif", "motif"], "name": ["M", "M", "Other"],
                  "contig": ["chr1"] * 3, "start": [10, 1018, 20], "end": [20, 1028, 30],
                  "strand": ["+"] * 3, "feature": ["a", "b", "c"]}).to_csv(
        tmp_path / "positions.tsv", sep="\t", index=False)  # fmt: skip
    lp = motif_base_logp(lm, tmp_path / "test.tsv.gz", tmp_path / "positions.tsv", "M")
    probed = 2 * (L - 2 * (K - 1))  # two positives, bases K-1 .. L-K
    assert len(lp["inside"]) == 20  # 10 bases of each planted M site (the Other site is outside)
    assert len(lp["inside"]) + len(lp["outside"]) == probed
    both = np.concatenate([lp["inside"], lp["outside"]])
    assert np.all(both < 0)
    assert abs(both.mean() - math.log(0.25)) < 0.05  # random init: P(base) ~ 1/4
