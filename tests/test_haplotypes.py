"""dnalm.haplotypes: simulation, phased-VCF reader, tokens, samplers, metrics, evaluation."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pysam
import pytest
from dnalm.haplotypes import (
    Haplotypes,
    af_correlation,
    copy_training_sampler,
    decode_haplotypes,
    encode_haplotypes,
    generate_haplotypes,
    hamming,
    independent_sites_sampler,
    ld_correlation,
    ld_pairs_r2,
    load_haplotypes,
    markov_sampler,
    nearest_distance,
    nn_adversarial_accuracy,
    read_haplotypes,
    save_haplotypes,
    simulate_haplotypes,
    split_haplotypes,
    text_sampler,
    write_haplotype_vcf,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED_1KG_SITES = (
    ROOT.parent / "shared" / "data" / "real" / "grch37_chr20_1000001-2000000.1kg_sites.vcf.gz"
)
SMALL = dict(samples_per_deme=20, length=100_000, max_sites=80)


@pytest.fixture(scope="module")
def demo() -> Haplotypes:
    """The demo-sized simulation (600 haplotypes x 300 SNPs), shared by the sampler tests."""
    return simulate_haplotypes(seed=1)


# ----------------------------------------------------------------------------- simulation


def test_simulation_is_deterministic_for_a_seed(tmp_path):
    a = simulate_haplotypes(seed=5, vcf_path=tmp_path / "a.vcf.gz", **SMALL)
    b = simulate_haplotypes(seed=5, vcf_path=tmp_path / "b.vcf.gz", **SMALL)
    c = simulate_haplotypes(seed=6, **SMALL)
    assert np.array_equal(a.matrix, b.matrix) and np.array_equal(a.positions, b.positions)
    assert (tmp_path / "a.vcf.gz").read_bytes() == (tmp_path / "b.vcf.gz").read_bytes()
    assert (tmp_path / "a.vcf.gz.tbi").is_file()
    assert a.matrix.shape != c.matrix.shape or not np.array_equal(a.matrix, c.matrix)


def test_simulated_vcf_has_a_proper_header_and_reads_back(tmp_path):
    hap = simulate_haplotypes(seed=2, vcf_path=tmp_path / "s.vcf.gz", **SMALL)
    with pysam.VariantFile(str(tmp_path / "s.vcf.gz")) as vf:
        assert list(vf.header.contigs) == ["sim1"] and "GT" in vf.header.formats
        assert len(vf.header.samples) == 60
        rec = next(iter(vf))
        assert all(rec.samples[s].phased for s in rec.samples)
    back = read_haplotypes(tmp_path / "s.vcf.gz", region="sim1:1-100001")
    assert np.array_equal(back.matrix, hap.matrix) and back.samples == hap.samples
    assert list(back.ref) == list(hap.ref) and list(back.alt) == list(hap.alt)


def test_simulation_has_population_structure_and_ld(demo):
    assert demo.matrix.shape == (600, 300)
    deme = np.repeat([int(s[3]) for s in demo.samples], 2)
    af = np.stack([demo.matrix[deme == d].mean(0) for d in range(3)])
    assert np.abs(af[0] - af[1]).max() > 0.2  # demes differ
    r2_near = ld_pairs_r2(demo.matrix, 1)[2]
    shuffled = np.stack(
        [np.random.default_rng(j).permutation(c) for j, c in enumerate(demo.matrix.T)], 1
    )
    assert np.nanmean(r2_near) > 5 * np.nanmean(ld_pairs_r2(shuffled, 1)[2])


# ----------------------------------------------------------------------------- reader

HEADER = """##fileformat=VCFv4.2
##contig=<ID=chr9,length=1000>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">
#CHROM	POS	ID	REF	ALT	QUAL	FILTER	INFO	FORMAT	s1	s2	s3
"""
N_HEADER = 5


def _vcf(tmp_path: Path, body: list[str], name: str = "h.vcf") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join("\t".join(r.split()) + "\n" for r in body))
    return path


GOOD = [
    "chr9 10 . A G . PASS . GT 0|1 1|1 0|0",
    "chr9 20 . C T,G . PASS . GT 0|1 2|1 0|0",  # multi-allelic: skipped
    "chr9 30 . AT A . PASS . GT 0|1 1|0 0|0",  # indel: skipped
    "chr9 40 . G A . PASS . GT 0|0 0|0 0|0",  # monomorphic: skipped
    "chr9 50 . t c . PASS . GT:DP 1|0:3 0|0:7 0|1:2",
]


def test_reader_on_a_hand_written_phased_vcf(tmp_path):
    hap = read_haplotypes(_vcf(tmp_path, GOOD))
    assert hap.contig == "chr9" and hap.samples == ["s1", "s2", "s3"]
    assert hap.positions.tolist() == [10, 50]
    assert hap.ref.tolist() == ["A", "T"] and hap.alt.tolist() == ["G", "C"]
    # haplotype rows: s1 left, s1 right, s2 left, ...
    assert hap.matrix.T.tolist() == [[0, 1, 1, 1, 0, 0], [1, 0, 0, 0, 0, 1]]
    assert hap.skipped == {"multiallelic": 1, "not_snp": 1, "low_maf": 1}
    again = read_haplotypes(
        _vcf(tmp_path, [*GOOD, "chr9 50 . T G . PASS . GT 1|0 0|0 0|1"], "r.vcf")
    )
    assert again.positions.tolist() == [10, 50] and again.skipped["repeated_position"] == 1
    with pytest.raises(
        ValueError, match=rf"u\.vcf:{N_HEADER + 2}: position 5 after 10: .*not sorted"
    ):
        read_haplotypes(_vcf(tmp_path, [GOOD[0], "chr9 5 . T G . PASS . GT 1|0 0|0 0|1"], "u.vcf"))


def test_reader_region_through_the_index_and_chr_prefix(tmp_path):
    plain = _vcf(tmp_path, GOOD)
    gz = tmp_path / "h.vcf.gz"
    pysam.tabix_compress(str(plain), str(gz))
    pysam.tabix_index(str(gz), preset="vcf")
    assert read_haplotypes(gz, region="chr9:1-45").positions.tolist() == [10]
    assert read_haplotypes(gz, region="9:45-60").positions.tolist() == [50]
    assert read_haplotypes(gz, min_maf=0.4).positions.tolist() == [10]  # MAFs 3/6 and 2/6
    with pytest.raises(ValueError, match="not in the VCF header"):
        read_haplotypes(gz, region="chr1:1-10")


@pytest.mark.parametrize(
    ("gt", "message"),
    [
        ("0/1", "unphased genotype '0/1'"),
        (".|0", "missing genotype"),
        (".", "missing genotype"),
        ("0", "not diploid"),
        ("0|2", "allele other than 0/1"),
    ],
)
def test_reader_errors_name_file_and_line(tmp_path, gt, message):
    body = [GOOD[0], f"chr9 60 . A C . PASS . GT 0|1 {gt} 0|0"]
    path = _vcf(tmp_path, body)
    with pytest.raises(
        ValueError, match=rf"h\.vcf:{N_HEADER + 2}: sample 2 \(column 11\): .*{message}"
    ):
        read_haplotypes(path)


def test_reader_errors_on_missing_gt_and_names_position_in_a_region(tmp_path):
    with pytest.raises(ValueError, match=rf"h\.vcf:{N_HEADER + 1}: no GT field"):
        read_haplotypes(_vcf(tmp_path, ["chr9 10 . A G . PASS . DP 3 4 5"]))
    plain = _vcf(tmp_path, [GOOD[0], "chr9 60 . A C . PASS . GT 0|1 0/1 0|0"], name="r.vcf")
    pysam.tabix_compress(str(plain), str(tmp_path / "r.vcf.gz"))
    pysam.tabix_index(str(tmp_path / "r.vcf.gz"), preset="vcf")
    with pytest.raises(ValueError, match=r"r\.vcf\.gz:chr9:60: sample 2 .*unphased"):
        read_haplotypes(tmp_path / "r.vcf.gz", region="chr9:1-100")


@pytest.mark.skipif(not SHARED_1KG_SITES.is_file(), reason=f"{SHARED_1KG_SITES} is absent")
def test_reader_refuses_the_real_1000_genomes_sites_only_file():
    """The shared real 1000 Genomes chr20 piece is sites-only (no genotype columns)."""
    with pytest.raises(ValueError, match="no sample columns"):
        read_haplotypes(SHARED_1KG_SITES)


def test_store_and_vcf_round_trip(tmp_path):
    hap = simulate_haplotypes(seed=3, **SMALL)
    save_haplotypes(hap, tmp_path / "h.npz")
    back = load_haplotypes(tmp_path / "h.npz")
    assert np.array_equal(back.matrix, hap.matrix) and back.samples == hap.samples
    assert back.contig == hap.contig and back.skipped == hap.skipped
    write_haplotype_vcf(hap, tmp_path / "w.vcf.gz")
    with gzip.open(tmp_path / "w.vcf.gz", "rt") as fh:
        rows = [line for line in fh if not line.startswith("#")]
    assert len(rows) == hap.n_sites and "\tGT\t" in rows[0]
    assert np.array_equal(read_haplotypes(tmp_path / "w.vcf.gz").matrix, hap.matrix)


# ----------------------------------------------------------------------------- split, tokens


def test_split_keeps_both_copies_of_a_sample_together(demo):
    train, held = split_haplotypes(demo, 0.25, seed=4)
    assert len(held.samples) == 75 and len(train.samples) == 225
    assert not set(train.samples) & set(held.samples)
    i = demo.samples.index(held.samples[0])
    assert np.array_equal(held.matrix[:2], demo.matrix[2 * i : 2 * i + 2])
    again = split_haplotypes(demo, 0.25, seed=4)[1]
    assert again.samples == held.samples


def test_encode_decode_round_trip_and_invalid_counts():
    m = np.array([[0, 1, 0], [1, 1, 0]], dtype=np.int8)
    ref, alt = np.array(["A", "C", "G"]), np.array(["T", "G", "A"])
    seqs = encode_haplotypes(m, ref, alt)
    assert seqs == ["AGG", "TGG"]
    dec = decode_haplotypes([*seqs, "AG", "ACGT", "ANG", "xgg", "aga"], ref, alt)
    assert np.array_equal(dec.matrix, np.array([[0, 1, 0], [1, 1, 0], [0, 1, 1]]))
    assert dec.valid.tolist() == [True, True, False, False, False, False, True]
    assert dec.n_wrong_length == 2 and dec.n_invalid_token == 2 and dec.n_invalid_letters == 2
    with pytest.raises(ValueError, match="REF equals ALT"):
        encode_haplotypes(m, ref, np.array(["T", "C", "A"]))


def test_text_sampler_redraws_invalid_strings_and_counts_them():
    ref, alt = np.array(["A", "C"]), np.array(["G", "T"])
    calls = []

    def gen(n, rng):
        calls.append(n)
        return ["AC", "GT", "AX", "A"][:n] if len(calls) == 1 else ["GC"] * n

    sampler = text_sampler(gen, ref, alt)
    out = generate_haplotypes(sampler, 4, 2, seed=0)
    assert out.tolist() == [[0, 0], [1, 1], [1, 0], [1, 0]]
    assert calls == [4, 2]
    assert sampler.report() == {
        "n_generated": 6,
        "n_valid": 4,
        "n_wrong_length": 1,
        "n_invalid_token": 1,
    }


def test_a_text_generator_plugs_in_through_the_tokens(demo):
    """A model that writes strings (as a language model would) gives the same haplotypes as the
    sampler it wraps, once its text is decoded."""
    base = markov_sampler(demo.matrix[:100], order=3)

    def write(n, rng):
        return encode_haplotypes(base(n, rng), demo.ref, demo.alt)

    ts = text_sampler(write, demo.ref, demo.alt)
    via_text = generate_haplotypes(ts, 10, demo.n_sites, seed=1)
    assert np.array_equal(via_text, generate_haplotypes(base, 10, demo.n_sites, seed=1))
    assert ts.report()["n_valid"] == 10 and ts.report()["n_invalid_token"] == 0


def test_generate_checks_what_the_sampler_returns():
    with pytest.raises(ValueError, match="shape"):
        generate_haplotypes(lambda n, rng: np.zeros((n, 3), np.int8), 5, 4)
    with pytest.raises(ValueError, match="other than 0 and 1"):
        generate_haplotypes(lambda n, rng: np.full((n, 4), 2, np.int8), 5, 4)
    s = markov_sampler(np.array([[0, 1, 1], [1, 0, 1]]), order=2)
    a, b = generate_haplotypes(s, 7, 3, seed=9), generate_haplotypes(s, 7, 3, seed=9)
    assert np.array_equal(a, b) and a.dtype == np.int8


# ----------------------------------------------------------------------------- samplers on the demo


def test_markov_sampler_beats_the_independent_sites_control(demo):
    train, held = split_haplotypes(demo, 0.25, seed=1)
    n = held.n_haplotypes
    markov = generate_haplotypes(markov_sampler(train.matrix, order=8), n, demo.n_sites, seed=2)
    indep = generate_haplotypes(independent_sites_sampler(train.matrix), n, demo.n_sites, seed=2)
    copy = generate_haplotypes(copy_training_sampler(train.matrix), n, demo.n_sites, seed=2)
    af_m, ld_m = af_correlation(held.matrix, markov), ld_correlation(held.matrix, markov)
    af_i, ld_i = af_correlation(held.matrix, indep), ld_correlation(held.matrix, indep)
    print(f"markov AF r {af_m:.3f} LD r {ld_m:.3f}; independent AF r {af_i:.3f} LD r {ld_i:.3f}")
    assert af_m >= 0.9 and math.isfinite(ld_m)
    assert af_i >= 0.9 and abs(ld_i) < 0.15  # frequencies right, LD absent
    assert ld_m > ld_i + 0.5
    # memorisation: copies sit on training haplotypes, the chain's do not
    assert np.median(nearest_distance(copy, train.matrix)) == 0
    assert np.median(nearest_distance(markov, train.matrix)) > 0.05


# ----------------------------------------------------------------------------- metrics


def test_metrics_against_hand_computed_values():
    real = np.array([[0, 0, 1], [0, 1, 1], [1, 1, 1], [1, 0, 0]], dtype=np.int8)  # AF .5 .5 .75
    art = np.array([[0, 0, 1], [1, 1, 1], [0, 0, 0], [0, 1, 1]], dtype=np.int8)  # AF .25 .5 .75
    # Pearson r of (.5,.5,.75) and (.25,.5,.75): centred (-1/12,-1/12,1/6), (-1/4,0,1/4)
    expected = (1 / 48 + 1 / 24) / math.sqrt((1 / 144 + 1 / 144 + 1 / 36) * (1 / 8))
    assert af_correlation(real, art) == pytest.approx(expected)
    i, j, r2 = ld_pairs_r2(real, 2)
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 1), (1, 2), (0, 2)]
    # sites 0,1: (0,0,1,1) vs (0,1,1,0): r = 0; sites 1,2: (0,1,1,0) vs (1,1,1,0): r² = 1/3;
    # sites 0,2: (0,0,1,1) vs (1,1,1,0): r² = 1/3
    assert r2 == pytest.approx([0.0, 1 / 3, 1 / 3])
    same = np.array([[0, 0], [0, 0], [1, 1], [1, 1]])
    assert ld_pairs_r2(same, 1)[2] == pytest.approx([1.0])
    assert np.isnan(ld_pairs_r2(np.array([[0, 1], [0, 0]]), 1)[2][0])  # monomorphic site
    assert hamming(real[:2], art[1:3]).tolist() == [[2 / 3, 1 / 3], [1 / 3, 2 / 3]]
    assert nearest_distance(real[:2], art).tolist() == [0.0, 0.0]
    assert ld_correlation(real, real) == pytest.approx(1.0)
    sep = nn_adversarial_accuracy(np.array([[0.0], [1.0]]), np.array([[10.0], [11.0]]))[0]
    mix = nn_adversarial_accuracy(np.array([[0.0], [2.0], [4.0]]), np.array([[1.0], [3.0], [5.0]]))[
        0
    ]
    assert sep == 1.0 and mix == 0.0


def test_rule_steps_write_metrics_with_cis_figures_and_strict_json(tmp_path):
    """simulate -> prepare (region read through the index) -> make_artificial -> evaluate."""
    from dnalm.haplotypes import (
        evaluate_haplotype_files,
        load_artificial,
        make_artificial,
        prepare_haplotypes,
    )

    simulate_haplotypes(seed=4, vcf_path=tmp_path / "src.vcf.gz", **SMALL)
    n_train, n_held, n_sites = prepare_haplotypes(
        tmp_path / "src.vcf.gz", tmp_path / "train.npz", tmp_path / "held.npz", region="sim1:1-100001",
        held_out_fraction=0.3, seed=1,
    )  # fmt: skip
    assert (n_train, n_held, n_sites) == (84, 36, 80)
    info = make_artificial(tmp_path / "train.npz", tmp_path / "art.npz", tmp_path / "art.vcf.gz",
                           tmp_path / "gen.json", order=4, n=23, seed=2)  # fmt: skip
    arts = load_artificial(tmp_path / "art.npz")
    assert (
        list(arts) == ["markov4", "independent_sites", "copy_training"]
        and info["model"] == "markov4"
    )
    assert all(a.shape == (24, 80) for a in arts.values())  # rounded up to whole samples
    vcf = read_haplotypes(tmp_path / "art.vcf.gz")
    keep = np.isin(
        load_haplotypes(tmp_path / "train.npz").positions, vcf.positions
    )  # reader drops monomorphic
    assert vcf.samples[:2] == ["AG1", "AG2"] and np.array_equal(
        vcf.matrix, arts["markov4"][:, keep]
    )
    out = tmp_path / "out"
    summary = evaluate_haplotype_files(tmp_path / "train.npz", tmp_path / "held.npz", tmp_path / "art.npz",
                                       tmp_path / "gen.json", out, n_boot=20)  # fmt: skip
    lines = (out / "metrics.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["sampler", "metric", "value", "ci_low", "ci_high", "n_boot"]
    rows = {(r.split("\t")[0], r.split("\t")[1]): r.split("\t")[2:] for r in lines[1:]}
    for s in arts:
        for m in (
            "af_corr",
            "ld_corr",
            "pca_nn_accuracy",
            "dist_art_real",
            "nn_train",
            "memorisation_ratio",
        ):
            assert (s, m) in rows
        lo, hi = float(rows[(s, "af_corr")][1]), float(rows[(s, "af_corr")][2])
        assert lo <= float(rows[(s, "af_corr")][0]) <= hi
    assert float(rows[("copy_training", "nn_train")][0]) == 0.0
    assert ("held_out", "af_corr") in rows
    for fig in ("af", "ld", "pca", "distances"):
        assert (out / "figures" / f"{fig}.png").stat().st_size > 0
        assert (out / "figures" / f"{fig}.svg").is_file()
    text = (out / "summary.json").read_text()
    assert "NaN" not in text and json.loads(text)["model"] == "markov4" == summary["model"]


# ----------------------------------------------------------------------------- config


def _defaults(fn) -> dict:
    import inspect

    return {
        n: p.default
        for n, p in inspect.signature(fn).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def test_function_defaults_agree_with_the_config_block():
    from dnalm.haplotypes import evaluate_haplotype_files, make_artificial
    from dnalm.settings.model import HaplotypeSet, HaplotypeSim

    sim = HaplotypeSim().model_dump()
    hs = HaplotypeSet(simulate={}).model_dump()
    fn = _defaults(simulate_haplotypes)
    for key, value in sim.items():
        assert fn[key] == value, f"simulate_haplotypes({key}=) vs haplotypes.<name>.simulate.{key}"
    assert (fn["min_maf"], fn["max_sites"]) == (hs["min_maf"], hs["max_sites"])
    assert _defaults(split_haplotypes)["held_out_fraction"] == hs["held_out_fraction"]
    assert (
        _defaults(make_artificial)["order"]
        == hs["markov_order"]
        == _defaults(markov_sampler)["order"]
    )
    ev = _defaults(evaluate_haplotype_files)
    assert {k: ev[k] for k in ("ld_window", "n_components", "n_boot")} == {
        k: hs[k] for k in ("ld_window", "n_components", "n_boot")
    }


def test_config_block_needs_exactly_one_source():
    from dnalm.settings.model import HaplotypeSet
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="exactly one of `simulate`"):
        HaplotypeSet()
    with pytest.raises(ValidationError, match="needs `index`"):
        HaplotypeSet(vcf={"url": "x.vcf.gz"}, region="chr22:1-10")
    ok = HaplotypeSet(
        vcf={"url": "x.vcf.gz"}, index={"url": "x.vcf.gz.tbi"}, region="chr22:1,000-2,000"
    )
    assert ok.region == "chr22:1,000-2,000"
