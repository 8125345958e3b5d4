"""dnalm.variants: formulas (effects), windows at chromosome ends and selection counts (select),
zero-shot LLR (effects), the dataset-card contract, and the whole scatter/gather run (shard,
gather, plots) on a tiny genome with tiny random models."""

import gzip
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
import torch
from dnalm import kmers
from dnalm import variants as V
from dnalm import vcf as dvcf
from dnalm.dataset import Example, dataset_card, write_card, write_split
from dnalm.predict import load_classifier, predict_proba
from dnalm.seq import revcomp
from dnalm.stats import bh_adjust
from dnalm.variants import select as S

K = 3
L = 21
POSITIVES = [("chr1", 50, "+"), ("chr1", 150, "-"), ("chr2", 179, "+")]
pytestmark = pytest.mark.usefixtures("torch_one_thread")


# ----------------------------------------------------------------------------- fixtures


def _genome(tmp: Path) -> tuple[Path, dict[str, str]]:
    rng = np.random.default_rng(3)
    seqs = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in (("chr1", 300), ("chr2", 200))}
    seqs["chr1"] = seqs["chr1"][:100] + seqs["chr1"][100:110].lower() + seqs["chr1"][110:]
    plain = tmp / "genome.fa"
    plain.write_text("".join(f">{c}\n{s}\n" for c, s in seqs.items()))
    gz = tmp / "genome.fa.gz"
    pysam.tabix_compress(str(plain), str(gz), force=True)
    pysam.faidx(str(gz))
    return gz, {c: s.upper() for c, s in seqs.items()}


def _models(tmp: Path) -> tuple[Path, Path]:
    from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification

    cfg = BertConfig(vocab_size=kmers.vocab_size(K), hidden_size=16, num_hidden_layers=1,
                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=64,
                     num_labels=2)
    torch.manual_seed(0)
    clf_dir, lm_dir = tmp / "clf", tmp / "lm"
    # a wide init makes the random classifier's output depend on its input (with the default
    # 0.02 every window gets p ~ 0.499, and window choice would be untestable)
    BertForSequenceClassification(BertConfig(**{**cfg.to_dict(), "initializer_range": 0.5})
                                  ).save_pretrained(clf_dir)
    BertForMaskedLM(cfg).save_pretrained(lm_dir)
    for d in (clf_dir, lm_dir):
        kmers.write_tokenizer_files(d, K)
    return clf_dir, lm_dir


def _vcf(tmp: Path, name: str, header_extra: str, records: list[str]) -> Path:
    text = ("##fileformat=VCFv4.1\n##contig=<ID=chr1,length=300>\n##contig=<ID=chr2,length=200>\n"
            + header_extra + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
            + "".join(r + "\n" for r in records))
    plain = tmp / f"{name}.vcf"
    plain.write_text(text)
    out = tmp / f"{name}.vcf.gz"
    pysam.tabix_compress(str(plain), str(out), force=True)
    pysam.tabix_index(str(out), preset="vcf", force=True)
    return out


CLN_HEADER = (
    '##INFO=<ID=CLNSIG,Number=.,Type=String,Description="sig">\n'
    '##INFO=<ID=CLNREVSTAT,Number=.,Type=String,Description="rev">\n'
    '##INFO=<ID=CLNDN,Number=.,Type=String,Description="dn">\n'
    '##INFO=<ID=GENEINFO,Number=1,Type=String,Description="gene">\n'
    '##INFO=<ID=RS,Number=.,Type=String,Description="rs">\n'
)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("varworld")
    fa, seqs = _genome(tmp)
    clf_dir, lm_dir = _models(tmp)
    # positive windows: chr1:50-71 (+), chr1:150-171 (-), chr2:179-200 (+, touches the end)
    rows = []
    for i, (c, s, st, lab) in enumerate([*((c, s, st, 1) for c, s, st in POSITIVES),
                                         ("chr2", 20, "+", 0)]):
        w = seqs[c][s:s + L]
        rows.append(Example(w if st != "-" else revcomp(w), lab, c, s, s + L, st, f"peak:{i}"))
    rows.append(Example("ACGT" * 5 + "A", 0, source_id="neg:0"))
    splits = {split: rows if split == "test" else rows[:2] for split in ("train", "dev", "test")}
    ds = [write_split(splits[split], tmp / f"{split}.tsv.gz") for split in ("train", "dev", "test")]
    card = write_card(dataset_card("t", {"kind": "tfbs", "genome": "g", "k": K}, splits, None),
                      tmp / "card.json")
    bed = tmp / "regions.bed"
    bed.write_text("chr1\t55\t65\ttest:0\t800\t+\nchr1\t155\t168\ttest:1\t700\t-\n"
                   "chr2\t185\t200\ttest:2\t600\t+\n")
    g = lambda c, p: seqs[c][p - 1]  # noqa: E731 - 1-based genome base
    wrong = "A" if g("chr1", 60) != "A" else "C"
    dbsnp = _vcf(tmp, "dbsnp", "", [
        f"chr1\t57\trs1\t{g('chr1', 57)}\t{'T' if g('chr1', 57) != 'T' else 'G'}\t.\t.\t.",
        f"chr1\t58\trs2\t{g('chr1', 58)}\t{','.join(b for b in 'ACGT' if b != g('chr1', 58))}\t.\t.\t.",
        f"chr1\t59\trs3\t{g('chr1', 59)}\t{g('chr1', 59)}AA\t.\t.\t.",  # insertion: skipped
        f"chr1\t60\trs4\t{wrong}\tG\t.\t.\t.",  # REF mismatch
        f"chr1\t120\trs5\t{g('chr1', 120)}\tN\t.\t.\t.",  # outside regions
        f"chr1\t160\trs6\t{g('chr1', 160)}\t{'A' if g('chr1', 160) != 'A' else 'C'}\t.\t.\t.",
        f"chr2\t199\trs7\t{g('chr2', 199)}\t{'A' if g('chr2', 199) != 'A' else 'C'}\t.\t.\t.",
    ])
    other = {b: next(x for x in "ACGT" if x != b) for b in "ACGT"}
    clin = [
        (52, "Benign", "reviewed_by_expert_panel"),
        (57, "Pathogenic", "criteria_provided,_multiple_submitters,_no_conflicts"),
        (62, "Likely_pathogenic", "criteria_provided,_single_submitter"),
        (68, "Conflicting_classifications_of_pathogenicity",
         "criteria_provided,_conflicting_classifications"),
    ]
    crec = [f"chr1\t{p}\t{100 + p}\t{g('chr1', p)}\t{other[g('chr1', p)] if p != 57 else ('T' if g('chr1', 57) != 'T' else 'G')}"
            f"\t.\t.\tCLNSIG={s};CLNREVSTAT={r};CLNDN=Some_disease,_type_1;GENEINFO=GENE1:1;RS={p}"
            for p, s, r in clin]
    crec.append(f"chr1\t165\t9\t{g('chr1', 165)}\t{other[g('chr1', 165)]}\t.\t.\tCLNSIG=Likely_benign;"
                "CLNREVSTAT=criteria_provided,_single_submitter")
    crec.append(f"chr2\t30\t11\t{g('chr2', 30)}\t{other[g('chr2', 30)]}\t.\t.\tCLNSIG=Pathogenic")  # negative window only
    crec.append(f"chr2\t200\t10\t{g('chr2', 200)}\t{other[g('chr2', 200)]}\t.\t.\tCLNSIG=Benign/Likely_benign")
    clinvar = _vcf(tmp, "clinvar", CLN_HEADER, crec)
    return {"tmp": tmp, "fa": fa, "seqs": seqs, "clf": clf_dir, "lm": lm_dir, "ds": ds,
            "card": card, "bed": bed, "dbsnp": dbsnp, "clinvar": clinvar}


def _outputs(d: Path) -> dict:
    return {"scores": d / "scores.tsv.gz", "clinvar": d / "clinvar.tsv",
            "summary": d / "summary.json", "fig_scores": d / "scores.png",
            "fig_top": d / "top.png", "fig_maps": d / "maps.png", "null": d / "null.tsv.gz"}


def _run(world, out: Path, regions_bed=None, **kw):
    # what vcf_normalise wrote for the ClinVar source (dbSNP's counts file is absent: skipped)
    nc = world["tmp"] / "clinvar.normalise.json"
    nc.write_text(json.dumps({"records_dropped": 3, "dropped_contigs": {"NW_1": 1},
                              "dropped": {"unknown_contig": 1, "no_alt": 2, "symbolic_alt": 0}}))
    args = dict(dbsnp_vcf=world["dbsnp"], clinvar_vcf=world["clinvar"], lm_dir=world["lm"],
                batch_size=8, null_size=40, top_mutation_maps=2, seed=1, device="cpu",
                normalise_counts={"clinvar": nc, "dbsnp": world["tmp"] / "absent.json"})
    args.update(kw)
    outs = _outputs(out)
    s = V.score_variants(world["fa"], regions_bed or world["bed"], world["ds"], world["card"],
                         world["clf"], outs, **args)
    return s, outs


@pytest.fixture(scope="module")
def run(world):
    return _run(world, world["tmp"] / "run")


# ----------------------------------------------------------------------------- effects + gather: formulas


def test_dnabert_formula_reference_values():
    diff, logor = V.delta_scores(np.array([0.9]), np.array([0.5]))
    assert diff[0] == pytest.approx(-0.36)
    assert logor[0] == pytest.approx(3.1699, abs=1e-4)
    diff, logor = V.delta_scores(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    assert np.isfinite(logor).all() and logor[0] > 0 > logor[1]


def test_empirical_pvalues():
    null = np.arange(1, 10, dtype=float)  # 1..9
    p = V.empirical_pvalues(np.array([9.5, 9.0, 0.0]), null)
    np.testing.assert_allclose(p, [1 / 10, 2 / 10, 10 / 10])
    assert np.isnan(V.empirical_pvalues(np.array([1.0]), np.array([]))).all()


def test_window_padding_at_chromosome_ends(world):
    fa = pysam.FastaFile(str(world["fa"]))
    s = world["seqs"]["chr2"]
    w, off = V.genome_window(fa, "chr2", 2, L, 200)
    assert off == L // 2 and len(w) == L
    assert w == "N" * 8 + s[:13] and w[off] == s[2]
    w, off = V.genome_window(fa, "chr2", 199, L, 200)
    assert w == s[189:] + "N" * 10 and w[off] == s[199]
    lengths = {"chr1": 300, "chr2": 200}
    assert V.window_sequence(fa, lengths, "chr2:189-210:-") == revcomp(s[189:] + "N" * 10)
    assert V.window_sequence(fa, lengths, "chr2:-8-13:.") == "N" * 8 + s[:13]
    with pytest.raises(ValueError, match="bad window"):
        V.window_sequence(fa, lengths, "chr2:5-26")
    w, _ = V.genome_window(fa, "chr1", 105, L, 300)  # soft-masked bases are upper-cased
    assert w == world["seqs"]["chr1"][95:116] and w.isupper()
    # an N-padded window tokenizes with [UNK] for every k-mer touching the padding
    ids = kmers.encode(V.genome_window(fa, "chr2", 199, L, 200)[0], K)
    assert (ids[-10:] == kmers.UNK_ID).all() and (ids[:L - 10 - K + 1] != kmers.UNK_ID).all()


# ----------------------------------------------------------------------------- select: alleles


def test_select_counts_multiallelic_indels_and_ref_mismatch(world, caplog):
    fa = pysam.FastaFile(str(world["fa"]))
    lengths = dict(zip(fa.references, fa.lengths, strict=True))
    counts = S.new_counts()
    with caplog.at_level(logging.WARNING, logger="dnalm.variants"), \
            dvcf.open_vcf(world["dbsnp"]) as vf:
        sel = V.select_alleles(vf, V.read_bed(world["bed"]), fa, lengths, counts, source="dbsnp")
    assert counts["multiallelic_records"] == 1 and counts["multiallelic_splits"] == 3
    assert counts["indels_skipped"] == 1
    assert counts["ref_mismatch"] == 1 and "chr1:60" in counts["ref_mismatch_examples"][0]
    assert "REF mismatch" in caplog.text
    assert sorted({k[1] for k in sel}) == [57, 58, 160, 199]
    assert len(sel) == 6  # rs1, three rs2 alleles, rs6, rs7 (rs5 lies outside the regions)
    for (c, p, r, _), _iv in sel.items():
        assert world["seqs"][c][p - 1] == r


# ----------------------------------------------------------------------------- effects: zero-shot


def test_zero_shot_matches_bruteforce_and_is_antisymmetric(world):
    from transformers import BertForMaskedLM

    mlm = BertForMaskedLM.from_pretrained(str(world["lm"])).eval()
    s = world["seqs"]["chr1"]
    wins = [s[40:61], s[100:121], s[200:221]]
    offs = [10, 10, 10]
    refs = [w[10] for w in wins]
    alts = ["A" if r != "A" else "G" for r in refs]
    llr = V.zero_shot_llr(mlm, K, wins, offs, refs, alts, batch_size=2, device="cpu")
    assert np.allclose(llr, V.zero_shot_llr(mlm, K, wins, offs, refs, alts, batch_size=3,
                                            device="cpu"), atol=1e-5)

    # brute force with the full MLM head, one window and strand at a time
    def one(w, c, r, a):
        ids = kmers.encode(w, K, add_special=True)
        alt_ids = kmers.encode(w[:c] + a + w[c + 1:], K, add_special=True)
        pos = [j + 1 for j in range(c - K + 1, c + 1)]
        m = ids.copy()
        m[pos] = kmers.MASK_ID
        with torch.no_grad():
            lp = torch.log_softmax(mlm(input_ids=torch.tensor(m[None])).logits[0], -1).numpy()
        return np.mean([lp[p, alt_ids[p]] - lp[p, ids[p]] for p in pos])

    for i, w in enumerate(wins):
        f = one(w, 10, refs[i], alts[i])
        rv = one(revcomp(w), L - 1 - 10, revcomp(refs[i]), revcomp(alts[i]))
        assert llr[i] == pytest.approx((f + rv) / 2, abs=1e-4)
    # swapping ref and alt (scored on the alt window) flips the sign exactly
    alt_wins = [w[:10] + a + w[11:] for w, a in zip(wins, alts, strict=True)]
    back = V.zero_shot_llr(mlm, K, alt_wins, offs, alts, refs, batch_size=2, device="cpu")
    np.testing.assert_allclose(back, -llr, atol=1e-5)
    with pytest.raises(ValueError, match="refs"):
        V.zero_shot_llr(mlm, K, wins[:1], [10], [alts[0]], [refs[0]], device="cpu")


# ----------------------------------------------------------------------------- gather: full run


def test_run_outputs_and_consistency(world, run):
    summary, outs = run
    for p in outs.values():
        assert p.is_file() and p.stat().st_size > 0
    df = pd.read_csv(outs["scores"], sep="\t")
    assert list(df.columns) == V.SCORE_COLUMNS
    # dbSNP 6 alleles + ClinVar 62, 52, 68, 165, 200 (57 shared, chr2:30 only in a negative window)
    assert len(df) == 11
    assert summary["counts"]["dbsnp"]["ref_mismatch"] == 1
    assert summary["counts"]["dbsnp"]["indels_skipped"] == 1
    assert summary["counts"]["dbsnp"]["multiallelic_splits"] == 3
    assert (df["score"].diff().dropna() <= 0).all()  # sorted by the ranking score
    np.testing.assert_allclose(df["score"], np.abs(df["logOR"]), rtol=1e-5)
    assert df["zero_shot"].notna().all()
    assert ((df["pvalue"] > 0) & (df["pvalue"] <= 1)).all() and (df["qvalue"] >= df["pvalue"] - 1e-12).all()
    np.testing.assert_allclose(df["qvalue"], bh_adjust(df["pvalue"].to_numpy()), rtol=1e-5)  # BH over all
    # region context: p_ref/p_alt equal a direct prediction of the containing positive window
    # (written out by hand here: every fixture variant lies in exactly one positive window)
    assert summary["context"] == "region" and summary["centred_fallback"] == 0
    clf, k = load_classifier(world["clf"])
    for r in df.itertuples():
        s, st = next((s, st) for c, s, st in POSITIVES if c == r.contig and s <= r.pos - 1 < s + L)
        w = world["seqs"][r.contig][s:s + L]
        off = r.pos - 1 - s
        aw = w[:off] + r.alt + w[off + 1:]
        if st == "-":
            w, aw, off = revcomp(w), revcomp(aw), L - 1 - off
        assert (r.window, r.strand, r.offset) == (f"{r.contig}:{s}-{s + L}:{st}", st, off)
        p = predict_proba(clf, [w, aw], k, device="cpu")[:, 1]
        assert (r.p_ref, r.p_alt) == pytest.approx(tuple(p), abs=1e-5)
    assert df["p_ref"].nunique() > 1  # the classifier does look at the window
    row = df[(df.contig == "chr1") & (df.pos == 160)].iloc[0]
    assert row.strand == "-" and row.source == "dbsnp" and row.in_attention
    end = df[(df.contig == "chr2") & (df.pos == 200)].iloc[0]  # last base of chr2
    assert end.source == "clinvar" and end.in_attention and np.isfinite(end.score)


def test_run_clinvar_table(run):
    summary, outs = run
    c = pd.read_csv(outs["clinvar"], sep="\t")
    assert list(c.columns) == V.CLINVAR_COLUMNS
    assert len(c) == 6
    r57 = c[c.pos == 57].iloc[0]
    assert r57.in_dbsnp and r57.in_attention and r57.clinvar_class == "pathogenic"
    assert r57.CLNREVSTAT == "criteria_provided,_multiple_submitters,_no_conflicts" and r57.stars == 2
    assert r57.CLNDN == "Some_disease,_type_1" and r57.rsid == "rs57"
    r52 = c[c.pos == 52].iloc[0]
    assert not r52.in_attention and not r52.in_dbsnp and r52.stars == 3
    assert c[c.pos == 68].iloc[0].clinvar_class == "conflicting"
    assert summary["clinvar_classes"]["pathogenic"] == 2
    assert summary["clinvar_classes"]["benign"] == 3
    a = summary["auroc_pathogenic_vs_benign"]["score"]
    assert a is not None and 0.0 <= a <= 1.0
    t = summary["enrichment"]["table"]
    assert sum(t.values()) == 5 and summary["enrichment"]["fisher_pvalue"] is not None


def test_null_table_holds_the_scored_random_snvs(world, run):
    """null.tsv.gz: the null_size random SNVs, each in a positive window at its offset, with
    the classifier's p_ref/p_alt, DNABERT's logOR and its own p-value against the whole null;
    what the summary's null_rate_p05 counts."""
    summary, outs = run
    n = pd.read_csv(outs["null"], sep="\t")
    assert list(n.columns) == V.NULL_COLUMNS and len(n) == 40
    clf, k = load_classifier(world["clf"])
    for r in n.head(6).itertuples():
        contig, span, st = r.window.split(":")
        s = int(span.split("-")[0])
        w = world["seqs"][contig][s:s + L]
        assert w[r.pos - 1 - s] == r.ref and st == r.strand
        aw = w[:r.pos - 1 - s] + r.alt + w[r.pos - s:]
        if st == "-":
            w, aw = revcomp(w), revcomp(aw)
        assert w[r.offset] == (r.ref if st == "+" else revcomp(r.ref))
        p = predict_proba(clf, [w, aw], k, device="cpu")[:, 1]
        assert (r.p_ref, r.p_alt) == pytest.approx(tuple(p), abs=1e-5)
    # p_ref/p_alt are written to 6 significant digits: logOR from them agrees to ~1e-4
    np.testing.assert_allclose(n["logOR"], V.delta_scores(n["p_ref"], n["p_alt"])[1], rtol=1e-3,
                               atol=1e-3)
    p, _ = V.variant_pvalues(n["logOR"].to_numpy(), n["logOR"].to_numpy())
    np.testing.assert_allclose(n["pvalue"], p, rtol=1e-4)
    assert summary["pvalues"]["null_rate_p05"] == pytest.approx(float((n["pvalue"] < 0.05).mean()))


def test_summary_states_pvalue_method_resolution_and_cis(run):
    """40 null SNVs: those strictly below the median (<= 20; equal draws tie) form the neutral
    reference, too few for a tail, so p stops at 1 / (n_reference + 1) and the summary says so;
    AUROCs carry n and a CI."""
    summary, outs = run
    pv = summary["pvalues"]
    assert (pv["method"], pv["null_size"], pv["n_null"]) == ("neutral", 40, 40)
    n_ref = pv["n_reference"]
    assert 15 <= n_ref <= 20 and pv["tail"] is None
    assert pv["min_attainable_pvalue"] == pytest.approx(1 / (n_ref + 1))
    assert pv["n_tests"] == 11 and pv["bh_smallest_p_needed"] == pytest.approx(0.05 / 11)
    df = pd.read_csv(outs["scores"], sep="\t")
    assert df["pvalue"].min() >= 1 / (n_ref + 1) - 1e-12 and pv["min_pvalue"] == pytest.approx(df["pvalue"].min())
    by = summary["significant_fdr_by_class"]
    assert sum(v["n"] for v in by.values()) == 11 and by["dbsnp_only"]["n"] == 5
    assert sum(v["n_significant"] for v in by.values()) == summary["n_significant_fdr"]
    fam = summary["significant_fdr_clinvar_family"]
    assert fam["n_tests"] == 6 and "dbsnp_only" not in fam["by_class"]
    assert sum(v["n"] for v in fam["by_class"].values()) == 6
    ci = summary["auroc_pathogenic_vs_benign_ci"]["score"]
    assert (ci["n_pathogenic"], ci["n_benign"]) == (2, 3)
    assert ci["auroc"] == summary["auroc_pathogenic_vs_benign"]["score"]
    assert ci["ci"][0] <= ci["auroc"] <= ci["ci"][1]
    zs = summary["zero_shot_auroc"]
    assert zs["auroc"] == summary["auroc_pathogenic_vs_benign"]["neg_zero_shot"]
    assert "-zero_shot" in zs["orientation"] and zs["direction"]


def test_results_do_not_depend_on_batch_size(world, run):
    _, outs = run
    _, outs2 = _run(world, world["tmp"] / "run_b1", batch_size=1)
    a = pd.read_csv(outs["scores"], sep="\t")
    b = pd.read_csv(outs2["scores"], sep="\t")
    pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-5)


def test_clinvar_without_overlap_gives_valid_empty_outputs(world, caplog, tmp_path):
    b = world["seqs"]["chr2"][4]
    far = _vcf(tmp_path, "far", CLN_HEADER,
               [f"chr2\t5\t1\t{b}\t{'A' if b != 'A' else 'C'}\t.\t.\tCLNSIG=Pathogenic"])
    with caplog.at_level(logging.INFO, logger="dnalm.variants"):
        summary, outs = _run(world, tmp_path / "o", clinvar_vcf=far, null_size=10,
                             top_mutation_maps=0)
    assert "ClinVar: no variant inside" in caplog.text
    c = pd.read_csv(outs["clinvar"], sep="\t")
    assert len(c) == 0 and list(c.columns) == V.CLINVAR_COLUMNS
    assert summary["auroc_pathogenic_vs_benign"]["score"] is None
    assert summary["enrichment"]["fisher_pvalue"] is None
    assert json.loads(outs["summary"].read_text())["n_scored_clinvar"] == 0
    assert outs["fig_maps"].is_file()


def test_no_dbsnp_and_empty_regions(world, tmp_path):
    bed = tmp_path / "empty.bed"
    bed.write_text("")
    summary = V.score_variants(world["fa"], bed, world["ds"], world["card"], world["clf"],
                               _outputs(tmp_path),
                               clinvar_vcf=world["clinvar"], null_size=10, top_mutation_maps=1,
                               device="cpu")
    assert "dbsnp" not in summary["counts"] and summary["n_scored_dbsnp"] == 0
    assert summary["n_scored_clinvar"] == 6


def test_bad_bed_names_file_and_line(tmp_path):
    p = tmp_path / "r.bed"
    p.write_text("chr1\t5\t10\nchr1\tx\t9\n")
    with pytest.raises(ValueError, match=r"r\.bed:2: start/end"):
        V.read_bed(p)


def test_normalise_counts_reach_the_summary(run):
    c = run[0]["counts"]
    assert c["clinvar"]["outside_genome_records"] == 1
    assert c["clinvar"]["outside_genome_contigs"] == {"NW_1": 1}
    assert c["clinvar"]["normalise_dropped"] == {"unknown_contig": 1, "no_alt": 2, "symbolic_alt": 0}
    assert "outside_genome_records" not in c["dbsnp"]


# ----------------------------------------------------------------------------- select: dataset contract


def test_window_length_comes_from_the_card(world, tmp_path):
    assert V.card_window_length(world["card"]) == L
    ragged = {"test": [Example("ACGTA" * 5, 1, "chr1", 0, 25, "+", "a"),
                       Example("ACGTA" * 4, 0, "chr1", 40, 60, "+", "b")]}
    card = write_card(dataset_card("r", {"kind": "tfbs"}, ragged, None), tmp_path / "card.json")
    with pytest.raises(ValueError, match=r"card\.json: window_length is null .* task r"):
        V.card_window_length(card)
    with pytest.raises(ValueError, match=r"card\.json: `positive_class` 3 is not a label .*\[0, 1\]"):
        V.card_window_length(world["card"], positive_class=3)
    with pytest.raises(ValueError, match="dataset card not found"):
        V.card_window_length(tmp_path / "missing" / "card.json")
    # the shard refuses before writing anything
    table, meta = tmp_path / "o" / "1-of-1.tsv.gz", tmp_path / "o" / "1-of-1.json"
    with pytest.raises(ValueError, match="window_length is null"):
        V.score_variant_shard(world["fa"], world["bed"], world["ds"], card, world["clf"], table,
                              meta, device="cpu")
    assert not (tmp_path / "o").exists()


def test_positive_windows_through_the_dataset_contract(world, tmp_path):
    got = V.read_positive_windows(world["ds"])
    assert [(iv.contig, iv.start, iv.strand, iv.name) for iv in got] == [
        ("chr1", 50, "+", "peak:0"), ("chr1", 150, "-", "peak:1"), ("chr2", 179, "+", "peak:2")]
    assert [iv.start for iv in V.read_positive_windows(world["ds"], positive_label=0)] == [20]
    bare = tmp_path / "bare.tsv"
    bare.write_text("sequence\tlabel\nACGT\t1\n")
    with pytest.raises(ValueError, match=r"bare\.tsv:1: header lacks .*contig"):
        V.read_positive_windows([bare])
    bad = tmp_path / "bad.tsv"
    bad.write_text("sequence\tlabel\tcontig\tstart\tend\tstrand\tsource_id\n"
                   "ACGT\t0\tchr1\t1\t5\t+\tx\nACGT\t1\tchr1\t1O\t5\t+\ty\n")
    with pytest.raises(ValueError, match=r"bad\.tsv:3: start/end '1O'/'5' are not integers"):
        V.read_positive_windows([bad])


# ----------------------------------------------------------------------------- select: scoring context


def test_window_index_picks_nearest_centred_containing_window():
    iv = lambda s, st="+", name=None: V.Interval("c", s, s + 10, st, name or f"w{s}{st}")  # noqa: E731
    idx = S.WindowIndex([iv(30), iv(0), iv(8), iv(4), iv(4, "-"), iv(50), V.Interval("c", 60, 65)], 10)
    assert idx.skipped == 1  # the 5-bp window is never used as context
    # window centres (start + 4.5): 4.5, 8.5, 12.5, 34.5, 54.5
    assert idx.find("c", 6).start == 0  # 0 (d 1.5) beats 4 (d 2.5); 8 does not contain 6
    assert idx.find("c", 7).start == 4  # 4 (d 1.5) beats 0 (d 2.5)
    assert idx.find("c", 9).start == 4  # 4 (d 0.5) beats 8 (d 3.5) and 0 (d 4.5)
    assert idx.find("c", 9).strand == "+"  # same start: '+' sorts before '-'
    assert idx.find("c", 10).start == 4 and idx.find("c", 11).start == 8  # 0 ends at 9
    assert idx.find("c", 13).start == 8
    assert idx.find("c", 29) is None and idx.find("c", 30).start == 30 and idx.find("c", 39).start == 30
    assert idx.find("c", 40) is None and idx.find("c", 20) is None and idx.find("d", 5) is None
    assert idx.find("c", 62) is None  # only the skipped short window holds it
    tie = S.WindowIndex([V.Interval("c", 2, 13), V.Interval("c", 0, 11)], 11)
    # base 6: centre of 0-11 is 5 (d 1), of 2-13 is 7 (d 1) -> tie -> lowest start
    assert tie.find("c", 6).start == 0
    # against a brute-force scan on random windows
    rng = np.random.default_rng(0)
    wins = [V.Interval("c", int(s), int(s) + 15, "+", str(i))
            for i, s in enumerate(rng.integers(0, 300, 60))]
    idx = S.WindowIndex(wins, 15)
    for pos in range(-5, 330):
        hits = [w for w in wins if w.start <= pos < w.end]
        want = min(hits, key=lambda w: (abs(2 * w.start + 14 - 2 * pos), w.start, w.name)) if hits else None
        got = idx.find("c", pos)
        assert (got.start if got else None) == (want.start if want else None), pos


def test_scoring_windows_region_minus_strand_and_fallback(world):
    fa = pysam.FastaFile(str(world["fa"]))
    lengths = dict(zip(fa.references, fa.lengths, strict=True))
    s1 = world["seqs"]["chr1"]
    positives = V.read_positive_windows(world["ds"])
    idx = S.WindowIndex(positives, L)
    sel = V.Interval("chr1", 0, 300, "+", "sel")
    other = {b: "A" if b != "A" else "C" for b in "ACGT"}
    cands = [
        (dvcf.Allele("chr1", 156, s1[155], other[s1[155]]), sel),  # '-' window chr1:150-171
        (dvcf.Allele("chr1", 52, s1[51], other[s1[51]]), sel),  # '+' window chr1:50-71
        (dvcf.Allele("chr1", 126, s1[125], other[s1[125]]), V.Interval("chr1", 120, 130, "-", "r")),
    ]
    w = V.scoring_windows(cands, fa, lengths, L, idx)
    # '-': the dataset row's sequence, variant mirrored: forward offset 5 -> 15
    assert w.ref[0] == revcomp(s1[150:171]) and w.offset[0] == L - 1 - 5
    assert w.ref[0][w.offset[0]] == revcomp(s1[155])
    assert w.alt[0] == revcomp(s1[150:155] + other[s1[155]] + s1[156:171])
    assert (w.strand[0], w.window[0], w.window_id[0]) == ("-", "chr1:150-171:-", "peak:1")
    assert w.ref[1] == s1[50:71] and w.offset[1] == 1 and w.window_id[1] == "peak:0"
    # no positive window holds chr1:126: centred window, strand of the selecting region
    assert w.fallback.tolist() == [False, False, True]
    assert w.window_id[2] == "centred" and w.offset[2] == L - 1 - L // 2
    assert w.ref[2] == revcomp(s1[125 - L // 2:125 - L // 2 + L])
    # centred context: no index, every window centred, no fallback
    c = V.scoring_windows(cands, fa, lengths, L, None)
    assert not c.fallback.any() and set(c.window_id) == {"centred"}
    assert c.ref[1] == s1[51 - L // 2:51 - L // 2 + L] and c.offset[1] == L // 2
    # a different REF than the genome's is refused
    with pytest.raises(ValueError, match="not REF"):
        V.scoring_windows([(dvcf.Allele("chr1", 52, other[s1[51]], s1[51]), sel)], fa, lengths, L, idx)


def test_region_fallback_counted_and_zero_shot_context_free(world, run, tmp_path):
    s1 = world["seqs"]["chr1"]
    bed = tmp_path / "regions.bed"
    bed.write_text(world["bed"].read_text() + "chr1\t120\t130\ttest:9\t500\t+\n")
    dbsnp = _vcf(tmp_path, "dbsnp2", "", [
        f"chr1\t57\trs1\t{s1[56]}\t{'T' if s1[56] != 'T' else 'G'}\t.\t.\t.",
        f"chr1\t126\trs8\t{s1[125]}\t{'A' if s1[125] != 'A' else 'C'}\t.\t.\t.",
    ])
    summ, outs = _run(world, tmp_path / "fb", regions_bed=bed, dbsnp_vcf=dbsnp)
    assert summ["counts"]["dbsnp"]["centred_fallback"] == 1
    assert summ["counts"]["clinvar"]["centred_fallback"] == 0 and summ["centred_fallback"] == 1
    df = pd.read_csv(outs["scores"], sep="\t")
    fb = df[df.pos == 126].iloc[0]
    assert (fb.window_id, fb.window, fb.offset) == ("centred", f"chr1:{125 - L // 2}-{125 - L // 2 + L}:+", L // 2)
    # centred context scores the same variants in other windows; zero-shot does not change
    summ_c, outs_c = _run(world, tmp_path / "centred", regions_bed=bed, dbsnp_vcf=dbsnp,
                          context="centred")
    assert summ_c["context"] == "centred" and summ_c["centred_fallback"] == 0
    dc = pd.read_csv(outs_c["scores"], sep="\t").set_index(["contig", "pos", "alt"]).sort_index()
    dr = df.set_index(["contig", "pos", "alt"]).sort_index()
    assert (dc["window_id"] == "centred").all() and (dc["offset"] == L // 2).sum() > 0
    np.testing.assert_allclose(dr["zero_shot"], dc["zero_shot"], atol=1e-5)
    moved = dr["window"] != dc["window"]
    assert moved.sum() >= 4 and not np.allclose(dr.loc[moved, "p_ref"], dc.loc[moved, "p_ref"])
    pd.testing.assert_series_equal(dr.loc[~moved, "p_ref"], dc.loc[~moved, "p_ref"], atol=1e-5)


def test_window_and_offset_locate_the_variant(world, run):
    """``window`` + ``offset`` (what the mutation maps mark) point at the REF base in the
    classifier input, complemented on '-' windows."""
    fa = pysam.FastaFile(str(world["fa"]))
    lengths = dict(zip(fa.references, fa.lengths, strict=True))
    df = pd.read_csv(run[1]["scores"], sep="\t")
    assert set(df["strand"]) == {"+", "-"} and df["offset"].nunique() > 3
    for r in df.itertuples():
        seq = V.window_sequence(fa, lengths, r.window)
        assert len(seq) == L
        assert seq[r.offset] == (revcomp(r.ref) if r.strand == "-" else r.ref)


# ----------------------------------------------------------------------------- shard + gather: scatter


def test_shard_contigs_cover_every_contig_once():
    lengths = {"chr1": 900, "chr2": 800, "chrX": 850, "chrY": 100, "chrM": 16, "chr3": 800}
    for n in range(1, 9):
        shards = [V.shard_contigs(lengths, n, i) for i in range(1, n + 1)]
        flat = [c for s in shards for c in s]
        assert sorted(flat) == sorted(lengths) and len(flat) == len(set(flat)), n
        if n >= len(lengths):
            assert all(len(s) <= 1 for s in shards)
    # dealt by decreasing length (ties: .fai order): chr1 chrX chr2 chr3 chrY chrM
    assert V.shard_contigs(lengths, 2, 1) == ["chr1", "chr2", "chrY"]
    assert V.shard_contigs(lengths, 2, 2) == ["chrX", "chr3", "chrM"]
    assert V.shard_contigs(lengths, 6, 6) == ["chrM"] and V.shard_contigs(lengths, 7, 7) == []
    for bad in ((0, 1), (2, 3), (2, 0)):
        with pytest.raises(ValueError, match="shard"):
            V.shard_contigs(lengths, *bad)


def test_scatter_n1_vs_n3_identical(world, run, tmp_path):
    summ1, outs1 = run
    summ3, outs3 = _run(world, tmp_path / "n3", n_shards=3)  # chr1 | chr2 | (empty shard)
    assert summ3["scatter"] == {"n_shards": 3, "contigs": {"1": ["chr1"], "2": ["chr2"], "3": []}}
    assert summ1["scatter"]["contigs"] == {"1": ["chr1", "chr2"]}
    # Same rows, same order, same p-values; scores equal up to CPU float noise (batch
    # composition changes kernel paths in about the 5th significant digit).
    for key in ("scores", "clinvar"):
        pd.testing.assert_frame_equal(pd.read_csv(outs1[key], sep="\t"), pd.read_csv(outs3[key], sep="\t"),
                                      check_exact=False, rtol=1e-4, atol=1e-7)
    a, b = (json.loads(o["summary"].read_text()) for o in (outs1, outs3))
    a.pop("scatter")
    b.pop("scatter")
    _assert_close(a, b)
    assert a["n_scored"] == 11


def _assert_close(a, b, path="summary"):
    """Nested JSON equality, floats compared with rtol 1e-4."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            _assert_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert b == pytest.approx(a, rel=1e-4, abs=1e-7), path
    else:
        assert a == b, path


def test_gather_rejects_missing_or_foreign_shards(world, tmp_path):
    args = (world["fa"], world["bed"], world["ds"], world["card"], world["clf"])
    tabs = [tmp_path / f"{i}-of-2.tsv.gz" for i in (1, 2)]
    metas = [tmp_path / f"{i}-of-2.json" for i in (1, 2)]
    for i in (1, 2):
        m = V.score_variant_shard(*args, tabs[i - 1], metas[i - 1], shard=i, n_shards=2,
                                  clinvar_vcf=world["clinvar"], device="cpu")
        assert m["contigs"] == [["chr1"], ["chr2"]][i - 1]
    assert pd.read_csv(tabs[1], sep="\t")["contig"].eq("chr2").all()
    gather = dict(genome_fasta=world["fa"], datasets=world["ds"], card=world["card"],
                  classifier_dir=world["clf"],
                  outputs=_outputs(tmp_path / "g"), null_size=10, top_mutation_maps=0, device="cpu")
    with pytest.raises(ValueError, match="n_shards=2, expected 1"):
        V.summarise_variants(tabs[:1], metas[:1], **gather)
    with pytest.raises(ValueError, match="not 1..2"):
        V.summarise_variants([tabs[0], tabs[0]], [metas[0], metas[0]], **gather)
    with pytest.raises(ValueError, match="context='region', expected 'centred'"):
        V.summarise_variants(tabs, metas, **gather, context="centred")
    s = V.summarise_variants(tabs[::-1], metas[::-1], **gather)  # any order
    assert s["n_scored_clinvar"] == 6 and not (tmp_path / "g" / "scores.tsv.gz.tmp").exists()


def test_config_lists_every_shard():
    from dnalm import paths
    from dnalm.settings import load_config

    cfg = load_config({
        "genomes": {"g": {"fasta": {"url": "g.fa"}}},
        "annotations": {"g": {"clinvar": {"url": "x"}, "peaks": {"e": {"url": "e.bed"}}}},
        "language_models": {"lm": {"genome": "g", "preset": "p"}},
        "pretrain_presets": {"p": {"steps": 1, "batch_size": 1, "lr": 1e-3}},
        "tasks": {"t": {"genome": "g", "kind": "tfbs", "experiment": "e"}},
        "finetune": {"models": ["lm"]},
        "attention": {"tasks": ["t"], "model": "lm"},
        "variants": {"tasks": ["t"], "model": "lm", "scatter": 3},
    })  # fmt: skip
    inp = paths.variant_gather_inputs(cfg, "t", "lm")
    assert inp["shards"] == [f"results/variants/t/lm/shards/{i}-of-3.tsv.gz" for i in (1, 2, 3)]
    assert inp["shard_meta"][2] == "results/variants/t/lm/shards/3-of-3.json"
    assert inp["clinvar_counts"] == "resources/annotations/g/clinvar.normalise.json"
    assert inp["card"] == "results/datasets/t/card.json"
    assert paths.variant_model_inputs(cfg, "t", "lm")["card"] == inp["card"]
    assert "regions" not in inp and "dbsnp_counts" not in inp and "clinvar" not in inp


def _classifier_cfg(**variants):
    from dnalm.settings import load_config

    return load_config({
        "genomes": {"g": {"fasta": {"url": "g.fa"}}},
        "annotations": {"g": {"clinvar": {"url": "x"}, "peaks": {"e": {"url": "e.bed"}}}},
        "language_models": {"lm": {"genome": "g", "preset": "p"}},
        "pretrain_presets": {"p": {"steps": 1, "batch_size": 1, "lr": 1e-3}},
        "tasks": {"t": {"genome": "g", "kind": "tfbs", "experiment": "e"}},
        "finetune": {"models": ["lm", "cnn"]},
        "attention": {"tasks": ["t"], "model": "lm"},
        "variants": {"tasks": ["t"], "model": "lm", **variants},
    })  # fmt: skip


def test_variants_classifier_scores_while_model_keeps_regions_lm_and_path():
    """``variants.classifier`` swaps only the scoring classifier (and the rule's inputs say so);
    attention regions, the zero-shot LM and the results path stay ``variants.model``'s. A model
    that is unknown or not fine-tuned on the task is a config error naming the key."""
    from dnalm import paths
    from dnalm.settings import ConfigError

    cfg = _classifier_cfg(classifier="cnn")
    inp = paths.variant_model_inputs(cfg, "t", "lm")
    assert inp["classifier"] == "results/finetune/t/cnn/seed1/model"
    assert inp["regions"] == "results/attention/t/lm/regions.bed"
    assert inp["lm"] == "results/pretrain/lm/model"
    assert paths.variant_gather_inputs(cfg, "t", "lm")["classifier"] == inp["classifier"]
    assert "results/variants/t/lm/summary.json" in paths.final_outputs(cfg)
    assert "classifier" not in paths.rule_params(cfg, "variants")  # a selection key, not a kwarg
    default = _classifier_cfg()
    assert paths.variant_model_inputs(default, "t", "lm")["classifier"] == \
        "results/finetune/t/lm/seed1/model"
    for bad, why in (("nope", "unknown model"), ("cnn_lstm", "not fine-tuned on task 't'")):
        with pytest.raises(ConfigError, match="variants.classifier") as e:
            _classifier_cfg(classifier=bad)
        assert why in str(e.value)
    assert "results/variants/t/lm/summary.json" in paths.final_outputs(cfg)


# ----------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_demo_end_to_end_pathogenic_rank_above_benign(demo_dag):
    """Demo: planted Pathogenic variants in CTCF motif cores score above Benign ones in the
    same peaks (AUROC > 0.6) and are enriched among high-scoring variants (Fisher p < 0.05)."""
    out = demo_dag.workdir / "results/variants/tf_ctcf/dnabert6_tiny"
    summary = json.loads((out / "summary.json").read_text())
    for name in ("scores.tsv.gz", "clinvar.tsv", "score_by_clnsig.png", "top_candidates.png",
                 "mutation_maps.png"):
        assert (out / name).is_file()
    assert summary["clinvar_classes"]["pathogenic"] >= 3
    assert summary["context"] == "region" and summary["scatter"]["n_shards"] == 3
    assert (out / "shards/1-of-3.tsv.gz").is_file()
    assert summary["auroc_pathogenic_vs_benign"]["score"] > 0.6
    assert summary["enrichment"]["fisher_pvalue"] < 0.05


@pytest.mark.slow
def test_demo_pathogenic_rank_at_the_top(demo_dag):
    """The issue's bars: the top 3 ClinVar rows are planted pathogenic variants (met with
    `variants.context: region`; centred windows missed it) and AUROC >= 0.9. Measured with the
    demo's CNN classifier (`variants.classifier: cnn`): 0.998 [0.99, 1.0] (n = 36 pathogenic, 70
    benign); the tiny BERT as classifier gave 0.8996 [0.84, 0.95]."""
    work = demo_dag.workdir
    out = work / "results/variants/tf_ctcf/dnabert6_tiny"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["auroc_pathogenic_vs_benign"]["score"] >= 0.9
    truth = pd.read_csv(work / "resources/demo/demo_hs/truth/positions.tsv", sep="\t")
    planted = {(r.contig, int(r.start) + 1) for r in truth[truth.kind == "pathogenic"].itertuples()}
    top = pd.read_csv(out / "clinvar.tsv", sep="\t").head(3)
    assert all((r.contig, int(r.pos)) in planted for r in top.itertuples())


# ----------------------------------------------------------------------------- pvalues: validity and power


def _binom_upper(p: float, n: int, z: float = 2.58) -> float:
    """Upper end of the normal-approximation 99 % binomial interval around ``p``."""
    return p + z * np.sqrt(p * (1 - p) / n)


def _mixture(rng, n, neutral, hit_rate=0.07):
    """Random-SNV logOR: a neutral part plus motif-core hits (large positive logOR)."""
    z = neutral(n)
    hit = rng.random(n) < hit_rate
    z[hit] = rng.normal(8.0, 1.5, hit.sum())
    return z


@pytest.mark.parametrize("null", ["neutral", "random_snv"])
def test_pvalues_valid_on_null_only_input(null):
    """Variants drawn from the null hypothesis: the rate of p < 0.05 stays within the 99 %
    binomial interval of 0.05 (or below it: conservative) and BH finds almost nothing. For
    ``neutral`` the null-only variants are neutral; for ``random_snv`` they are random SNVs."""
    rng = np.random.default_rng(0)
    normal = lambda n: rng.normal(0.0, 1.0, n)  # noqa: E731
    reps, n_obs = 20, 500
    below = n_sig = 0
    for _ in range(reps):
        z = _mixture(rng, 1000, normal)
        obs = normal(n_obs) if null == "neutral" else _mixture(rng, n_obs, normal)
        p, info = V.variant_pvalues(obs, z, null)
        assert info["tail"] is not None and np.isfinite(p).all() and (p > 0).all()
        below += int((p < 0.05).sum())
        n_sig += int((bh_adjust(p) <= 0.05).sum())
    n = reps * n_obs
    rate = below / n
    assert rate <= _binom_upper(0.05, n), rate
    assert rate >= 0.03, rate  # not degenerate (a p = 1 everywhere method would pass the above)
    assert n_sig <= 2, n_sig  # BH at 0.05 under the global null: P(any) <= 0.05 per replicate


def test_pvalue_tail_calibrated_for_heavy_tailed_neutral_noise():
    """Far tail (p < 1e-3), where counting cannot reach (1 / 1001 per null): neutral noise with
    Student t3 tails. The GPD tail with the shape's upper bound keeps the observed rate within
    1.5 x nominal; a Gaussian fitted to the neutral half (the control) is > 3 x nominal."""
    from scipy.stats import norm

    rng = np.random.default_rng(1)
    t3 = lambda n: rng.standard_t(3, n)  # noqa: E731
    hits = gauss = n = 0
    for _ in range(10):
        z = _mixture(rng, 2000, t3)
        obs = t3(20000)
        p, info = V.variant_pvalues(obs, z, "neutral")
        assert info["n_tail_pvalues"] > 0
        hits += int((p < 1e-3).sum())
        c = info["center"]
        lower = c - z[z < c]
        sd = np.quantile(lower, 0.5) / norm.ppf(0.75)  # half-normal median = 0.674 sd
        gauss += int((2 * norm.sf(np.abs(obs - c) / sd) < 1e-3).sum())
        n += obs.size
    assert hits / n <= 1.5e-3, hits / n
    assert gauss / n > 3e-3, gauss / n


def test_pvalues_reach_significance_where_counting_cannot():
    """Planted motif-core effects (30) among neutral variants (60) and a random-SNV-like
    background (800): with 500 null SNVs the counting floor (~1 / 250) cannot pass BH over 890
    tests (0.05 / 890 = 5.6e-5), the tail can; neutral variants stay non-significant. The
    ``random_snv`` null (7 % of random SNVs hit motif cores) finds none of the planted ones."""
    rng = np.random.default_rng(2)
    normal = lambda n: rng.normal(0.0, 1.0, n)  # noqa: E731
    z = _mixture(rng, 500, normal)
    planted, neutral = rng.normal(8.0, 1.5, 30), normal(60)
    obs = np.r_[planted, neutral, _mixture(rng, 800, normal)]
    p, info = V.variant_pvalues(obs, z, "neutral")
    q = bh_adjust(p)
    assert info["min_empirical_pvalue"] == pytest.approx(1 / (info["n_reference"] + 1))
    assert info["min_empirical_pvalue"] > 0.05 / obs.size and info["n_reference"] < 300
    assert (q[:30] <= 0.05).all()
    assert (q[30:90] <= 0.05).sum() <= 1
    # counting alone (the old empirical p) cannot reach BH significance at all
    floor = V.empirical_pvalues(np.abs(obs), np.abs(z))
    assert floor.min() == pytest.approx(1 / 501) and (bh_adjust(floor) > 0.05).all()
    p_r, _ = V.variant_pvalues(obs, z, "random_snv")
    assert (bh_adjust(p_r)[:30] > 0.05).all()
    # no signal anywhere (the same draws without motif hits): nothing significant
    p0, _ = V.variant_pvalues(normal(890), normal(500), "neutral")
    assert (bh_adjust(p0) > 0.05).all()


def test_clinvar_family_bh_has_power_the_pooled_family_lacks():
    """20 ClinVar pathogenic at p = 1e-3 among 2000 dbSNP-only null variants: BH over all 2040
    finds none (1e-3 > 0.05 x 20 / 2040), BH over the 40 ClinVar variants finds the 20; 20
    ClinVar benign at uniform p stay out, and with null pathogenic p-values nothing is found."""
    rng = np.random.default_rng(7)
    n_db = 2000

    def frame(p_path):
        df = pd.DataFrame({
            "source": ["dbsnp"] * n_db + ["clinvar"] * 20 + ["both"] * 20,
            "clinvar_class": ["."] * n_db + ["pathogenic"] * 20 + ["benign"] * 20,
            "pvalue": np.r_[rng.uniform(size=n_db), p_path, rng.uniform(0.2, 1, 20)]})
        df["qvalue"] = bh_adjust(df["pvalue"].to_numpy())
        return df

    df = frame(np.full(20, 1e-3))
    assert V.significance_by_class(df)["pathogenic"] == {"n": 20, "n_significant": 0}
    fam = V.significance_by_class(df, family="clinvar")
    assert fam["pathogenic"]["n_significant"] == 20 and fam["benign"]["n_significant"] == 0
    assert "dbsnp_only" not in fam
    fam0 = V.significance_by_class(frame(rng.uniform(size=20)), family="clinvar")
    assert sum(v["n_significant"] for v in fam0.values()) == 0
    with pytest.raises(ValueError, match="family"):
        V.significance_by_class(df, family="dbsnp")


def test_variant_pvalues_edge_cases():
    p, info = V.variant_pvalues(np.array([1.0, np.nan]), np.array([]))
    assert np.isnan(p).all() and info["n_null"] == 0
    z = np.linspace(-1, 1, 21)  # 10 below the median: no tail (< 40), floor 1 / 11
    p, info = V.variant_pvalues(np.array([0.0, 5.0, np.nan]), z, "neutral")
    assert info["tail"] is None and info["n_reference"] == 10
    assert p[0] == 1.0 and p[1] == pytest.approx(1 / 11) and np.isnan(p[2])
    with pytest.raises(ValueError, match="pvalue_null"):
        V.variant_pvalues(z, z, "gpd")
    with pytest.raises(ValueError, match="tail_size"):
        V.variant_pvalues(z, z, tail_size=5)


# ----------------------------------------------------------------------------- a planted-motif world


MOTIF = "GCCACCAG"  # no reverse-complement self-overlap


class _MotifClassifier:
    """A classifier whose preferences are known: logit = 6 if the window holds MOTIF (either
    strand, with ``signal``) else -2, plus neutral noise N(0, 0.3) seeded by the sequence (so
    every change of the window moves the logit a little, as in a real network)."""

    def __init__(self, signal: bool = True) -> None:
        self.signal = signal

    def proba(self, seqs):
        import hashlib

        out = np.zeros((len(seqs), 2))
        for i, s in enumerate(seqs):
            seed = int.from_bytes(hashlib.sha256(s.encode()).digest()[:8], "little")
            logit = np.random.default_rng(seed).normal(0.0, 0.3)
            if self.signal:
                logit += 6.0 if (MOTIF in s or revcomp(MOTIF) in s) else -2.0
            out[i, 1] = 1 / (1 + np.exp(-logit))
        out[:, 0] = 1 - out[:, 1]
        return out


@pytest.fixture(scope="module")
def motif_world(tmp_path_factory):
    """Two contigs, 40 positive 41-bp windows each holding MOTIF at a random offset (strand
    alternating), ClinVar: one pathogenic SNV in each motif (a motif base changed), one benign
    SNV per window at least 6 bp from the motif."""
    tmp = tmp_path_factory.mktemp("motifworld")
    rng = np.random.default_rng(5)
    Lm, n_win, gap = 41, 20, 60
    seqs, rows, clin = {}, [], []
    other = {b: next(x for x in "CGTA" if x != b) for b in "ACGT"}
    for ci, contig in enumerate(("chrA", "chrB")):
        s = list("".join(rng.choice(list("ACGT"), n_win * gap + 50)))
        for w in range(n_win):
            start = 20 + w * gap
            strand = "+" if w % 2 == 0 else "-"
            off = int(rng.integers(2, Lm - len(MOTIF) - 2))
            s[start + off:start + off + len(MOTIF)] = MOTIF if strand == "+" else revcomp(MOTIF)
            g = start + off + int(rng.integers(0, len(MOTIF)))
            clin.append((contig, g + 1, s[g], other[s[g]], "Pathogenic"))
            far = [p for p in range(start, start + Lm) if p < start + off - 6 or p >= start + off + len(MOTIF) + 6]
            b = int(rng.choice(far))
            clin.append((contig, b + 1, s[b], other[s[b]], "Benign"))
            rows.append((contig, start, strand, f"peak:{ci}:{w}"))
        seqs[contig] = "".join(s)
    text = "".join(f">{c}\n{s}\n" for c, s in seqs.items())
    (tmp / "g.fa").write_text(text)
    fa = tmp / "g.fa.gz"
    pysam.tabix_compress(str(tmp / "g.fa"), str(fa), force=True)
    pysam.faidx(str(fa))
    ex = []
    for c, st, strand, sid in rows:
        w = seqs[c][st:st + Lm]
        ex.append(Example(w if strand == "+" else revcomp(w), 1, c, st, st + Lm, strand, sid))
    ex.append(Example("ACGT" * 10 + "A", 0, source_id="neg:0"))
    splits = {"train": ex, "dev": ex[:3] + ex[-1:], "test": ex[:3] + ex[-1:]}
    ds = [write_split(splits[k], tmp / f"{k}.tsv.gz") for k in ("train", "dev", "test")]
    card = write_card(dataset_card("m", {"kind": "tfbs", "genome": "g", "k": K}, splits, None),
                      tmp / "card.json")
    header = "".join(f"##contig=<ID={c},length={len(s)}>\n" for c, s in seqs.items())
    recs = [f"{c}\t{p}\t{i}\t{r}\t{a}\t.\t.\tCLNSIG={sig};CLNREVSTAT=reviewed_by_expert_panel"
            for i, (c, p, r, a, sig) in enumerate(sorted(clin))]
    plain = tmp / "clinvar.vcf"
    plain.write_text("##fileformat=VCFv4.1\n" + header + CLN_HEADER
                     + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "\n".join(recs) + "\n")
    vcf = tmp / "clinvar.vcf.gz"
    pysam.tabix_compress(str(plain), str(vcf), force=True)
    pysam.tabix_index(str(vcf), preset="vcf", force=True)
    bed = tmp / "empty.bed"
    bed.write_text("")
    return {"tmp": tmp, "fa": fa, "ds": ds, "card": card, "clinvar": vcf, "bed": bed,
            "planted": {(c, p) for c, p, _, _, sig in clin if sig == "Pathogenic"}}


def _motif_run(mw, monkeypatch, out, signal=True, **kw):
    import dnalm.predict

    clf = _MotifClassifier(signal)
    monkeypatch.setattr(dnalm.predict, "load_classifier", lambda d: (clf, K))
    monkeypatch.setattr(dnalm.predict, "predict_proba",
                        lambda model, seqs, k, batch_size=64, device=None, verbose=False:
                        model.proba(list(seqs)))
    args = dict(clinvar_vcf=mw["clinvar"], null_size=2000, top_mutation_maps=0, seed=3,
                device="cpu", batch_size=64)
    args.update(kw)
    outs = _outputs(out)
    s = V.score_variants(mw["fa"], mw["bed"], mw["ds"], mw["card"], mw["tmp"] / "clf", outs, **args)
    return s, pd.read_csv(outs["clinvar"], sep="\t")


def test_planted_motif_breaks_are_significant_and_benign_are_not(motif_world, monkeypatch, tmp_path):
    """Through score_variants: all 40 motif-breaking ClinVar SNVs are significant at FDR 0.05
    although ~20 % of the 2000 random null SNVs (8 motif bases of 41) also break the motif;
    benign SNVs get null-like p-values (at most the false discoveries FDR 0.05 allows).
    Controls: a classifier without the motif signal (noise only) finds none, and the random_snv
    null cannot make the planted ones significant."""
    summ, c = _motif_run(motif_world, monkeypatch, tmp_path / "signal")
    planted = c.apply(lambda r: (r.contig, r.pos) in motif_world["planted"], axis=1)
    assert planted.sum() == 40 and (~planted).sum() == 40
    assert (c.loc[planted, "qvalue"] <= 0.05).all()
    # benign SNVs behave as nulls: p-values spread over (0, 1], none in the far tail; BH at 0.05
    # with 40 true discoveries may admit ~2 of them (false-discovery proportion <= 0.05 on average)
    pb = c.loc[~planted, "pvalue"]
    assert pb.min() > 1e-3 and pb.median() > 0.25
    n_false = int((c.loc[~planted, "qvalue"] <= 0.05).sum())
    assert n_false / (n_false + 40) <= 0.1, n_false
    pv = summ["pvalues"]
    assert pv["method"] == "neutral" and pv["null_size"] == 2000 and pv["tail"] is not None
    assert pv["n_tests"] == 80 and pv["bh_smallest_p_needed"] == pytest.approx(0.05 / 80)
    assert pv["min_pvalue"] < pv["min_empirical_pvalue"]  # the tail resolves below 1 / (n + 1)
    # ~8 / 41 of the random SNVs break the motif: they show up as an excess over 0.05
    assert 0.05 + 0.12 < pv["null_rate_p05"] < 0.05 + 0.3
    by = summ["significant_fdr_by_class"]
    assert by["pathogenic"] == {"n": 40, "n_significant": 40}
    assert by["benign"] == {"n": 40, "n_significant": n_false}
    ci = summ["auroc_pathogenic_vs_benign_ci"]["score"]
    assert ci["auroc"] == 1.0 and ci["n_pathogenic"] == 40 and ci["n_benign"] == 40
    # controls
    s0, c0 = _motif_run(motif_world, monkeypatch, tmp_path / "nosignal", signal=False)
    assert (c0["qvalue"] > 0.05).all() and s0["n_significant_fdr"] == 0
    sr, cr = _motif_run(motif_world, monkeypatch, tmp_path / "random", pvalue_null="random_snv")
    assert sr["pvalues"]["method"] == "random_snv" and (cr["qvalue"] > 0.05).all()
    assert cr.loc[planted, "pvalue"].min() > 0.05 / 80


# ----------------------------------------------------------------------------- zero-shot sign


def _weak_base_lm(beta: float):
    """A masked LM whose preferences are set by hand: the logit of every k-mer token is
    ``beta`` x its number of A/T bases, whatever the context (decoder weights zero)."""
    import itertools

    from transformers import BertConfig, BertForMaskedLM

    cfg = BertConfig(vocab_size=kmers.vocab_size(K), hidden_size=16, num_hidden_layers=1,
                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=64,
                     tie_word_embeddings=False)
    torch.manual_seed(0)
    mlm = BertForMaskedLM(cfg).eval()
    bias = torch.zeros(cfg.vocab_size)
    for j, km in enumerate(itertools.product("ATCG", repeat=K)):
        bias[5 + j] = beta * sum(b in "AT" for b in km)
    with torch.no_grad():
        mlm.cls.predictions.decoder.weight.zero_()
        mlm.cls.predictions.decoder.bias.copy_(bias)
        mlm.cls.predictions.bias.copy_(bias)
    return mlm


def test_zero_shot_sign_on_an_lm_with_known_preferences():
    """``zero_shot = log P(alt) - log P(ref)``: an LM that prefers A/T by beta per base gives
    exactly -beta for A>C (every covering k-mer loses one A/T, on both strands), +beta for C>A
    and 0 for A>T; ranking pathogenic A/T>C/G against benign C/G>A/T by -zero_shot gives
    AUROC 1 ("expected"), and the LM with the opposite preference gives 0 ("reversed")."""
    beta = 0.7
    rng = np.random.default_rng(4)
    wins, refs, alts = [], [], []
    for ref, alt in [("A", "C")] * 6 + [("T", "G")] * 6 + [("C", "A")] * 6 + [("G", "T")] * 6 + [("A", "T")] * 3:
        w = "".join(rng.choice(list("ACGT"), L))
        wins.append(w[:10] + ref + w[11:])
        refs.append(ref)
        alts.append(alt)
    offs = [10] * len(wins)
    llr = V.zero_shot_llr(_weak_base_lm(beta), K, wins, offs, refs, alts, batch_size=4, device="cpu")
    np.testing.assert_allclose(llr[:12], -beta, atol=1e-5)
    np.testing.assert_allclose(llr[12:24], beta, atol=1e-5)
    np.testing.assert_allclose(llr[24:], 0.0, atol=1e-5)
    cls = ["pathogenic"] * 12 + ["benign"] * 12
    for b, want, direction in ((beta, 1.0, "expected"), (-beta, 0.0, "reversed")):
        zs = V.zero_shot_llr(_weak_base_lm(b), K, wins[:24], offs[:24], refs[:24], alts[:24],
                             batch_size=4, device="cpu")
        cdf = pd.DataFrame({"clinvar_class": cls, "score": np.arange(24.0), "diff": 0.0,
                            "zero_shot": zs, "pvalue": 0.5})
        st = V.clinvar_statistics(cdf)
        z = st["zero_shot_auroc"]
        assert z["auroc"] == pytest.approx(want) and z["direction"].startswith(direction)
        assert z["n_pathogenic"] == 12 and z["n_benign"] == 12 and "-zero_shot" in z["orientation"]


def test_auroc_ci_covers_and_needs_both_classes():
    rng = np.random.default_rng(6)
    y = np.r_[np.ones(40, int), np.zeros(60, int)]
    r = V.auroc_ci(y, np.r_[rng.normal(1, 1, 40), rng.normal(0, 1, 60)])
    lo, hi = r["ci"]
    assert lo < r["auroc"] < hi and 0.6 < r["auroc"] < 0.9 and (r["n_pathogenic"], r["n_benign"]) == (40, 60)
    # no signal: the CI contains 0.5
    r0 = V.auroc_ci(y, rng.normal(0, 1, 100))
    assert r0["ci"][0] < 0.5 < r0["ci"][1]
    assert V.auroc_ci(np.ones(5, int), np.arange(5.0))["auroc"] is None


@pytest.mark.slow
@pytest.mark.parametrize("task", ["tf_ctcf", "tf_p53"])
def test_demo_planted_pathogenic_significant_benign_not(demo_dag, task):
    """The issue's bar on the demo: planted pathogenic variants (truth/positions.tsv) in the
    task's windows reach significance at FDR 0.05 (BH over the ClinVar family) and benign ones
    do not (up to the false discoveries FDR 0.05 allows). The demo scores with the CNN
    (``variants.classifier: cnn``; the LM still gives regions and the zero-shot LLR). Measured
    (seed 1): tf_ctcf 35 of 36 pathogenic, 0 of 70 benign; tf_p53 21 of 24, 0 of 50 (the test
    asks for 70 %). With the
    tiny BERT as classifier it was 0 of 36 and 0 of 24: that model barely reacts to a broken
    motif (median logOR of random SNVs inside planted motifs 0.04, vs 1.3 and 3.1 for the CNN),
    and even a null of SNVs outside planted motifs left 3 of 36 and 0 of 24. The summary states
    the method and its resolution, and the zero-shot AUROC its orientation, n and CI."""
    work = demo_dag.workdir
    out = work / f"results/variants/{task}/dnabert6_tiny"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["classifier"] == "cnn" and summary["model"] == "dnabert6_tiny"
    pv = summary["pvalues"]
    assert pv["method"] == "neutral" and pv["null_size"] >= 2000 and pv["tail"] is not None
    assert pv["n_tests"] == summary["n_scored"] and pv["n_tests"] > 0
    assert pv["min_attainable_pvalue"] < pv["bh_smallest_p_needed"] < pv["min_empirical_pvalue"]
    truth = pd.read_csv(work / "resources/demo/demo_hs/truth/positions.tsv", sep="\t")
    where = lambda kind: {(r.contig, int(r.start) + 1) for r in truth[truth.kind == kind].itertuples()}  # noqa: E731
    c = pd.read_csv(out / "clinvar.tsv", sep="\t")
    key = list(zip(c["contig"], c["pos"], strict=True))
    path = c[[k in where("pathogenic") for k in key] & (c["clinvar_class"] == "pathogenic").to_numpy()]
    ben = c[[k in where("benign") for k in key] & (c["clinvar_class"] == "benign").to_numpy()]
    assert len(path) >= 3 and len(ben) >= 3
    # BH over the ClinVar family (the summary's significant_fdr_clinvar_family)
    q = pd.Series(bh_adjust(c["pvalue"].to_numpy(float)), index=c.index)
    sig_path = int((q[path.index] <= 0.05).sum())
    sig_ben = int((q[ben.index] <= 0.05).sum())
    # most, not all: a planted break in a window the classifier already calls negative (p_ref
    # 0.09-0.47 for the 4 that miss) has little prediction left to lose; tf_p53's 21st q is 0.049
    assert sig_path >= 0.7 * len(path), (sig_path, len(path), path["pvalue"].describe())
    assert sig_ben <= 0.1 * len(ben) and sig_ben / (sig_ben + sig_path) <= 0.1, (sig_ben, len(ben))
    assert ben["pvalue"].median() > 0.1 and path["pvalue"].median() < ben["pvalue"].median()
    fam = summary["significant_fdr_clinvar_family"]
    assert fam["n_tests"] == len(c)
    assert fam["by_class"]["pathogenic"]["n_significant"] >= sig_path
    assert fam["by_class"]["benign"]["n"] >= len(ben)
    zs = summary["zero_shot_auroc"]
    assert zs["n_pathogenic"] == summary["auroc_pathogenic_vs_benign_ci"]["score"]["n_pathogenic"]
    assert zs["auroc"] is None or (zs["ci"][0] <= zs["auroc"] <= zs["ci"][1] and zs["direction"])


@pytest.mark.slow
@pytest.mark.parametrize("task", ["tf_ctcf", "tf_p53"])
def test_demo_null_calibrated_outside_planted_motifs(demo_dag, task):
    """Control for the bar above: the neutral null is valid on the demo. Random SNVs of the null
    (null.tsv.gz) that touch no planted motif instance (truth/positions.tsv: motif and
    background_motif) are null-like variants; their p-values are uniform or conservative (the
    rate below each alpha stays within the 99 % binomial bound of alpha) and BH over them finds
    nothing. Measured (seed 1, CNN): rate p < 0.05 of 0.016 (tf_ctcf, n = 1691) and 0.012
    (tf_p53, n = 1699), none below 0.01. The attention-selected dbSNP variants that BH calls
    significant sit in planted motifs (411 of 414 on tf_ctcf, 280 of 280 on tf_p53)."""
    work = demo_dag.workdir
    out = work / f"results/variants/{task}/dnabert6_tiny"
    truth = pd.read_csv(work / "resources/demo/demo_hs/truth/positions.tsv", sep="\t")
    motif = set()
    for r in truth[truth.kind.isin(["motif", "background_motif"])].itertuples():
        motif.update((r.contig, p + 1) for p in range(int(r.start), int(r.end)))
    null = pd.read_csv(out / "null.tsv.gz", sep="\t")
    summary = json.loads((out / "summary.json").read_text())
    assert len(null) == summary["pvalues"]["null_size"] and list(null.columns) == V.NULL_COLUMNS
    inside = np.array([(c, p) in motif for c, p in zip(null["contig"], null["pos"], strict=True)])
    assert 0.05 < inside.mean() < 0.3  # random SNVs do hit planted motifs: why "neutral" is used
    p = null.loc[~inside, "pvalue"].to_numpy(float)
    assert len(p) > 1000
    for alpha in (0.01, 0.05, 0.1, 0.25):
        assert (p < alpha).mean() <= _binom_upper(alpha, len(p)), (alpha, (p < alpha).mean())
    assert (bh_adjust(p) > 0.05).all()
    # the motif-breaking part of the null is what the neutral null sets aside: far more of it
    # is small
    assert (null.loc[inside, "pvalue"] < 0.05).mean() > 0.5
    scores = pd.read_csv(out / "scores.tsv.gz", sep="\t")
    db = scores[scores["source"] == "dbsnp"]
    sig = db[db["qvalue"] <= 0.05]
    in_motif = np.array([(c, p) in motif for c, p in zip(sig["contig"], sig["pos"], strict=True)])
    assert len(sig) == 0 or in_motif.mean() >= 0.95, (len(sig), in_motif.mean())


def test_a_vcf_for_another_assembly_is_refused(motif_world, monkeypatch, tmp_path):
    """A ClinVar or dbSNP VCF for another assembly passed normalisation (its contigs and lengths
    fit) and was scored on the REF-matching minority, silently. When REF disagrees with the
    genome at many SNVs the run stops naming the VCF; the odd mismatch is still only counted."""
    plain = tmp_path / "shifted.vcf"
    lines = gzip.decompress(motif_world["clinvar"].read_bytes()).decode().splitlines()
    shifted = []  # every record one base to the right: REF is now mostly the wrong base
    for line in lines:
        if line.startswith("#"):
            shifted.append(line)
            continue
        f = line.split("\t")
        f[1] = str(int(f[1]) + 1)
        shifted.append("\t".join(f))
    plain.write_text("\n".join(shifted) + "\n")
    vcf = tmp_path / "shifted.vcf.gz"
    pysam.tabix_compress(str(plain), str(vcf), force=True)
    pysam.tabix_index(str(vcf), preset="vcf", force=True)
    with pytest.raises(ValueError, match=r"shifted\.vcf\.gz: REF disagrees with the genome .* at \d+ of \d+ SNVs.*another assembly"):
        _motif_run(motif_world, monkeypatch, tmp_path / "o", clinvar_vcf=vcf)
    few = {"ref_mismatch": 19, "snvs": 19, "ref_mismatch_examples": []}  # below the floor
    V.check_ref_agreement(few, vcf, "g.fa")
    V.check_ref_agreement({**few, "ref_mismatch": 20, "snvs": 400}, vcf, "g.fa")  # 5 %: stale records
    with pytest.raises(ValueError, match="another assembly"):
        V.check_ref_agreement({**few, "ref_mismatch": 41, "snvs": 400}, vcf, "g.fa")
