"""dnalm.sim.spec and dnalm.sim.presets: world specs from config, experiments, outputs, rules."""

from __future__ import annotations

import numpy as np
import pytest
from dnalm import kmers, meme, sim
from dnalm.sim.presets import CODE_PWMS, PeakSpec, from_meme, to_meme


def test_world_spec_defaults():
    cfg = {"a": {"preset": "mouse", "seed": 3}, "b": {}}
    a = sim.world_spec(cfg, "a")
    assert {k: a[k] for k in ("preset", "seed", "scale")} == {
        "preset": "mouse",
        "seed": 3,
        "scale": 1.0,
    }
    assert list(a["peaks"]) == ["CTCF_mm"] == sim.peak_experiments("mouse")
    b = sim.world_spec(cfg, "b")
    assert (b["preset"], b["seed"], b["scale"]) == ("human", 7, 1.0)
    assert list(b["peaks"]) == ["CTCF_demo", "LOWQ_demo", "TP53_demo"]  # sorted
    assert b["peaks"]["LOWQ_demo"] == {
        "motif": "LOWQ_like", "quality": "low", "n": 800, "motif_fraction": 0.2, "jitter": 80,
        "half_width": [150, 600], "signal": 8.0,
    }  # fmt: skip
    assert sim.worlds_of(cfg, "human") == ["b"]
    with pytest.raises(ValueError, match="simulate.c"):
        sim.world_spec(cfg, "c")


def test_world_spec_peaks_from_config():
    cfg = {"w": {"preset": "human", "peaks": {"Noise": {"motif": "none", "quality": "low"},
                                              "MyTF_1": {"motif": "P53_like", "n": 50}}}}  # fmt: skip
    peaks = sim.world_spec(cfg, "w")["peaks"]
    assert list(peaks) == ["MyTF_1", "Noise"]  # sorted: config key order does not matter
    assert peaks["MyTF_1"]["motif"] == "P53_like" and peaks["MyTF_1"]["n"] == 50
    assert peaks["MyTF_1"]["quality"] == "good" and peaks["MyTF_1"]["jitter"] == 5
    assert peaks["Noise"] == {**peaks["Noise"], "motif": "none", "motif_fraction": 0.0}
    files = sim.output_files(peaks)
    assert "peaks/MyTF_1.narrowPeak.gz" in files and "peaks/Noise.narrowPeak.gz" in files
    assert not any("CTCF_demo" in f for f in files)
    outs = sim.rule_outputs(peaks)
    assert outs["peaks"] == [
        "resources/demo/{world}/peaks/MyTF_1.narrowPeak.gz",
        "resources/demo/{world}/peaks/Noise.narrowPeak.gz",
    ]
    assert outs["genome"] == "resources/demo/{world}/genome.fa.gz"


def test_motif_free_experiments():
    for cfg in ({}, None, {"motif": None}, {"motif": "none"}, {"quality": "good"}):
        spec = PeakSpec.from_config(cfg, "x")
        assert spec.motif is None and spec.motif_fraction == 0.0
        assert spec.to_config()["motif"] == "none"
        assert PeakSpec.from_config(spec.to_config(), "x") == spec


def test_peak_spec_defaults_reproduce_the_presets():
    human = sim.PRESETS["human"].peaks
    assert PeakSpec.from_config({"motif": "CTCF_like", "n": 1500}, "x") == human["CTCF_demo"]
    assert PeakSpec.from_config({"motif": "LOWQ_like", "quality": "low"}, "x") == human["LOWQ_demo"]
    for preset in sim.PRESETS.values():
        for spec in preset.peaks.values():
            assert PeakSpec.from_config(spec.to_config(), "x") == spec


@pytest.mark.parametrize(
    ("peaks", "match"),
    [
        ({"bad-name": {"motif": "CTCF_like"}}, r"w\.peaks`: experiment name 'bad-name'"),
        ({"A": {"motif": "FOXA_like"}}, r"w\.peaks\.A\.motif"),
        ({"A": "CTCF_like"}, r"w\.peaks\.A` must be a mapping"),
        ({"A": {"motif": "CTCF_like", "quality": "ok"}}, r"w\.peaks\.A\.quality"),
        ({"A": {"motif": "CTCF_like", "n": 0}}, r"w\.peaks\.A\.n"),
        ({"A": {"motif": "CTCF_like", "motif_fraction": 1.5}}, r"motif_fraction"),
        ({"A": {"motif": "CTCF_like", "half_width": [300, 100]}}, r"w\.peaks\.A\.half_width"),
        ({"A": {"motif": "CTCF_like", "signal": 0}}, r"w\.peaks\.A\.signal"),
        ({"A": {"motif": "CTCF_like", "jitter": -1}}, r"w\.peaks\.A\.jitter"),
        ({"A": {"motif": "none", "motif_fraction": 0.5}}, r"must be 0 when motif is none"),
        ({"A": {"motif": "CTCF_like", "colour": "red"}}, r"unknown keys \['colour'\]"),
        ({}, r"w\.peaks` must be a non-empty mapping"),
    ],
)
def test_bad_peaks_name_the_config_key(peaks, match):
    with pytest.raises(ValueError, match=match):
        sim.world_spec({"w": {"peaks": peaks}}, "w")


def test_bad_world_keys():
    with pytest.raises(ValueError, match=r"simulate\.w\.preset"):
        sim.world_spec({"w": {"preset": "fly"}}, "w")
    with pytest.raises(ValueError, match=r"simulate\.w`: unknown keys \['sed'\]"):
        sim.world_spec({"w": {"sed": 3}}, "w")
    with pytest.raises(TypeError, match="not a string"):
        sim.output_files("human")


def test_rule_groups():
    cfg = {
        "hs1": {"preset": "human"},
        "mm": {"preset": "mouse"},
        "hs2": {"preset": "human", "seed": 3},
        "own": {"preset": "human", "peaks": {"X": {"motif": "CTCF_like"}}},
        # explicit peaks equal to the preset's default (any key order): still the preset's rule
        "hs3": {
            "peaks": {n: s.to_config() for n, s in reversed(sim.PRESETS["human"].peaks.items())}
        },
        "w-2.b": {"preset": "mouse", "peaks": {"CTCF_mm": {"motif": "CTCF_like", "n": 99}}},
    }
    assert sim.rule_groups(cfg) == {
        "demo_simulate": ["hs1", "hs2", "hs3"],
        "demo_simulate_mouse": ["mm"],
        "demo_simulate_own": ["own"],
        "demo_simulate_w_2_b": ["w-2.b"],
    }
    assert sim.rule_groups({}) == {}
    clash = {"mouse": {"peaks": {"X": {"motif": "none"}}}, "mm": {"preset": "mouse"}}
    with pytest.raises(ValueError, match=r"simulate\.mm.*rename"):
        sim.rule_groups(clash)


def test_pwm_column_orders():
    # Public PWMs have MEME's A, C, G, T columns; the simulator samples in kmers code order.
    assert meme.ALPHABET == "ACGT" and kmers.ALPHABET == "ATCG"
    for name, pwm in sim.PWMS.items():
        np.testing.assert_array_equal(from_meme(pwm), CODE_PWMS[name])
        np.testing.assert_array_equal(to_meme(CODE_PWMS[name]), pwm)
        np.testing.assert_allclose(pwm.sum(axis=1), 1.0)
    tata = "".join(meme.ALPHABET[i] for i in sim.PWMS["TATA_like"].argmax(axis=1))
    assert tata == "TATAAAAA"  # TATAWAWR, ties to the first letter of A, C, G, T
    code_tata = "".join(kmers.ALPHABET[i] for i in CODE_PWMS["TATA_like"].argmax(axis=1))
    assert code_tata[:4] == "TATA"
