"""The ``dnalm`` subcommands on GPT model directories (dnalm.gpt): ``embed`` of a GPT classifier and
a GPT language model, ``score-variants`` and ``scan`` through a GPT's class logits, the variants
stage with a GPT as ``variants.classifier``, and the refusals (``attention``, a GPT ``--lm``)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
import torch
from dnalm.cli import main
from dnalm.gpt import build_gpt, save_gpt_dir
from dnalm.gpt.classify import GptClassifier, gpt_rows
from dnalm.predict import load_model_dir, predict_proba
from dnalm.seq import revcomp
from dnalm.variants.effects import delta_scores

from tests.cli_models import random_classifier, write_genome

pytestmark = pytest.mark.usefixtures("torch_one_thread")

L = 61  # window (bp): ten 6-mers and a 1-bp tail token
POS = 32  # GPT positions: at most (32 - 4) * 6 = 168 bp
HEADER = ("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=400>\n"
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
CPU = ["--device", "cpu", "--quiet"]


def _gpt_classifier(directory: Path, window: int | None, seed: int = 1) -> Path:
    """An untrained GPT classifier saved as the workflow saves one. Its label rows are redrawn
    wide and centred on random 60-bp sequences, so that its probabilities spread with the input
    (with the initial rows every window gets nearly the same p)."""
    clf = GptClassifier(build_gpt("tiny", n_positions=POS, seed=seed), 2).eval()
    rng = np.random.default_rng(seed)
    probe = ["".join(rng.choice(list("ACGT"), 60)) for _ in range(64)]
    with torch.no_grad():
        enc = clf.encode(probe)
        h = clf.gpt.transformer(input_ids=enc["input_ids"], use_cache=False).last_hidden_state
        hq = clf.gpt.lm_head[:-1](h[torch.arange(len(probe)), enc["query_pos"]])
        w = torch.randn(2, hq.shape[1], generator=torch.Generator().manual_seed(seed))
        w *= 10 / hq.shape[1] ** 0.5
        clf.label_head.weight.copy_(w)
        clf.label_head.bias.copy_(-(hq @ w.T).mean(0))
    extra = {}
    if window is not None:
        extra["card.json"] = json.dumps({"task": "t", "kind": "tfbs", "counts": {}, "k": 6,
                                         "window_length": window})
    return clf.save_dir(directory, ["neg", "pos"], extra_files=extra)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli_gpt")
    rng = np.random.default_rng(7)
    seqs = ["".join(rng.choice(list("ACGT"), int(n))) for n in rng.integers(1, 160, size=19)]
    seqs[3] = seqs[3][:2] + "NN" + seqs[3][4:] if len(seqs[3]) > 4 else "ACNNGT"
    seqs[5] = "ACG"  # shorter than one 6-mer: one tail token
    fa = tmp / "in.fa"
    fa.write_text("".join(f">r{i}\n{s}\n" for i, s in enumerate(seqs)))
    lm = tmp / "lm"
    save_gpt_dir(build_gpt("tiny", n_positions=POS, seed=0), lm)
    clf = _gpt_classifier(tmp / "clf", L)
    chrom = {"chr1": "".join(rng.choice(list("ACGT"), 400)), "chr2": "".join(rng.choice(list("ACGT"), 150))}
    genome = write_genome(tmp, chrom)
    return {"tmp": tmp, "fa": fa, "seqs": seqs, "lm": lm, "clf": clf, "chrom": chrom,
            "genome": genome}


@torch.no_grad()
def _one_by_one(gpt, seqs: list[str], pool: str, layer: int) -> np.ndarray:
    """Each sequence alone through the GPT backbone, pooled by hand."""
    out = []
    for s in seqs:
        ids, q = gpt_rows([s], POS)
        h = gpt.transformer(input_ids=torch.from_numpy(ids), output_hidden_states=True,
                            use_cache=False).hidden_states[layer][0]
        n = int(q[0]) - 3  # 6-mer tokens at positions 1..n
        out.append(h[int(q[0])] if pool == "cls" else h[1 : n + 1].mean(0))
    return torch.stack(out).numpy()


def _embed(model: Path, fa: Path, out: Path, *extra: str) -> int:
    return main(["embed", str(model), "--fasta", str(fa), "-o", str(out), *extra, *CPU])


# ----------------------------------------------------------------------------- embed


def test_embed_gpt_classifier_is_the_input_of_its_class_head(world, tmp_path):
    """``--pool cls`` of a GPT classifier is the final hidden state at ``<B>``: the classifier's
    own heads turn it into exactly the probabilities ``dnalm predict`` reports."""
    out = tmp_path / "emb.npy"
    assert _embed(world["clf"], world["fa"], out, "--batch-size", "4") == 0
    arr = np.load(out, mmap_mode="r")
    assert arr.dtype == np.float32 and arr.shape == (len(world["seqs"]), 128)
    clf = load_model_dir(world["clf"])
    gpt = clf.model.gpt
    assert np.abs(np.asarray(arr) - _one_by_one(gpt, world["seqs"], "cls", -1)).max() < 1e-4
    with torch.no_grad():
        logits = clf.model.label_head(gpt.lm_head[:-1](torch.from_numpy(np.array(arr))))
    p_emb = torch.softmax(logits, -1).numpy()
    p = predict_proba(clf.model, world["seqs"], clf.k, batch_size=5, device="cpu")
    assert np.abs(p_emb - p).max() < 1e-4
    assert p[:, 1].std() > 0.01  # the widened head reacts to its input
    index = pd.read_csv(tmp_path / "emb.index.tsv", sep="\t")
    assert index["id"].tolist() == [f"r{i}" for i in range(len(world["seqs"]))]
    assert index["length"].tolist() == [len(s) for s in world["seqs"]]


@pytest.mark.parametrize(("pool", "layer"), [("mean", -1), ("cls", -1), ("mean", 0), ("cls", 2)])
def test_embed_gpt_lm_matches_single_passes_and_batches(world, tmp_path, pool, layer):
    """A GPT language model directory embeds too; results do not depend on the batch (causal
    attention: ``<P>`` padding never reaches a real position) and repeat exactly."""
    outs = {}
    for bs in ("1", "7", "7b"):
        outs[bs] = tmp_path / f"e{bs}.npy"
        assert _embed(world["lm"], world["fa"], outs[bs], "--pool", pool, "--layer", str(layer),
                      "--batch-size", bs.rstrip("b")) == 0  # fmt: skip
    a = np.load(outs["7"])
    assert a.shape == (len(world["seqs"]), 128) and np.isfinite(a).all()
    assert np.abs(np.load(outs["1"]) - a).max() < 1e-5
    assert np.array_equal(np.load(outs["7b"]), a)  # deterministic
    from dnalm.gpt import load_gpt_dir

    gpt = load_gpt_dir(world["lm"])[0]
    assert np.abs(a - _one_by_one(gpt, world["seqs"], pool, layer)).max() < 1e-4


def test_embed_gpt_pools_and_layers_differ(world, tmp_path):
    got = {}
    for pool, layer in (("cls", "-1"), ("mean", "-1"), ("mean", "0")):
        out = tmp_path / f"{pool}{layer}.npy"
        assert _embed(world["lm"], world["fa"], out, "--pool", pool, "--layer", layer) == 0
        got[pool, layer] = np.load(out)
    assert not np.allclose(got["cls", "-1"], got["mean", "-1"])
    assert not np.allclose(got["mean", "0"], got["mean", "-1"])


def test_embed_gpt_bad_input_names_the_limit(world, tmp_path, capsys):
    out = tmp_path / "emb.npy"
    assert _embed(world["lm"], world["fa"], out, "--layer", "5") == 2
    assert "--layer 5: this model has hidden states 0..4" in capsys.readouterr().err
    bad = tmp_path / "long.fa"
    bad.write_text(">ok\nACGTAC\n>long\n" + "A" * 169 + "\n")
    assert _embed(world["clf"], bad, out) == 2
    err = capsys.readouterr().err
    assert f"{bad}:3: record 'long' has 169 bases; embeddings take at most 168" in err
    assert "Traceback" not in err and not out.exists()


def test_embed_refuses_a_baseline(tmp_path, capsys):
    from dnalm.baselines import OneHotClassifier
    from dnalm.modeling import save_classifier_dir

    d = save_classifier_dir(OneHotClassifier(2), tmp_path / "cnn", k=None, labels=["a", "b"],
                            card={"task": "t", "kind": "tfbs", "counts": {}, "window_length": 10},
                            readme="", name="cnn")
    fa = tmp_path / "in.fa"
    fa.write_text(">a\nACGTACGTAC\n")
    assert _embed(d, fa, tmp_path / "e.npy") == 2
    assert "OneHotClassifier baseline; this subcommand needs a BERT or GPT" in capsys.readouterr().err


# ----------------------------------------------------------------------------- score-variants


def _variant_vcf(world, path: Path) -> Path:
    c = world["chrom"]["chr1"]
    g = lambda p: c[p - 1]  # noqa: E731 - 1-based genome base
    other = {b: next(x for x in "ACGT" if x != b) for b in "ACGT"}
    third = {b: next(x for x in "ACGT" if x not in (b, other[b])) for b in "ACGT"}
    recs = [
        f"chr1\t100\tsnv\t{g(100)}\t{other[g(100)]}\t.\t.\t.",
        f"chr1\t140\tsame\t{g(140)}\t{g(140)}\t.\t.\t.",  # ALT = REF: no_change, not scored
        f"chr1\t180\tins\t{g(180)}\t{g(180)}TTT\t.\t.\t.",
        f"chr1\t220\tdel\t{g(220)}{g(221)}{g(222)}\t{g(220)}\t.\t.\t.",
        f"chr1\t260\tmulti\t{g(260)}\t{other[g(260)]},{third[g(260)]}\t.\t.\t.",
        f"chr1\t300\tbadref\t{other[g(300)]}\tT\t.\t.\t.",
        "chr1\t310\tsym\tA\t<DEL>\t.\t.\tSVTYPE=DEL",
        f"chr1\t398\tend\t{g(398)}\t{other[g(398)]}\t.\t.\t.",  # padded window at the contig end
    ]
    path.write_text(HEADER + "".join(r + "\n" for r in recs))
    return path


def test_score_variants_with_a_gpt_classifier(world, tmp_path):
    """Same outputs as for BERT/CNN; p_ref/p_alt are the GPT's probabilities of the windows the
    command builds (checked against a hand-built SNV window), diff/logOR DNABERT's formulas,
    and ALT = REF scores exactly 0."""
    vcf = _variant_vcf(world, tmp_path / "in.vcf")
    out = tmp_path / "scored"
    argv = ["score-variants", str(world["clf"]), "--vcf", str(vcf), "--genome", str(world["genome"]),
            "-o", str(out), *CPU]  # fmt: skip
    assert main([*argv, "--batch-size", "3"]) == 0
    tsv = pd.read_csv(f"{out}.tsv", sep="\t", keep_default_na=False, na_values=["."])
    summary = json.loads(Path(f"{out}.json").read_text())
    assert summary["counts"] == {"scored": 6, "ref_mismatch": 1, "symbolic": 1, "no_change": 1,
                                 "unknown_contig": 0, "outside_contig": 0, "n_window": 0}
    scored = tsv[tsv["status"] == "scored"].set_index("id", drop=False)
    assert sorted(set(scored["kind"])) == ["del", "ins", "snv"]
    assert scored[["p_ref", "p_alt", "diff", "logOR"]].notna().all().all()
    assert tsv.loc[tsv["status"] != "scored", "p_ref"].isna().all()
    assert tsv.set_index("id").loc["same", "status"] == "no_change"
    diff, logor = delta_scores(scored["p_ref"].to_numpy(), scored["p_alt"].to_numpy())
    assert np.abs(diff - scored["diff"].to_numpy()).max() < 1e-6
    # (p is written with 8 significant digits: 1 - p, and so logOR, has fewer near p = 1)
    assert np.abs(logor - scored["logOR"].to_numpy()).max() < 1e-2
    # the SNV's windows by hand: REF at L // 2
    c = world["chrom"]["chr1"]
    ref_w = c[99 - L // 2 : 99 - L // 2 + L]
    snv = scored.loc["snv"]
    alt_w = ref_w[: L // 2] + snv["alt"] + ref_w[L // 2 + 1 :]
    clf = load_model_dir(world["clf"])
    p = predict_proba(clf.model, [ref_w, alt_w], clf.k, device="cpu")[:, 1]
    assert abs(p[0] - snv["p_ref"]) < 1e-5 and abs(p[1] - snv["p_alt"]) < 1e-5
    assert (scored["p_ref"] != scored["p_alt"]).sum() == 6  # the GPT reacts to every change
    # INFO fields in the VCF
    with gzip.open(f"{out}.vcf.gz", "rt") as fh:
        lines = [ln for ln in fh if ln.startswith("chr1\t100\t")]
    assert "DNALM_LOGOR=" in lines[0]
    # the batch size does not change the scores
    out1 = tmp_path / "scored1"
    assert main([*argv[:-5], "-o", str(out1), *CPU, "--batch-size", "16"]) == 0
    t1 = pd.read_csv(f"{out1}.tsv", sep="\t", keep_default_na=False, na_values=["."])
    assert np.nanmax(np.abs(t1["p_ref"].to_numpy(float) - tsv["p_ref"].to_numpy(float))) < 1e-5


def test_score_variants_gpt_refusals(world, tmp_path, capsys):
    vcf = _variant_vcf(world, tmp_path / "in.vcf")
    base = ["--vcf", str(vcf), "--genome", str(world["genome"]), "-o", str(tmp_path / "o"), *CPU]
    # a GPT language model cannot give the zero-shot LLR (it masks and reads both flanks)
    assert main(["score-variants", str(world["clf"]), "--lm", str(world["lm"]), *base]) == 2
    err = capsys.readouterr().err
    assert f"--lm {world['lm']}: is a GPT language model" in err and "BERT masked" in err
    # a GPT language model is not a classifier
    assert main(["score-variants", str(world["lm"]), "--window", "30", *base]) == 2
    assert "not a fine-tuned classifier" in capsys.readouterr().err
    # a window longer than the GPT's positions
    long = _gpt_classifier(tmp_path / "long", 200)
    assert main(["score-variants", str(long), *base]) == 2
    assert "the 200-bp window is longer than this model takes (168 bp)" in capsys.readouterr().err
    assert not list(tmp_path.glob("o.*"))


# ----------------------------------------------------------------------------- scan, attention


def test_scan_with_a_gpt_classifier(world, tmp_path):
    """``scan`` is prediction over windows: a window's track value is the GPT's probability,
    the larger of both strands."""
    out = tmp_path / "scan"
    assert main(["scan", str(world["clf"]), "--genome", str(world["genome"]), "--contigs", "chr2",
                 "--stride", "20", "--no-bigwig", "-o", str(out), *CPU]) == 0  # fmt: skip
    bg = pd.read_csv(f"{out}.bedGraph", sep="\t", header=None, names=["c", "s", "e", "p"],
                     comment="t")
    starts = list(range(0, 150 - L + 1, 20))
    assert len(bg) == len(starts)
    c = world["chrom"]["chr2"]
    wins = [c[s : s + L] for s in starts]
    clf = load_model_dir(world["clf"])
    p = predict_proba(clf.model, wins + [revcomp(w) for w in wins], clf.k, device="cpu")[:, 1]
    want = np.maximum(p[: len(wins)], p[len(wins) :])
    assert np.abs(bg["p"].to_numpy() - want).max() < 1e-5
    assert json.loads(Path(f"{out}.json").read_text())["n_windows"] == len(starts)


def test_attention_refuses_a_gpt_with_the_reason(world, tmp_path, capsys):
    out = tmp_path / "att.npz"
    assert main(["attention", str(world["clf"]), "--fasta", str(world["fa"]), "-o", str(out),
                 *CPU]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "is a GPT classifier" in err and "[CLS]" in err and "causal" in err
    assert not out.exists()


# ----------------------------------------------------------------------------- variants stage


def test_variants_stage_scores_with_a_gpt_classifier(world, tmp_path):
    """The workflow's variants stage (dnalm.variants) with a GPT as ``variants.classifier``:
    the scores are the GPT's probabilities of the positive windows holding each variant."""
    from dnalm import variants as V
    from dnalm.dataset import Example, dataset_card, write_card, write_split

    c = world["chrom"]["chr1"]
    starts = (40, 200)  # positive windows on chr1 (+)
    rows = [Example(c[s : s + L], 1, "chr1", s, s + L, "+", f"peak:{i}") for i, s in enumerate(starts)]
    rows.append(Example(c[320 : 320 + L], 0, "chr1", 320, 320 + L, "+", "neg:0"))
    ds = [write_split(rows, tmp_path / f"{split}.tsv.gz") for split in ("train", "dev", "test")]
    card = write_card(dataset_card("t", {"kind": "tfbs", "genome": "g", "k": 6},
                                   dict.fromkeys(("train", "dev", "test"), rows), None),
                      tmp_path / "card.json")  # fmt: skip
    bed = tmp_path / "regions.bed"
    bed.write_text("chr1\t55\t75\tr:0\t800\t+\nchr1\t215\t235\tr:1\t700\t+\n")
    g = lambda p: c[p - 1]  # noqa: E731
    other = {b: next(x for x in "ACGT" if x != b) for b in "ACGT"}
    dbsnp = tmp_path / "dbsnp.vcf"
    dbsnp.write_text("##fileformat=VCFv4.1\n##contig=<ID=chr1,length=400>\n"
                     "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                     + "".join(f"chr1\t{p}\trs{p}\t{g(p)}\t{other[g(p)]}\t.\t.\t.\n"
                               for p in (60, 65, 70, 220, 230)))  # fmt: skip
    gz = tmp_path / "dbsnp.vcf.gz"
    pysam.tabix_compress(str(dbsnp), str(gz), force=True)
    pysam.tabix_index(str(gz), preset="vcf", force=True)
    d = tmp_path / "run"
    outs = {"scores": d / "scores.tsv.gz", "clinvar": d / "clinvar.tsv", "summary": d / "summary.json",
            "fig_scores": d / "scores.png", "fig_top": d / "top.png", "fig_maps": d / "maps.png",
            "null": d / "null.tsv.gz"}  # fmt: skip
    V.score_variants(world["genome"], bed, ds, card, world["clf"], outs, dbsnp_vcf=gz,
                     batch_size=8, null_size=40, top_mutation_maps=2, seed=1, device="cpu")
    df = pd.read_csv(outs["scores"], sep="\t")
    assert len(df) == 5 and df[["p_ref", "p_alt", "logOR"]].notna().all().all()
    clf = load_model_dir(world["clf"])
    for r in df.to_dict("records"):
        s = next(s for s in starts if s < r["pos"] <= s + L)
        ref_w = c[s : s + L]
        off = r["pos"] - 1 - s
        alt_w = ref_w[:off] + r["alt"] + ref_w[off + 1 :]
        p = predict_proba(clf.model, [ref_w, alt_w], clf.k, device="cpu")[:, 1]
        assert abs(p[0] - r["p_ref"]) < 1e-5 and abs(p[1] - r["p_alt"]) < 1e-5
    assert outs["fig_maps"].is_file() and outs["summary"].is_file()


def _gpt_cfg(**extra):
    from dnalm.settings import load_config

    return load_config({
        "genomes": {"g": {"fasta": {"url": "g.fa"}}},
        "annotations": {"g": {"clinvar": {"url": "x"}, "peaks": {"e": {"url": "e.bed"}}}},
        "language_models": {"lm": {"genome": "g", "preset": "p"},
                            "gpt": {"genome": "g", "arch": "gpt", "size": "tiny", "preset": "p"}},
        "pretrain_presets": {"p": {"steps": 1, "batch_size": 1, "lr": 1e-3}},
        "tasks": {"t": {"genome": "g", "kind": "tfbs", "experiment": "e"}},
        "finetune": {"models": ["lm", "gpt"]},
        "attention": {"tasks": ["t"], "model": "lm"},
        "variants": {"tasks": ["t"], "model": "lm", "classifier": "gpt"},
        **extra,
    })  # fmt: skip


def test_config_accepts_gpt_models_and_refuses_a_gpt_zero_shot_lm():
    """``variants.classifier`` may name a GPT fine-tuned on the task (its model dir is the input),
    ``embed`` a GPT language model and ``score`` a GPT run; a GPT as ``score.<name>.lm`` is a
    config error naming the key."""
    from dnalm import paths
    from dnalm.settings import ConfigError

    run = {"model": "t/gpt/seed1", "genome": "g", "vcf": "data/x.vcf.gz"}
    cfg = _gpt_cfg(embed={"e": {"model": "gpt", "fasta": "data/x.fa"}}, score={"s": run})
    assert paths.variant_model_inputs(cfg, "t", "lm")["classifier"] == "results/finetune/t/gpt/seed1/model"
    _gpt_cfg(score={"s": {**run, "lm": "lm"}})
    with pytest.raises(ConfigError, match="score.s.lm") as e:
        _gpt_cfg(score={"s": {**run, "lm": "gpt"}})
    assert "is a GPT language model" in str(e.value) and "BERT masked" in str(e.value)


def test_bert_classifier_still_embeds_after_gpt_support(tmp_path):
    """The BERT path is unchanged by the GPT branch: a BERT classifier still embeds."""
    d = random_classifier(tmp_path / "bert", k=3, window=None)
    fa = tmp_path / "in.fa"
    fa.write_text(">a\nACGTACGTACGT\n>b\nTTTTGGGGCC\n")
    assert _embed(d, fa, tmp_path / "e.npy", "--pool", "mean") == 0
    assert np.load(tmp_path / "e.npy").shape == (2, 32)
