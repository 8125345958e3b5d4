"""``dnalm score-variants``: SNVs, indels and multi-allelic records of a user's VCF, checked
against the workflow's own scoring (dnalm.variants) and against hand-built windows."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
from dnalm import variants as V
from dnalm import vcf as dvcf
from dnalm.cli import main
from dnalm.predict import load_classifier, predict_proba
from dnalm.variant_io import iter_records, left_normalise, variant_windows
from dnalm.variants.effects import load_mlm

from tests.cli_models import random_classifier, write_genome
from tests.synth import make_lm

pytestmark = pytest.mark.usefixtures("torch_one_thread")

K, L = 3, 41
HEADER = "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=400>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scorevar")
    rng = np.random.default_rng(5)
    chr1 = list(rng.choice(list("ACGT"), 400))
    chr1[200:207] = list("GCAAAAT")  # a run of A: a deletion in it left-aligns to pos 202 (1-based)
    seqs = {"chr1": "".join(chr1), "chr2": "".join(rng.choice(list("ACGT"), 200))}
    genome = write_genome(tmp, seqs)
    clf = random_classifier(tmp / "clf", K, L)
    lm = make_lm(tmp / "lm", k=K, max_positions=64, hidden=16)
    g = lambda c, p: seqs[c][p - 1]  # noqa: E731 - 1-based genome base
    other = {b: next(x for x in "ACGT" if x != b) for b in "ACGT"}
    recs = [
        f"chr1\t100\tsnv\t{g('chr1', 100)}\t{other[g('chr1', 100)]}\t.\t.\t.",
        f"chr1\t150\tins\t{g('chr1', 150)}\t{g('chr1', 150)}TT\t.\t.\t.",
        # deletion of one A written at the end of the run (right-shifted): AA -> A at 205
        "chr1\t205\tdel\tAA\tA\t.\t.\t.",
        # multi-allelic: an SNV and a 1-bp deletion, written with a shared REF
        f"chr1\t300\tmulti\t{g('chr1', 300)}{g('chr1', 301)}\t{other[g('chr1', 300)]}{g('chr1', 301)},"
        f"{g('chr1', 300)}\t.\t.\t.",
        f"chr1\t320\tbadref\t{other[g('chr1', 320)]}\tT\t.\t.\t.",
        "chr1\t330\tsym\tA\t<DEL>\t.\t.\tSVTYPE=DEL;UNDECLARED=1",
        f"2\t198\tend\t{g('chr2', 198)}\t{other[g('chr2', 198)]}\t.\t.\t.",  # alias, padded window
        "chrX\t5\tnope\tA\tC\t.\t.\t.",
    ]
    vcf = tmp / "in.vcf"
    vcf.write_text(HEADER + "".join(r + "\n" for r in recs))
    return {"tmp": tmp, "genome": genome, "seqs": seqs, "clf": clf, "lm": lm, "vcf": vcf}


@pytest.fixture(scope="module")
def scored(world):
    out = world["tmp"] / "res" / "scored"
    rc = main(["score-variants", str(world["clf"]), "--vcf", str(world["vcf"]), "--genome",
               str(world["genome"]), "--lm", str(world["lm"]), "--quiet", "--device", "cpu",
               "-o", str(out)])
    assert rc == 0
    tsv = pd.read_csv(f"{out}.tsv", sep="\t", na_values=".", keep_default_na=False)
    return out, tsv


def test_every_allele_gets_a_row_and_a_status(scored):
    out, tsv = scored
    assert list(tsv["id"]) == ["snv", "ins", "del", "multi", "multi", "badref", "sym", "end", "nope"]
    assert list(tsv["status"]) == ["scored"] * 5 + ["ref_mismatch", "symbolic", "scored",
                                                    "unknown_contig"]
    assert list(tsv["kind"].fillna("")) == ["snv", "ins", "del", "snv", "del", "", "", "snv", ""]
    summary = json.loads(Path(f"{out}.json").read_text())
    assert summary["counts"] == {"scored": 6, "ref_mismatch": 1, "symbolic": 1, "no_change": 0,
                                 "unknown_contig": 1, "outside_contig": 0, "n_window": 0}
    # `end` (chr2:198 of 200) is scored on an N-padded window: counted and warned, not silent
    assert summary["edge_padded"] == 1
    assert any("1 scored alleles lie within" in w and "N-padded" in w for w in summary["warnings"])
    ok = tsv["status"] == "scored"
    assert tsv.loc[ok, ["p_ref", "p_alt", "diff", "logOR"]].notna().all().all()
    assert tsv.loc[~ok, ["p_ref", "p_alt", "llr"]].isna().all().all()
    # the zero-shot LLR is for single-base alleles only
    assert tsv.loc[ok, "llr"].notna().tolist() == [True, False, False, True, False, True]


def test_snv_scores_equal_the_workflows(world, scored):
    _, tsv = scored
    snv = tsv[(tsv["kind"] == "snv")].reset_index(drop=True)
    fa = pysam.FastaFile(str(world["genome"]))
    lengths = dict(zip(fa.references, fa.lengths, strict=True))
    contig = {"chr1": "chr1", "2": "chr2"}
    alleles = [dvcf.Allele(contig[r.chrom], int(r.norm_pos), r.norm_ref, r.norm_alt)
               for r in snv.itertuples()]
    cands = [(a, V.Interval(a.contig, a.pos0, a.pos0 + 1, "+")) for a in alleles]
    win = V.scoring_windows(cands, fa, lengths, L, None)  # the workflow's centred windows
    model, k = load_classifier(world["clf"])
    p_ref, p_alt = V.classifier_delta(model, k, win.ref, win.alt)
    diff, logor = V.delta_scores(p_ref, p_alt)
    zs_w, zs_off = zip(*(V.genome_window(fa, a.contig, a.pos0, L, lengths[a.contig])
                         for a in alleles), strict=True)
    mlm, lm_k = load_mlm(world["lm"])
    llr = V.zero_shot_llr(mlm, lm_k, list(zs_w), list(zs_off), [a.ref for a in alleles],
                          [a.alt for a in alleles])
    for col, want in (("p_ref", p_ref), ("p_alt", p_alt), ("diff", diff), ("logOR", logor),
                      ("llr", llr)):
        np.testing.assert_allclose(snv[col], want, rtol=1e-6, atol=1e-7, err_msg=col)
    assert len({round(v, 6) for v in snv["p_ref"]}) == len(snv)  # the model is not constant


def test_indels_are_left_aligned_and_windows_rebuilt(world, scored):
    _, tsv = scored
    seqs = world["seqs"]["chr1"]
    d = tsv.set_index("id")
    # AA->A at 205 inside GCAAAAT (201-207) moves to CA->C at 202
    assert (d.loc["del", "norm_pos"], d.loc["del", "norm_ref"], d.loc["del", "norm_alt"]) == (202, "CA", "C")
    ins = d.loc["ins"]
    assert (ins["norm_ref"], ins["norm_alt"]) == (seqs[149], seqs[149] + "TT")
    model, k = load_classifier(world["clf"])
    c = L // 2
    # deletion: same left flank, the deleted A dropped, one more base pulled in on the right
    ref_w = seqs[201 - c : 201 - c + L]
    alt_del = seqs[201 - c : 202] + seqs[203 : 203 + L - c - 1]
    # insertion: TT after the anchor, the right flank trimmed by two bases
    alt_ins = seqs[149 - c : 150] + "TT" + seqs[150 : 150 + L - c - 3]
    assert len(alt_del) == len(alt_ins) == L
    p = predict_proba(model, [ref_w, alt_del, alt_ins], k)[:, 1]
    assert d.loc["del", "p_ref"] == pytest.approx(p[0], abs=1e-6)
    assert d.loc["del", "p_alt"] == pytest.approx(p[1], abs=1e-6)
    assert d.loc["ins", "p_alt"] == pytest.approx(p[2], abs=1e-6)


def test_vcf_output_carries_per_allele_info(world, scored):
    out, tsv = scored
    with pysam.VariantFile(f"{out}.vcf.gz") as vf:
        for key in ("DNALM_PREF", "DNALM_PALT", "DNALM_DIFF", "DNALM_LOGOR", "DNALM_LLR"):
            assert vf.header.info[key].number == "A"
        recs = list(vf)
    assert [r.id for r in recs] == ["snv", "ins", "del", "multi", "badref", "sym", "end", "nope"]
    multi = recs[3]
    rows = tsv[tsv["id"] == "multi"]
    assert multi.info["DNALM_LOGOR"] == pytest.approx(tuple(rows["logOR"]), rel=1e-6)
    assert multi.info["DNALM_LLR"][0] == pytest.approx(rows["llr"].iloc[0], rel=1e-6)
    assert multi.info["DNALM_LLR"][1] is None
    assert "DNALM_PREF" not in recs[4].info  # REF mismatch: nothing scored


def test_batch_and_chunk_size_do_not_change_scores(world, scored, tmp_path):
    from dnalm.score_vcf import score_vcf

    _, tsv = scored
    model, k = load_classifier(world["clf"])
    score_vcf(model, k, world["vcf"], world["genome"], tmp_path / "b", L, batch_size=1, chunk=2)
    other = pd.read_csv(tmp_path / "b.tsv", sep="\t", na_values=".", keep_default_na=False)
    # float32 forwards of batch 1 and of the default batch differ by a few ulps in the
    # probabilities, ~2e-6 in a logOR near 0.07 on this CPU; a batching bug moves it by >1e-2
    np.testing.assert_allclose(other["logOR"], tsv["logOR"], rtol=1e-5, atol=1e-5)


def test_left_normalise_and_windows_reference_cases():
    g = "GGCAAAATCCTCTCTA"

    def fetch(s, e):
        return g[s:e]

    assert left_normalise(fetch, 5, "AA", "A") == (2, "CA", "C")  # 0-based, anchor C at 2
    assert left_normalise(fetch, 6, "A", "AA") == (2, "C", "CA")
    assert left_normalise(fetch, 10, "TCT", "T") == (8, "CCT", "C")  # CT repeat shifts left
    assert left_normalise(fetch, 2, "CAA", "GAA") == (2, "C", "G")  # SNV trimmed
    assert left_normalise(fetch, 0, "GG", "G") == (0, "GG", "G")  # nothing to the left
    ref_w, alt_w, off = variant_windows(fetch, len(g), 14, "T", "TTTT", 7)
    assert (ref_w, alt_w, off) == ("CTCTANN", "CTCTTTT", 3)  # N past the end; insertion trims


def test_bad_vcf_lines_are_named_and_nothing_is_written(world, tmp_path, capsys):
    out = tmp_path / "o"
    base = [str(world["clf"]), "--genome", str(world["genome"]), "--quiet", "-o", str(out)]
    cases = {
        "cols": (HEADER + "chr1\t5\tx\tA\n", 4, "8 tab-separated"),
        "pos": (HEADER + "chr1\t5\tx\tA\tC\t.\t.\t.\nchr1\tfive\tx\tA\tC\t.\t.\t.\n", 5, "POS"),
        "ref": (HEADER + "chr1\t5\tx\tAX\tC\t.\t.\t.\n", 4, "REF"),
        "alt": (HEADER + "chr1\t5\tx\tA\tC,?\t.\t.\t.\n", 4, "ALT allele '?'"),
        "nohead": ("##fileformat=VCFv4.2\nchr1\t5\tx\tA\tC\t.\t.\t.\n", 2, "#CHROM"),
        "notvcf": ("chr1\t5\n", 1, "not a VCF"),
    }
    for name, (text, line, what) in cases.items():
        vcf = tmp_path / f"{name}.vcf"
        vcf.write_text(text)
        assert main(["score-variants", *base, "--vcf", str(vcf)]) == 2, name
        err = capsys.readouterr().err
        assert f"{vcf}:{line}:" in err and what in err, (name, err)
    # a REF mismatch fails with --strict-ref, naming the line
    assert main(["score-variants", *base, "--vcf", str(world["vcf"]), "--strict-ref"]) == 2
    assert f"{world['vcf']}:8: REF" in capsys.readouterr().err
    assert list(tmp_path.glob("o*")) == [] and list(tmp_path.glob(".o*")) == []
    with pytest.raises(ValueError, match="not found"):
        list(iter_records(tmp_path / "missing.vcf"))


def test_a_vcf_that_does_not_fit_the_genome_is_said_loudly(world, scored, tmp_path, caplog):
    """Another assembly's VCF (REFs that mostly disagree) or one on other contigs scores
    nothing, or little, and says so in the log and in OUT.json; a fitting VCF carries only its
    one REF mismatch there."""
    import logging

    out, _ = scored
    first = json.loads(Path(f"{out}.json").read_text())["warnings"]
    assert len(first) == 2 and "1 of 7 alleles skipped: REF does not match" in first[0]
    assert "N-padded" in first[1]  # the `end` record (its own test above)
    assert "another assembly" not in first[0]
    seq = world["seqs"]["chr1"]
    other = {b: next(x for x in "ACGT" if x != b) for b in "ACGT"}
    # 12 SNVs whose REF is the wrong base at 9 of them, and two records on an absent contig
    lines = [f"chr1\t{p}\tv{p}\t{other[seq[p - 1]] if i < 9 else seq[p - 1]}\tT\t.\t.\t."
             for i, p in enumerate(range(60, 300, 20))]
    lines += ["chr7\t5\tu1\tA\tC\t.\t.\t.", "chrUn_x\t9\tu2\tA\tC\t.\t.\t."]
    vcf = tmp_path / "other_build.vcf"
    vcf.write_text(HEADER + "".join(line + "\n" for line in lines))
    base = [str(world["clf"]), "--genome", str(world["genome"]), "--quiet", "--device", "cpu"]
    with caplog.at_level(logging.WARNING, logger="dnalm.score_vcf"):
        assert main(["score-variants", *base, "--vcf", str(vcf), "-o", str(tmp_path / "a")]) == 0
    summary = json.loads((tmp_path / "a.json").read_text())
    assert summary["counts"]["scored"] == 3 and summary["counts"]["unknown_contig"] == 2
    assert summary["warnings"] == [
        f"{vcf}: 9 of 12 alleles skipped: REF does not match {world['genome']} (most of them: is "
        "the VCF on another assembly than the genome?)"]
    assert "2 contig(s) are not in" in caplog.text and "chr7, chrUn_x" in caplog.text
    assert summary["warnings"][0] in caplog.text
    # nothing on the genome's contigs: nothing scored, said as such
    vcf2 = tmp_path / "elsewhere.vcf"
    vcf2.write_text(HEADER + "".join(line + "\n" for line in lines[-2:]))
    assert main(["score-variants", *base, "--vcf", str(vcf2), "-o", str(tmp_path / "b")]) == 0
    w = json.loads((tmp_path / "b.json").read_text())["warnings"]
    assert w == [f"{vcf2}: no allele was scored out of 2 records (2 unknown_contig)"]


def test_lm_too_short_for_the_window_and_gzip_input(world, tmp_path, capsys):
    short = make_lm(tmp_path / "short", k=K, max_positions=32, hidden=16)
    base = [str(world["clf"]), "--genome", str(world["genome"]), "--quiet", "-o", str(tmp_path / "o")]
    assert main(["score-variants", *base, "--vcf", str(world["vcf"]), "--lm", str(short)]) == 2
    assert "needs 41" in capsys.readouterr().err
    gz = tmp_path / "in.vcf.gz"
    pysam.tabix_compress(str(world["vcf"]), str(gz))
    assert main(["score-variants", *base, "--vcf", str(gz)]) == 0
    assert len((tmp_path / "o.tsv").read_text().splitlines()) == 1 + 9


def test_scoring_its_own_output_again_replaces_the_values(world, scored, tmp_path):
    out, tsv = scored
    assert main(["score-variants", str(world["clf"]), "--vcf", f"{out}.vcf.gz", "--genome",
                 str(world["genome"]), "--quiet", "-o", str(tmp_path / "again")]) == 0
    again = pd.read_csv(tmp_path / "again.tsv", sep="\t", na_values=".", keep_default_na=False)
    pd.testing.assert_frame_equal(again.drop(columns=["line", "llr"]),
                                  tsv.drop(columns=["line", "llr"]))
    with pysam.VariantFile(str(tmp_path / "again.vcf.gz")) as vf:
        recs = {r.id: r for r in vf}
    assert "DNALM_LLR" not in recs["snv"].info  # no --lm this time: the old LLR is gone
    assert recs["sym"].info["UNDECLARED"] in (1, "1", True)  # the user's INFO is kept
    text = gzip.decompress((tmp_path / "again.vcf.gz").read_bytes()).decode()
    assert text.count("##INFO=<ID=DNALM_PREF,") == 1


def test_parse_region_forms_and_errors():
    from dnalm.score_vcf import Region, parse_region

    assert parse_region("chr1") == Region("chr1", 1, None)
    assert parse_region("chr1:1,000-2,000") == Region("chr1", 1000, 2000)  # commas as samtools
    assert parse_region(" NC_000001.11:5-5 ") == Region("NC_000001.11", 5, 5)
    for bad in ("chr1:5", "chr1:5-", "chr1:x-9", "chr1:9-3", "chr1:0-3", "", "chr 1"):
        with pytest.raises(ValueError, match="region"):
            parse_region(bad)


def test_regions_keep_only_overlapping_records(world, scored, tmp_path):
    _, full = scored
    out = tmp_path / "r"
    # del (REF AA at 205-206) overlaps 151-205 by its first base; ins at 150 lies outside; the
    # VCF's contig "2" is the genome's chr2, named either way
    assert main(["score-variants", str(world["clf"]), "--vcf", str(world["vcf"]), "--genome",
                 str(world["genome"]), "--quiet", "--region", "chr1:151-205", "--region", "chr2",
                 "-o", str(out)]) == 0
    tsv = pd.read_csv(f"{out}.tsv", sep="\t", na_values=".", keep_default_na=False)
    assert list(tsv["id"]) == ["del", "end"]
    want = full.set_index("id").loc[["del", "end"]]
    np.testing.assert_allclose(tsv["logOR"], want["logOR"], rtol=1e-5, atol=1e-6)
    assert list(tsv["line"]) == list(want["line"])  # line numbers of the input VCF
    with pysam.VariantFile(f"{out}.vcf.gz") as v:
        assert [r.id for r in v] == ["del", "end"]
    summary = json.loads(Path(f"{out}.json").read_text())
    assert summary["n_records"] == 2 and summary["regions"] == ["chr1:151-205", "chr2"]
    # a region touching only the deletion's last REF base still selects it; nothing inside: empty
    assert main(["score-variants", str(world["clf"]), "--vcf", str(world["vcf"]), "--genome",
                 str(world["genome"]), "--quiet", "--region", "chr1:206-206", "--region",
                 "chr1:390-400", "-o", str(out)]) == 0
    assert list(pd.read_csv(f"{out}.tsv", sep="\t")["id"]) == ["del"]


def test_bad_regions_are_refused_before_writing(world, tmp_path, capsys):
    out = tmp_path / "o"
    base = ["score-variants", str(world["clf"]), "--vcf", str(world["vcf"]), "--genome",
            str(world["genome"]), "--quiet", "-o", str(out)]
    assert main([*base, "--region", "chr1:100"]) == 2
    assert "--region: region 'chr1:100': expected CHR or CHR:START-END" in capsys.readouterr().err
    assert main([*base, "--region", "chr1:300-200"]) == 2
    assert "START must be >= 1 and <= END" in capsys.readouterr().err
    assert main([*base, "--region", "chr1", "--region", "chrZ:1-10"]) == 2
    err = capsys.readouterr().err
    assert "region chrZ: not a contig of" in err and "chr1, chr2" in err
    assert list(tmp_path.glob("o*")) == [] and list(tmp_path.glob(".o*")) == []


def test_a_variant_in_an_assembly_gap_is_not_scored(world, tmp_path):
    """A gap's N matches REF N, and the model scored the window of N (p_ref = p_alt, diff 0): a
    confident "no effect". Now such alleles are `n_window`, counted and warned about."""
    rng = np.random.default_rng(9)
    seq = "".join(rng.choice(list("ACGT"), 100)) + "N" * 100 + "".join(rng.choice(list("ACGT"), 100))
    genome = write_genome(tmp_path, {"chr1": seq})
    vcf = tmp_path / "gap.vcf"
    vcf.write_text(HEADER + "chr1\t150\tgap\tN\tA\t.\t.\t.\n"
                   f"chr1\t50\tok\t{seq[49]}\t{'A' if seq[49] != 'A' else 'C'}\t.\t.\t.\n"
                   f"chr1\t96\tedge\t{seq[95]}\t{'A' if seq[95] != 'A' else 'C'}\t.\t.\t.\n")
    # "edge": its 41-bp window [75, 116) holds 16 N, under half: scored
    out = tmp_path / "s"
    assert main(["score-variants", str(world["clf"]), "--vcf", str(vcf), "--genome", str(genome),
                 "--quiet", "--device", "cpu", "-o", str(out)]) == 0  # fmt: skip
    tsv = pd.read_csv(f"{out}.tsv", sep="\t", na_values=".", keep_default_na=False).set_index("id")
    assert tsv.loc["gap", "status"] == "n_window" and pd.isna(tsv.loc["gap", "p_ref"])
    assert (tsv.loc[["ok", "edge"], "status"] == "scored").all()
    summary = json.loads(Path(f"{out}.json").read_text())
    assert {k: v for k, v in summary["counts"].items() if v} == {"n_window": 1, "scored": 2}
    assert any("1 alleles not scored: their window is more than half N" in w for w in summary["warnings"])


def test_an_alt_equal_to_its_ref_is_not_scored(world, tmp_path):
    """REF == ALT (any case) is no variant: its ref and alt windows are the same, and it was
    scored as an SNV with diff 0, a confident "no effect" (the workflow skips it). Now it is
    `no_change`, counted and warned about; the real SNV beside it is still scored."""
    seq = world["seqs"]["chr1"]
    b, o = seq[99], next(x for x in "ACGT" if x != seq[99])
    vcf = tmp_path / "same.vcf"
    vcf.write_text(HEADER + f"chr1\t100\tsame\t{b}\t{b.lower()}\t.\t.\t.\n"
                   f"chr1\t100\tsnv\t{b}\t{o},{b}\t.\t.\t.\n"
                   f"chr1\t200\tmnv\t{seq[199:201]}\t{seq[199:201]}\t.\t.\t.\n")
    out = tmp_path / "s"
    assert main(["score-variants", str(world["clf"]), "--vcf", str(vcf), "--genome",
                 str(world["genome"]), "--quiet", "--device", "cpu", "-o", str(out)]) == 0
    tsv = pd.read_csv(f"{out}.tsv", sep="\t", na_values=".", keep_default_na=False)
    assert list(tsv["status"]) == ["no_change", "scored", "no_change", "no_change"]
    assert tsv.loc[tsv["status"] == "no_change", ["p_ref", "diff"]].isna().all().all()
    summary = json.loads(Path(f"{out}.json").read_text())
    assert {k: v for k, v in summary["counts"].items() if v} == {"no_change": 3, "scored": 1}
    assert any("3 alleles not scored: ALT equals REF" in w for w in summary["warnings"])


def test_an_output_that_is_a_directory_is_refused_before_scoring(world, tmp_path, capsys):
    """`-o s` with a directory `s.tsv` failed after scoring, naming a hidden temporary file, and
    left `s.json` behind although the outputs are written together."""
    (tmp_path / "s.tsv").mkdir()
    rc = main(["score-variants", str(world["clf"]), "--vcf", str(world["vcf"]), "--genome",
               str(world["genome"]), "--quiet", "--device", "cpu", "-o", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert rc == 2 and f"would write {tmp_path / 's.tsv'}, which is a directory" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.tsv"]


def test_an_output_that_is_the_input_vcf_is_refused(world, tmp_path, capsys):
    """`--vcf calls.vcf.gz -o calls`, the natural naming, replaced the user's VCF with the
    annotated one (with --region, a VCF of the region's records only)."""
    import shutil

    vcf = tmp_path / "calls.vcf.gz"
    shutil.copy(world["vcf"], vcf)
    before = vcf.read_bytes()
    rc = main(["score-variants", str(world["clf"]), "--vcf", str(vcf), "--genome",
               str(world["genome"]), "--quiet", "--device", "cpu", "-o", str(tmp_path / "calls")])
    err = capsys.readouterr().err
    assert rc == 2 and f"would overwrite the input {vcf}" in err, err
    assert vcf.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["calls.vcf.gz"]


def test_a_plain_gzip_genome_is_named_as_such(world, tmp_path, capsys):
    """htslib cannot index plain gzip: the message was htslib's 'cannot open' (the bgzip hint
    only in htslib's own stderr line). score-variants, scan and predict --bed share the check."""
    import gzip

    from dnalm.fasta import Genome, open_indexed

    plain = tmp_path / "g.fa"
    with pysam.FastaFile(str(world["genome"])) as fa:
        plain.write_text("".join(f">{c}\n{fa.fetch(c)}\n" for c in fa.references))
    gz = tmp_path / "g.fa.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    rc = main(["score-variants", str(world["clf"]), "--vcf", str(world["vcf"]), "--genome", str(gz),
               "--quiet", "--device", "cpu", "-o", str(tmp_path / "s")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and f"{gz}: plain gzip, which cannot be indexed; recompress it with bgzip" in err, err
    for opener in (open_indexed, Genome):
        with pytest.raises(ValueError, match="plain gzip"):
            opener(gz)
    with open_indexed(plain) as fa:  # a plain FASTA is indexed beside it
        assert fa.references == ["chr1", "chr2"]
