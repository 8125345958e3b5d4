"""dnalm.haplotypes GPT generator: token rows, fine-tuning, sampling, the rule step and its config."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from dnalm.haplotypes import (
    Haplotypes,
    af_correlation,
    evaluate_haplotype_files,
    generate_haplotypes,
    ld_correlation,
    load_artificial,
    make_artificial,
    read_haplotypes,
    save_haplotypes,
)
from dnalm.haplotypes.gpt_artificial import load_gpt_samples, make_gpt_haplotypes
from dnalm.haplotypes.gpt_generator import (
    GptHaplotypeSampler,
    allele_codes,
    build_haplotype_gpt,
    train_haplotype_gpt,
)
from dnalm.haplotypes.gpt_tokens import (
    allowed_token_ids,
    haplotype_token_ids,
    n_haplotype_positions,
    token_ids_to_haplotypes,
)

ROOT = Path(__file__).resolve().parents[1]
BASES = np.array(list("ACGT"))


def _sites(n_sites: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ref = BASES[rng.integers(0, 4, n_sites)]
    alt = BASES[(np.searchsorted(BASES, ref) + rng.integers(1, 4, n_sites)) % 4]
    return ref, alt


def _founders(n: int, n_sites: int = 30, n_founders: int = 4, flip: float = 0.02, seed: int = 0) -> np.ndarray:
    """Haplotypes copied from a few founders with rare flips: strong LD, uneven allele frequencies."""
    rng = np.random.default_rng(seed)
    founders = rng.random((n_founders, n_sites)) < 0.5
    weights = np.array([0.4, 0.3, 0.2, 0.1])[:n_founders]
    m = founders[rng.choice(n_founders, size=n, p=weights / weights.sum())]
    return (m ^ (rng.random(m.shape) < flip)).astype(np.int8)


def _hapset(matrix: np.ndarray, seed: int = 0) -> Haplotypes:
    ref, alt = _sites(matrix.shape[1], seed)
    return Haplotypes(matrix=matrix, positions=np.arange(1, matrix.shape[1] + 1) * 100, contig="sim1",
                      ref=ref, alt=alt, samples=[f"S{i}" for i in range(len(matrix) // 2)])


# ----------------------------------------------------------------------------- tokens


@pytest.mark.parametrize("n_sites", [12, 15, 1, 6])
def test_haplotypes_round_trip_through_6mer_token_rows(n_sites):
    rng = np.random.default_rng(n_sites)
    m = (rng.random((9, n_sites)) < 0.4).astype(np.int8)
    ref, alt = _sites(n_sites, seed=n_sites)
    ids = haplotype_token_ids(m, ref, alt)
    assert ids.shape == (9, n_haplotype_positions(n_sites)) == (9, 1 + -(-n_sites // 6))
    assert (ids[:, 0] == 21).all()  # <R>
    back = token_ids_to_haplotypes(ids, ref, alt)
    assert back.valid.all() and np.array_equal(back.matrix, m)
    allowed, codes = allowed_token_ids(ref, alt), allele_codes(m)
    assert np.array_equal(np.take_along_axis(allowed, codes.T, axis=1).T, ids[:, 1:])
    tail = n_sites % 6 or 6
    assert len(np.unique(allowed[-1])) == 2**tail


def test_a_token_that_is_not_a_haplotype_is_counted_invalid():
    ref, alt = _sites(12)
    m = np.zeros((2, 12), dtype=np.int8)
    ids = haplotype_token_ids(m, ref, alt)
    other = np.setdiff1d(np.arange(3939, 3939 + 5**6), allowed_token_ids(ref, alt)[0])[0]
    ids[1, 1] = other
    dec = token_ids_to_haplotypes(ids, ref, alt)
    assert dec.valid.tolist() == [True, False] and dec.n_invalid_token == 1


# ----------------------------------------------------------------------------- learning


def test_fine_tuned_gpt_reproduces_af_and_ld_where_controls_do_not():
    """Trained on strong-LD haplotypes, the GPT matches held-out AF (r >= 0.9) and LD; the same
    GPT trained on column-shuffled haplotypes (AF kept, LD destroyed) matches AF but not LD, and
    an untrained one matches neither."""
    m = _founders(400, seed=3)
    train, held = m[:300], m[300:]
    ref, alt = _sites(m.shape[1])
    rng = np.random.default_rng(0)
    shuffled = np.stack([rng.permutation(c) for c in train.T], axis=1)
    stats = {}
    for name, data, steps in (("gpt", train, 80), ("shuffled", shuffled, 80), ("untrained", None, 0)):
        model = build_haplotype_gpt(n_haplotype_positions(m.shape[1]), seed=1)
        if steps:
            train_haplotype_gpt(model, data, ref, alt, steps=steps, lr=2e-3, batch_size=32, seed=1)
        art = generate_haplotypes(GptHaplotypeSampler(model, ref, alt), 200, m.shape[1], seed=2)
        stats[name] = (af_correlation(held, art), ld_correlation(held, art, window=10))
    print({k: tuple(round(x, 3) for x in v) for k, v in stats.items()})
    assert stats["gpt"][0] >= 0.9 and stats["gpt"][1] >= 0.8
    assert stats["shuffled"][0] >= 0.9 and stats["shuffled"][1] < stats["gpt"][1] - 0.3
    assert stats["untrained"][0] < 0.9 and stats["untrained"][1] < stats["gpt"][1] - 0.3


def test_full_vocabulary_sampling_of_an_untrained_model_fails_clearly():
    ref, alt = _sites(12)
    model = build_haplotype_gpt(n_haplotype_positions(12), seed=1)
    sampler = GptHaplotypeSampler(model, ref, alt, softmax="full", max_rounds=2)
    with pytest.raises(ValueError, match="valid haplotypes of 4 after 2 rounds"):
        sampler(4, np.random.default_rng(0))
    rep = sampler.report()
    assert rep["n_generated"] == 8 and rep["valid_mass"] < 0.05  # 64 of 19,564 tokens


# ----------------------------------------------------------------------------- rule steps


@pytest.fixture()
def train_npz(tmp_path):
    hap = _hapset(_founders(60, n_sites=14, seed=5))
    return save_haplotypes(hap, tmp_path / "train.npz")


def test_rule_step_is_deterministic_for_a_seed(tmp_path, train_npz):
    def run(tag: str, seed: int) -> np.ndarray:
        d = tmp_path / tag
        info = make_gpt_haplotypes(train_npz, d / "model", d / "s.npz", d / "log.tsv", d / "g.json",
                                   steps=4, batch=8, n_artificial=11, seed=seed)
        assert info["n"] == 12 and (d / "model" / "model.safetensors").is_file()
        assert (d / "log.tsv").read_text().splitlines()[0] == "step\tlr\tloss\tseconds"
        return load_gpt_samples(d / "s.npz")

    a, b, c = run("a", 3), run("b", 3), run("c", 4)
    assert a.shape == (12, 14) and np.array_equal(a, b) and not np.array_equal(a, c)


def test_gpt_sits_beside_markov_and_the_controls_through_evaluation(tmp_path, train_npz):
    held = _hapset(_founders(40, n_sites=14, seed=6))
    save_haplotypes(held, tmp_path / "held.npz")
    g = tmp_path / "gpt"
    make_gpt_haplotypes(train_npz, g / "model", g / "s.npz", g / "log.tsv", g / "g.json", steps=4, batch=8)
    info = make_artificial(train_npz, tmp_path / "art.npz", tmp_path / "art.vcf.gz", tmp_path / "gen.json",
                           generators=["gpt", "markov"], order=3, gpt_samples=g / "s.npz",
                           gpt_info=g / "g.json")
    arts = load_artificial(tmp_path / "art.npz")
    assert list(arts) == ["gpt", "markov3", "independent_sites", "copy_training"]
    assert info["model"] == "gpt" and info["gpt"]["steps"] == 4 and "6-mer" in info["samplers"]["gpt"]
    assert np.array_equal(arts["gpt"], load_gpt_samples(g / "s.npz"))
    vcf = read_haplotypes(tmp_path / "art.vcf.gz")
    keep = np.isin(held.positions, vcf.positions)
    assert np.array_equal(vcf.matrix, arts["gpt"][:, keep])
    out = tmp_path / "eval"
    summary = evaluate_haplotype_files(train_npz, tmp_path / "held.npz", tmp_path / "art.npz",
                                       tmp_path / "gen.json", out, n_boot=10)
    assert summary["model"] == "gpt" and summary["samplers"][:2] == ["gpt", "markov3"]
    rows = {tuple(r.split("\t")[:2]) for r in (out / "metrics.tsv").read_text().splitlines()[1:]}
    assert {("gpt", "af_corr"), ("gpt", "ld_corr"), ("markov3", "ld_corr")} <= rows


# ----------------------------------------------------------------------------- errors and config


def test_bad_inputs_are_named(tmp_path, train_npz):
    with pytest.raises(ValueError, match="needs `gpt_samples`"):
        make_artificial(train_npz, tmp_path / "a.npz", tmp_path / "a.vcf.gz", tmp_path / "a.json",
                        generators=["gpt"])
    with pytest.raises(ValueError, match="unknown haplotype generators"):
        make_artificial(train_npz, tmp_path / "a.npz", tmp_path / "a.vcf.gz", tmp_path / "a.json",
                        generators=["lstm"])
    bad = tmp_path / "bad.npz"
    np.savez(bad, matrix=np.zeros((60, 13), dtype=np.int8))
    (tmp_path / "g.json").write_text(json.dumps({"description": "x"}))
    with pytest.raises(ValueError, match=r"bad.npz: \(60, 13\) haplotypes, expected \(60, 14\)"):
        make_artificial(train_npz, tmp_path / "a.npz", tmp_path / "a.vcf.gz", tmp_path / "a.json",
                        generators=["gpt"], gpt_samples=bad, gpt_info=tmp_path / "g.json")
    from dnalm.gpt.model import build_gpt, save_gpt_dir

    save_gpt_dir(build_gpt("tiny", n_positions=3), tmp_path / "lm")
    with pytest.raises(ValueError, match=r"lm/config.json: the model has 3 positions, a haplotype row needs 4"):
        build_haplotype_gpt(4, tmp_path / "lm")
    model = build_haplotype_gpt(4)
    with pytest.raises(ValueError, match="`softmax` must be one of"):
        train_haplotype_gpt(model, np.zeros((2, 12)), *_sites(12), softmax="sparse")
    with pytest.raises(ValueError, match="`temperature` must be > 0"):
        GptHaplotypeSampler(model, *_sites(12), temperature=0)


def test_config_block_checks_generators_and_the_pretrained_lm():
    from dnalm.settings import load_config
    from dnalm.settings.model import ConfigError, HaplotypeSet
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="lists a model twice"):
        HaplotypeSet(simulate={}, generators=["gpt", "gpt"])
    with pytest.raises(ValidationError, match="generators"):
        HaplotypeSet(simulate={}, generators=["lstm"])
    with pytest.raises(ValidationError, match="softmax"):
        HaplotypeSet(simulate={}, gpt={"softmax": "sparse"})
    with pytest.raises(ValidationError, match="steps"):
        HaplotypeSet(simulate={}, gpt={"steps": 0})

    import yaml

    raw = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    hs = raw["haplotypes"]["demo_sim"]
    assert hs["generators"][0] == "gpt"  # the demo's headline is the GPT
    hs["gpt"]["lm"] = "dnabert6_tiny"  # a BERT LM
    with pytest.raises(ConfigError, match=r"`haplotypes.demo_sim.gpt.lm`: 'dnabert6_tiny' is not a GPT"):
        load_config(raw)
    hs["gpt"]["lm"] = "dnagpt_tiny"
    assert load_config(raw).haplotypes["demo_sim"].gpt.lm == "dnagpt_tiny"


def test_function_defaults_agree_with_the_gpt_config_block():
    import inspect

    from dnalm.settings.model import HaplotypeGpt

    fn = {n: p.default for n, p in inspect.signature(make_gpt_haplotypes).parameters.items()}
    for key, value in HaplotypeGpt().model_dump().items():
        assert fn[key] == value, f"make_gpt_haplotypes({key}=) vs haplotypes.<name>.gpt.{key}"
