"""dnalm.sim: base order of the written world, experiments from config, seeded determinism."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from dnalm import kmers, sim
from dnalm.meme import read_meme
from dnalm.seq import revcomp, revcomp_codes
from dnalm.sim.core import markov, sample_pwm, stationary, transition_matrix
from dnalm.sim.presets import BASES, CODE_PWMS

CUSTOM = {
    "MyTF_1": {"motif": "CTCF_like", "n": 300},
    "p53_b": {"motif": "P53_like", "n": 200, "half_width": [80, 200]},
    "Open_chrom": {"motif": "none", "quality": "low", "n": 100},
}


def _fasta(path: Path) -> dict[str, str]:
    seqs: dict[str, list[str]] = {}
    with gzip.open(path, "rt") as fh:
        for line in fh:
            if line.startswith(">"):
                cur = seqs.setdefault(line[1:].strip(), [])
            else:
                cur.append(line.strip())
    return {k: "".join(v) for k, v in seqs.items()}


def _truth(world: Path) -> list[dict]:
    lines = (world / "truth/positions.tsv").read_text().splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, ln.split("\t"), strict=True)) for ln in lines[1:]]


def _digest(d: Path) -> dict[str, str]:
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def custom(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "custom"
    written = sim.simulate_world(out, preset="mouse", seed=3, scale=0.1, peaks=CUSTOM)
    assert sorted(written) == sorted(sim.output_files(CUSTOM))
    return out


def test_codes_follow_kmers_order():
    assert BASES[:4] == kmers.ALPHABET
    codes = kmers.seq_to_codes("AATCGGN")
    assert "".join(BASES[c] for c in codes) == "AATCGGN"
    assert "".join(BASES[c] for c in revcomp_codes(codes)) == revcomp("AATCGGN")
    # A one-hot PWM samples its own letters.
    onehot = np.eye(4)[kmers.seq_to_codes("GATTACA")]
    inst = sample_pwm(np.random.default_rng(0), onehot, 3)
    assert {"".join(BASES[c] for c in row) for row in inst} == {"GATTACA"}
    # The background composition and CpG depletion are in code order.
    trans = transition_matrix(0.4, 0.2)
    pi = stationary(0.4)
    np.testing.assert_allclose(pi @ trans, pi, atol=1e-9)
    seq = "".join(BASES[c] for c in markov(np.random.default_rng(1), 200_000, trans))
    gc = (seq.count("G") + seq.count("C")) / len(seq)
    assert abs(gc - 0.4) < 0.01
    oe = seq.count("CG") * len(seq) / (seq.count("C") * seq.count("G"))
    assert oe < 0.3 and seq.count("TG") > seq.count("GT")


def test_planted_motifs_read_back_on_their_strand(custom):
    """Each planted instance matches its PWM's consensus on its own strand, not the other."""
    genome = _fasta(custom / "genome.fa.gz")
    pwms = read_meme(custom / "truth/motifs.meme")
    assert set(pwms) == {"CTCF_like", "P53_like", "TATA_like"}  # no LOWQ_like experiment here
    own: dict[str, list[bool]] = defaultdict(list)
    other: dict[str, list[bool]] = defaultdict(list)
    for r in _truth(custom):
        if r["kind"] not in ("motif", "tata"):
            continue
        pwm = pwms[r["name"]]
        seq = genome[r["contig"]][int(r["start"]) : int(r["end"])].upper()
        assert len(seq) == len(pwm)
        strong = np.flatnonzero(pwm.max(axis=1) >= 0.9)
        cons = "".join("ACGT"[i] for i in pwm.argmax(axis=1))
        fwd = seq if r["strand"] == "+" else revcomp(seq)
        own[r["name"]] += [fwd[j] == cons[j] for j in strong]
        other[r["name"]] += [revcomp(fwd)[j] == cons[j] for j in strong]
    assert set(own) == set(pwms)
    for name in pwms:
        assert np.mean(own[name]) > 0.9, (name, np.mean(own[name]))
    # CTCF_like is far from its reverse complement (P53_like is a palindrome, TATA nearly one).
    assert np.mean(other["CTCF_like"]) < 0.4, np.mean(other["CTCF_like"])


def test_splice_and_pathogenic_alleles_read_back(custom):
    genome = _fasta(custom / "genome.fa.gz")
    ok = total = 0
    for r in _truth(custom):
        if r["kind"] == "splice":
            seq = genome[r["contig"]][int(r["start"]) : int(r["end"])].upper()
            seq = seq if r["strand"] == "+" else revcomp(seq)
            total += 1
            ok += seq == r["feature"].split(":")[-1]  # GT / GC / AG in transcript orientation
        elif r["kind"] == "pathogenic":
            ref = r["feature"].split(":")[1].split(">")[0]
            assert genome[r["contig"]][int(r["start"])].upper() == ref
    assert total > 100 and ok == total


def test_peaks_from_config(custom):
    summary = json.loads((custom / "truth/summary.json").read_text())
    assert sorted(summary["peaks"]) == sorted(CUSTOM)  # json keys are sorted
    assert summary["experiments"]["Open_chrom"]["motif"] == "none"
    assert summary["peaks"]["Open_chrom"]["with_motif"] == 0
    assert summary["peaks"]["MyTF_1"]["with_motif"] > 0.7 * 30
    for exp in CUSTOM:
        with gzip.open(custom / "peaks" / f"{exp}.narrowPeak.gz", "rt") as fh:
            rows = [ln.rstrip("\n").split("\t") for ln in fh]
        assert rows and all(len(r) == 10 for r in rows)
        assert summary["peaks"][exp]["rows"] == len(rows)
    assert not (custom / "peaks/CTCF_mm.narrowPeak.gz").exists()
    features = {r["feature"].split(":")[0] for r in _truth(custom) if r["kind"] == "motif"}
    assert features == {"MyTF_1", "p53_b"}


def test_same_seed_same_bytes_other_seed_differs(custom, tmp_path):
    sim.simulate_world(tmp_path / "again", preset="mouse", seed=3, scale=0.1, peaks=CUSTOM)
    assert _digest(tmp_path / "again") == _digest(custom)
    sim.simulate_world(tmp_path / "other", preset="mouse", seed=4, scale=0.1, peaks=CUSTOM)
    other = _digest(tmp_path / "other")
    assert other.keys() == _digest(custom).keys()
    assert other["genome.fa.gz"] != _digest(custom)["genome.fa.gz"]


def test_code_pwms_sample_their_consensus():
    rng = np.random.default_rng(5)
    for name, pwm in CODE_PWMS.items():
        inst = sample_pwm(rng, pwm, 2000)
        freq = np.stack([(inst == c).mean(axis=0) for c in range(4)], axis=1)
        np.testing.assert_allclose(freq, pwm, atol=0.04, err_msg=name)
