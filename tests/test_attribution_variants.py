"""dnalm.attribution.variant_effects: ISM read-outs agree with the variants stage's own logOR."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from dnalm.attribution import ism
from dnalm.attribution.variant_effects import ism_variant_effects
from dnalm.dataset import Example, dataset_card, write_card
from dnalm.modeling import bert_config, save_model_dir
from dnalm.seq import revcomp
from dnalm.variants.effects import classifier_delta, delta_scores

pytestmark = pytest.mark.usefixtures("torch_one_thread")
K = 3
L = 24


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import pysam
    from transformers import BertForSequenceClassification

    d = tmp_path_factory.mktemp("ism_var")
    rng = np.random.default_rng(0)
    genome = "".join(rng.choice(list("ACGT"), 200))
    (d / "g.fa").write_text(">chr1\n" + genome + "\n")
    pysam.faidx(str(d / "g.fa"))
    card = dataset_card("toy", {"kind": "tfbs", "genome": "g", "k": K},
                        {"test": [Example("A" * L, 1), Example("C" * L, 0)]}, None)
    write_card(card, d / "card.json")
    torch.manual_seed(0)
    cfg = bert_config(K, "tiny", max_positions=32)
    cfg.num_labels = 2
    cfg.initializer_range = 0.3
    model = BertForSequenceClassification(cfg).eval()
    save_model_dir(model, K, d / "model")
    comp = {"A": "T", "C": "G", "G": "C", "T": "A"}
    rows = []
    # (pos0, window start, strand, clinvar class, source)
    for pos0, start, strand, cls, src in [(15, 10, "+", "pathogenic", "clinvar"),
                                          (20, 10, "+", "benign", "both"),
                                          (60, 50, "-", "pathogenic", "clinvar"),
                                          (70, 50, "-", "benign", "clinvar"),
                                          (30, 10, "+", ".", "dbsnp")]:
        ref = genome[pos0]
        alt = "ACGT"[("ACGT".index(ref) + 1) % 4]
        fwd = genome[start : start + L]
        off = pos0 - start
        alt_w = fwd[:off] + alt + fwd[off + 1 :]
        if strand == "-":
            fwd, alt_w, off = revcomp(fwd), revcomp(alt_w), L - 1 - off
        p_ref, p_alt = classifier_delta(model, K, [fwd], [alt_w], device="cpu")
        diff, logor = delta_scores(p_ref, p_alt)
        rows.append({"contig": "chr1", "pos": pos0 + 1, "ref": ref, "alt": alt, "id": ".",
                     "source": src, "window": f"chr1:{start}-{start + L}:{strand}",
                     "window_id": "w", "offset": off, "diff": diff[0], "logOR": logor[0],
                     "zero_shot": 0.0, "score": abs(logor[0]), "clinvar_class": cls})
    rows.append({**rows[0], "ref": genome[15] + genome[16], "alt": genome[15], "pos": 16})  # indel
    pd.DataFrame(rows).to_csv(d / "scores.tsv.gz", sep="\t", index=False)
    return {"dir": d, "model": model, "genome": genome, "comp": comp}


def _run(world, tmp_path, sources="clinvar", scores=None):
    d = world["dir"]
    return ism_variant_effects(scores or d / "scores.tsv.gz", d / "g.fa", d / "model",
                               tmp_path / "v.tsv.gz", tmp_path / "v.json", card=d / "card.json",
                               sources=sources, batch_size=50, device="cpu")


def test_ism_effects_agree_with_variant_stage(world, tmp_path):
    s = _run(world, tmp_path)
    t = pd.read_csv(tmp_path / "v.tsv.gz", sep="\t")
    assert len(t) == 5 and s["n_variants"] == 5  # the dbsnp-only row is left out
    assert s["n_scored_snv"] == 4 and s["n_windows"] == 2
    snv = t[t["ism_effect"].notna()]
    np.testing.assert_allclose(snv["ism_logOR"], snv["logOR"], atol=1e-4)
    assert s["ism_logOR_vs_logOR"]["max_abs_difference"] < 1e-4
    assert t["ism_effect"].isna().sum() == 1  # the indel
    # ism_attr is the ISM map's value at the reference base, on the window's strand
    g = world["genome"]
    for _, r in snv.iterrows():
        start = int(r["window"].split(":")[1].split("-")[0])
        w = g[start : start + L]
        ref = r["ref"]
        if r["window"].endswith(":-"):
            w, ref = revcomp(w), revcomp(ref)
        m = ism(world["model"], [w], K, device="cpu")
        assert r["ism_attr"] == pytest.approx(m.hyp[0, int(r["offset"]), "ACGT".index(ref)], abs=1e-4)
        assert 0 < r["ism_effect_rank"] <= 1 and r["ism_window_max"] >= abs(r["ism_effect"]) - 1e-6
    stats = json.loads((tmp_path / "v.json").read_text())
    assert set(stats["auroc_pathogenic_vs_benign"]) == {
        "abs_ism_effect", "ism_attr", "ism_effect_rank", "abs_logOR", "abs_diff"}
    assert stats["auroc_pathogenic_vs_benign_ci"]["abs_ism_effect"]["n_pathogenic"] == 2
    assert stats["auroc_pathogenic_vs_benign"]["abs_ism_effect"] == pytest.approx(
        stats["auroc_pathogenic_vs_benign"]["abs_logOR"])


def test_all_sources_and_bad_inputs(world, tmp_path):
    assert _run(world, tmp_path, sources="all")["n_variants"] == 6
    with pytest.raises(ValueError, match="`sources` must be one of"):
        _run(world, tmp_path, sources="dbsnp")
    t = pd.read_csv(world["dir"] / "scores.tsv.gz", sep="\t")
    t.loc[0, "offset"] = int(t.loc[0, "offset"]) + 1
    t.loc[0, "ref"] = "ACGT"[("ACGT".index(world["genome"][16]) + 1) % 4]
    t.to_csv(tmp_path / "bad.tsv.gz", sep="\t", index=False)
    with pytest.raises(ValueError, match=r"chr1:16: window chr1:10-34:\+ has .* not REF"):
        _run(world, tmp_path, scores=tmp_path / "bad.tsv.gz")
    t.drop(columns=["window"]).to_csv(tmp_path / "nowin.tsv.gz", sep="\t", index=False)
    with pytest.raises(ValueError, match=r"not a variants scores table \(lacks \['window'\]\)"):
        _run(world, tmp_path, scores=tmp_path / "nowin.tsv.gz")
