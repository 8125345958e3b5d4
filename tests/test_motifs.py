"""dnalm.motifs (package): DNABERT-viz motif discovery, checked against a plain-loop oracle.

Parity with DNABERT's own ``motif_utils.py`` is in tests/test_motif_parity.py.
"""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dnalm import motifs as M
from dnalm.meme import read_meme, write_meme
from dnalm.stats import bh_adjust
from scipy.stats import hypergeom

from tests.motif_oracle import align, bh, oracle_find_motifs, planted_dataset, regions

REPO = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- units


def test_high_attention_regions_runs_at_both_ends_and_min_len():
    s = np.full(20, 0.01)
    s[0:5] = 1.0  # run touching the start (length 5: kept)
    s[8:12] = 1.0  # length 4: dropped
    s[14:20] = 1.0  # run touching the end (length 6: kept)
    got = M.high_attention_regions(s, min_len=5)
    assert got.tolist() == [[0, 5], [14, 20]]
    assert regions(s, 5) == [(0, 5), (14, 20)]


def test_high_attention_needs_ten_times_the_minimum():
    s = np.array([0.2] * 5 + [2.5] * 5 + [0.2] * 5)
    assert M.high_attention_regions(s, 5).tolist() == [[5, 10]]
    s2 = s.copy()
    s2[5:10] = 1.9  # above the mean but not above 10 * 0.2 = 2.0
    assert M.high_attention_regions(s2, 5).shape == (0, 2)


def test_region_rule_thresholds_are_settable_and_default_to_dnabert():
    s = np.array([0.2] * 5 + [1.9] * 5 + [0.2] * 5)  # 9.5 x min: below DNABERT's 10
    assert M.high_attention_regions(s, 5).shape == (0, 2)
    assert M.high_attention_regions(s, 5, M.RegionRule(min_ratio=9.0)).tolist() == [[5, 10]]
    assert M.high_attention_regions(s, 5, M.RegionRule(min_ratio=9.0, mean_ratio=3.0)).size == 0
    assert M.RegionRule() == M.RegionRule("dnabert", 10.0, 1.0, 0.9)
    rng = np.random.default_rng(5)
    for _ in range(20):  # the defaults are exactly DNABERT's rule (the oracle's)
        x = rng.gamma(0.5, 1.0, 80)
        assert [tuple(r) for r in M.high_attention_regions(x, 3).tolist()] == regions(x, 3)
    with pytest.raises(ValueError, match="region_rule"):
        M.RegionRule("top")
    with pytest.raises(ValueError, match="quantile"):
        M.RegionRule("quantile", quantile=1.0)


def test_quantile_rule_finds_planted_motifs_in_flat_attention():
    seqs, scores, positive = planted_dataset(np.random.default_rng(0), n_seqs=250)
    flat = scores + 0.2 * scores.max(axis=1, keepdims=True)  # max/min below 6 in every row
    ratio = M.ratio_summary(M.max_min_ratio(flat, [len(x) for x in seqs]))
    assert ratio["max"] < 10 and ratio["n_above_min_ratio"] == 0
    dnabert = M.find_motifs(seqs, flat, positive)
    assert dnabert.n_regions == 0 and dnabert.motifs == []
    rel = M.find_motifs(seqs, flat, positive, region_rule="quantile", quantile=0.9)
    keys = [m.key for m in rel.motifs]
    assert keys and all(k in "TGACTCAGCA" or k in "CCGCGTGGCGG" for k in keys), keys
    assert {k in "TGACTCAGCA" for k in keys} == {True, False}  # both planted motifs
    # control: the same rule on attention with nothing planted yields no significant candidate
    rng = np.random.default_rng(3)
    noise = ["".join(rng.choice(list("ACGT"), size=101)) for _ in range(250)]
    raw = rng.uniform(0.5, 1.0, (250, 107))
    smooth = np.stack([np.convolve(r, np.ones(7) / 7, mode="valid") for r in raw])  # runs exist
    ctl = M.find_motifs(noise, smooth, positive, region_rule="quantile")
    assert ctl.n_regions > 0 and ctl.n_significant == 0 and ctl.motifs == []


def test_presence_counts_equal_brute_force():
    rng = np.random.default_rng(3)
    alphabet = np.array(list("ACGTN"))
    seqs = [
        "".join(alphabet[rng.choice(5, size=int(rng.integers(1, 70)), p=[0.24] * 4 + [0.04])])
        for _ in range(150)
    ]
    pats = {"A", "NN", "ACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTA", seqs[3] + seqs[4]}
    for _ in range(300):
        s = seqs[int(rng.integers(0, len(seqs)))]
        a = int(rng.integers(0, len(s)))
        pats.add(s[a : a + int(rng.integers(1, 50))])
    pats = sorted(pats)
    pos = rng.random(len(seqs)) < 0.5
    n_all, n_pos = M.presence_counts(seqs, pats, pos)
    for j, p in enumerate(pats):
        assert n_all[j] == sum(p in s for s in seqs), p
        assert n_pos[j] == sum(p in s for s, q in zip(seqs, pos, strict=True) if q), p


def test_presence_counts_once_per_sequence_and_no_cross_sequence_match():
    n_all, n_pos = M.presence_counts(
        ["AAAAAAAAAA", "CCCAA", "AAGGG"],
        ["AAAA", "AAAAG", "AAC", "AAAAAAAAAA"],
        np.array([True, False, False]),
    )
    assert n_all.tolist() == [1, 0, 0, 1]
    assert n_pos.tolist() == [1, 0, 0, 1]


def test_hypergeom_and_bh_reference_values():
    x, n = np.array([3, 0, 5]), np.array([4, 2, 5])
    p = M.hypergeom_pvalues(x, n, 10, 5)
    ref = [hypergeom.sf(xi - 1, 10, 5, ni) for xi, ni in zip(x, n, strict=True)]
    np.testing.assert_allclose(p, ref, rtol=1e-14)
    assert p[1] == pytest.approx(1.0)  # P(X >= 0) = 1
    # p = 5 choose 5 / 10 choose 5 for x = n = 5
    assert p[2] == pytest.approx(1 / 252)
    adj = bh_adjust(np.array([0.01, 0.04, 0.03, 0.2]))
    np.testing.assert_allclose(adj, [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2])
    np.testing.assert_allclose(adj, bh([0.01, 0.04, 0.03, 0.2]))


def test_ungapped_align_semantics():
    assert M.ungapped_align("ACGTAC", "GTAC") == (4, 2)
    assert M.ungapped_align("CGT", "ACGTT") == (3, -1)  # key overhangs on both sides
    # Ties between offsets (Biopython's first alignment): the largest tied offset at which
    # the key runs past the query's end (offset > len(query) - len(key)), else the smallest.
    assert M.ungapped_align("AAAA", "AA") == (2, 0)  # 0, 1, 2 tie; none runs past the end
    assert M.ungapped_align("ACA", "AXA") == (2, 0)
    assert M.ungapped_align("AGA", "GAG") == (2, 1)  # offsets -1 and +1 tie
    assert M.ungapped_align("AAAAACCCCC", "CCCCCAAAAA") == (5, 5)  # -5 and +5 tie
    assert M.ungapped_align("CCCCC", "AAC") == (1, -2)  # every offset scores 1
    for q, k in [
        ("ACGTAC", "GTAC"),
        ("CGT", "ACGTT"),
        ("AAAA", "AA"),
        ("AGA", "GAG"),
        ("CCCCC", "AAC"),
    ]:
        assert M.ungapped_align(q, k) == align(q, k)


def test_merge_tie_between_keys_goes_to_the_earliest_key():
    keys, assign = M.merge_candidates(["GGGGC", "AAAAC", "AAAACTGGGGC"], min_len=5)
    assert keys == ["GGGGC", "AAAAC"]
    assert assign["AAAACTGGGGC"] == ("GGGGC", 6)  # both keys score 5; GGGGC was created first


def test_merge_threshold_is_max_of_min_len_minus_one_and_half_the_shorter():
    # 4 matches suffice for a 5-mer key (max(4, 2.5))...
    keys, _ = M.merge_candidates(["ACGTA", "ACGTTTTTT"], min_len=5)
    assert keys == ["ACGTA"]
    # ...but a 10-mer key needs 5 (0.5 * 10).
    keys, _ = M.merge_candidates(["ACGTACCCCC", "ACGTAGGGGGGG"], min_len=5)
    assert keys == ["ACGTACCCCC"]
    keys, _ = M.merge_candidates(["ACGTACCCCC", "ACGTTGGGGGGG"], min_len=5)
    assert keys == ["ACGTACCCCC", "ACGTTGGGGGGG"]


def test_widen_windows_follows_make_window():
    start = np.array([10, 10, 3, 0, 50, 10])
    end = np.array([16, 15, 9, 6, 56, 36])
    s, e, keep = M.widen_windows(start, end, np.array([100, 100, 100, 100, 68, 100]), 24)
    assert (s[0], e[0]) == (1, 25)  # even: 9 each side
    assert (s[1], e[1]) == (1, 25)  # odd (19): 9 left, 10 right
    assert not keep[2] and not keep[3]  # start < 0
    assert (s[4], e[4], keep[4]) == (41, 65, True)
    _, _, keep_end = M.widen_windows(np.array([50]), np.array([56]), np.array([65]), 24)
    assert not keep_end[0]  # ends exactly at the sequence end: dropped (strict test)
    assert (s[5], e[5]) == (11, 35)  # 26 bp region shrinks to 24


def test_pwm_from_sites_ignores_n_and_uniform_for_all_n():
    pwm = M.pwm_from_sites(["ACN", "AGN", "TCN"])
    np.testing.assert_allclose(pwm[0], [2 / 3, 0, 0, 1 / 3])
    np.testing.assert_allclose(pwm[1], [0, 2 / 3, 1 / 3, 0])
    np.testing.assert_allclose(pwm[2], [0.25] * 4)


def test_find_motifs_errors_name_the_argument():
    with pytest.raises(ValueError, match="scores"):
        M.find_motifs(["ACGTACGT"], np.zeros((2, 8)), np.array([True]))
    with pytest.raises(ValueError, match="non-ACGTN"):
        M.find_motifs(["ACGTXCGT"], np.ones((1, 8)), np.array([True]))
    with pytest.raises(ValueError, match="nan"):
        M.find_motifs(["ACGTACGT"], np.full((1, 8), np.nan), np.array([True]))


# ----------------------------------------------------------------------------- parity


def _compare_with_oracle(seqs, scores, positive, **kw):
    res = M.find_motifs(seqs, scores, positive, **kw)
    table, motifs = oracle_find_motifs(seqs, scores, positive, **kw)
    assert res.candidates == list(table)
    assert res.n_all.tolist() == [table[c][0] for c in res.candidates]
    assert res.n_pos.tolist() == [table[c][1] for c in res.candidates]
    np.testing.assert_allclose(res.pvalue, [table[c][2] for c in res.candidates], rtol=1e-12)
    np.testing.assert_allclose(res.padj, [table[c][3] for c in res.candidates], rtol=1e-12)
    ours = {
        m.key: sorted(
            zip(m.seq_index.tolist(), m.start.tolist(), m.end.tolist(), m.region, strict=True)
        )
        for m in res.motifs
    }
    assert ours == {k: sorted(v) for k, v in motifs.items()}
    return res


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_parity_with_oracle_on_planted_data(seed):
    seqs, scores, positive = planted_dataset(np.random.default_rng(seed), n_seqs=250)
    res = _compare_with_oracle(seqs, scores, positive)
    assert res.motifs, "planted motifs should be found"


def test_parity_motifs_at_sequence_ends():
    rng = np.random.default_rng(5)
    seqs, scores, positive = [], [], []
    motif = "GATTACAGG"
    for i in range(120):
        s = list("".join(rng.choice(list("ACGT"), size=40)))
        att = rng.uniform(0.01, 0.05, 40)
        pos = i % 2 == 0
        if pos:
            where = [0, 31, 12][i % 3]  # start, end (31 + 9 = 40) or middle
            s[where : where + 9] = motif
            att[where : where + 9] = 1.0
        seqs.append("".join(s))
        scores.append(att)
        positive.append(pos)
    scores, positive = np.array(scores), np.array(positive)
    res = _compare_with_oracle(seqs, scores, positive, window=16, min_n_motif=2)
    assert [m.key for m in res.motifs] == [motif]
    m = res.motifs[0]
    # windows widened from both ends run off the sequence and are dropped
    assert ((m.start >= 0) & (m.end < 40)).all()
    assert set(m.start.tolist()) == {9}  # only the middle copies survive (12 - 7 // 2)
    starts = {
        s for _i, s, _e in M.attention_candidates(seqs, scores, np.flatnonzero(positive))[motif]
    }
    assert starts == {0, 12, 31}  # the copies at both ends were found, then dropped as windows


def test_parity_with_merge_ties():
    rng = np.random.default_rng(11)
    plants = ["AAAAC", "GGGGC", "AAAACTGGGGC"]
    seqs, scores, positive = [], [], []
    for i in range(300):
        s = list("".join(rng.choice(list("ACGT"), size=50)))
        att = rng.uniform(0.01, 0.05, 50)
        pos = i % 2 == 0
        if pos:
            p = plants[i % 3]
            s[20 : 20 + len(p)] = p
            att[20 : 20 + len(p)] = 1.0
        seqs.append("".join(s))
        scores.append(att)
        positive.append(pos)
    res = _compare_with_oracle(seqs, np.array(scores), np.array(positive), pval_cutoff=0.05)
    groups = {m.key: set(m.members) for m in res.motifs}
    assert "AAAACTGGGGC" in groups.get("AAAAC", set()) | groups.get("GGGGC", set())


def test_no_significant_motif_gives_empty_result(caplog):
    rng = np.random.default_rng(2)
    seqs = ["".join(rng.choice(list("ACGT"), size=60)) for _ in range(80)]
    scores = rng.uniform(0.01, 1.0, size=(80, 60))
    positive = rng.random(80) < 0.5
    with caplog.at_level(logging.INFO, logger="dnalm.motifs"):
        res = _compare_with_oracle(seqs, scores, positive)
    assert res.motifs == []
    assert "no motif found" in caplog.text


# ----------------------------------------------------------------------------- files


def _write_inputs(tmp_path, seqs, scores, positive):
    labels = positive.astype(np.int64)
    probs = np.stack([1 - labels * 0.9, labels * 0.9 + 0.05], axis=1)
    probs = probs / probs.sum(axis=1, keepdims=True)
    npz = tmp_path / "scores.npz"
    np.savez(npz, scores=scores.astype(np.float32), labels=labels, probs=probs)
    df = pd.DataFrame(
        {
            "sequence": seqs,
            "label": labels,
            "contig": "chr1",
            "start": np.arange(len(seqs)) * 1000,
            "end": np.arange(len(seqs)) * 1000 + len(seqs[0]),
            "strand": "+",
            "source_id": [f"peak:{i}" for i in range(len(seqs))],
        }
    )
    tsv = tmp_path / "test.tsv.gz"
    with gzip.open(tsv, "wt") as fh:
        df.to_csv(fh, sep="\t", index=False)
    return npz, tsv


def test_discover_motifs_writes_all_outputs(tmp_path):
    seqs, scores, positive = planted_dataset(np.random.default_rng(0), n_seqs=250)
    npz, tsv = _write_inputs(tmp_path, seqs, scores, positive)
    out = tmp_path / "out"
    res = M.discover_motifs(
        npz,
        tsv,
        out / "motifs.meme",
        out / "instances.tsv",
        out / "matches.tsv",
        out / "logos",
        known_meme=None,
    )
    meme = read_meme(out / "motifs.meme")
    assert list(meme) == [m.name for m in res.motifs]
    text = (out / "motifs.meme").read_text()
    assert f"nsites= {res.motifs[0].n_sites}" in text and "padj=" in text
    inst = pd.read_csv(out / "instances.tsv", sep="\t")
    assert list(inst.columns) == M.INSTANCE_COLUMNS
    assert len(inst) == sum(m.n_sites for m in res.motifs)
    assert (inst["end"] - inst["start"] == 24).all()
    row = inst.iloc[0]
    assert seqs[row["row"]][row["start"] : row["end"]] == row["site"]
    assert sorted(p.name for p in (out / "logos").glob("*.png")) == sorted(
        f"{m.name}.png" for m in res.motifs
    )
    assert pd.read_csv(out / "matches.tsv", sep="\t").empty
    # predicted-label positives use argmax of probs (equal to the labels here)
    res2 = M.discover_motifs(
        npz,
        tsv,
        out / "m2.meme",
        out / "i2.tsv",
        out / "x2.tsv",
        out / "l2",
        positives="predicted_label",
    )
    assert [m.name for m in res2.motifs] == [m.name for m in res.motifs]


def test_discover_motifs_summary_status_and_loud_warning(tmp_path, caplog):
    import json

    seqs, scores, positive = planted_dataset(np.random.default_rng(0), n_seqs=250)
    npz, tsv = _write_inputs(tmp_path, seqs, scores, positive)
    out = tmp_path / "out"
    files = [out / n for n in ("m.meme", "i.tsv", "x.tsv", "logos")]
    with caplog.at_level(logging.INFO, logger="dnalm"):
        res = M.discover_motifs(npz, tsv, *files, summary_out=out / "ok.json")
    ok = json.loads((out / "ok.json").read_text())
    assert ok["status"] == "ok" and ok["n_motifs"] == len(res.motifs) > 0
    assert ok["n_matched"] is None and "not matched" in ok["reason"]
    assert ok["n_regions"] == res.n_regions > 0 and ok["n_candidates"] == len(res.candidates)
    assert ok["best_padj"] == pytest.approx(float(res.padj.min()))
    assert (
        ok["settings"]["region_rule"] == "dnabert" and ok["attention_ratio"]["n"] == positive.sum()
    )
    assert "FOUND NOTHING" not in caplog.text
    # flat attention: no region, said loudly with the ratios that explain it
    flat = scores + 0.2 * scores.max(axis=1, keepdims=True)
    npz2, _ = _write_inputs(tmp_path, seqs, flat, positive)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="dnalm"):
        M.discover_motifs(npz2, tsv, *files, summary_out=out / "flat.json",
                          logo_panel_out=out / "panel.png")  # fmt: skip
    flat_s = json.loads((out / "flat.json").read_text())
    assert flat_s["status"] == "no_regions" and flat_s["n_candidates"] == 0
    assert flat_s["best_pvalue"] is None and flat_s["attention_ratio"]["median"] < 10
    assert "MOTIF DISCOVERY FOUND NOTHING USABLE: status no_regions" in caplog.text
    assert "median per-sequence max/min attention ratio" in flat_s["reason"]
    assert (out / "panel.png").read_bytes().startswith(b"\x89PNG")
    # the relative rule (config motifs.region_rule: quantile) recovers motifs from it
    M.discover_motifs(npz2, tsv, *files, summary_out=out / "q.json", region_rule="quantile")
    assert json.loads((out / "q.json").read_text())["status"] == "ok"


def test_discover_motifs_empty_is_valid(tmp_path):
    rng = np.random.default_rng(2)
    seqs = ["".join(rng.choice(list("ACGT"), size=60)) for _ in range(60)]
    npz, tsv = _write_inputs(tmp_path, seqs, rng.uniform(0.01, 1, (60, 60)), rng.random(60) < 0.5)
    known = write_meme(tmp_path / "known.meme", {"K1": np.full((6, 4), 0.25)})
    out = tmp_path / "out"
    res = M.discover_motifs(
        npz,
        tsv,
        out / "motifs.meme",
        out / "instances.tsv",
        out / "matches.tsv",
        out / "logos",
        known_meme=known,
        summary_out=out / "summary.json",
    )
    assert res.motifs == []
    import json

    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "no_significant_candidates" and summary["n_regions"] > 0
    assert summary["best_padj"] >= 0.005 and summary["n_matched"] == 0
    assert read_meme(out / "motifs.meme") == {}
    assert (out / "instances.tsv").read_text().startswith("motif\trow")
    assert len(pd.read_csv(out / "instances.tsv", sep="\t")) == 0
    assert (out / "logos" / "index.tsv").read_text() == "motif\tfile\n"
    assert list(pd.read_csv(out / "matches.tsv", sep="\t").columns) == [
        "query",
        "target",
        "offset",
        "overlap",
        "strand",
        "p",
        "E",
        "q",
    ]


def test_discover_motifs_rejects_misaligned_inputs(tmp_path):
    seqs, scores, positive = planted_dataset(np.random.default_rng(0), n_seqs=20)
    npz, tsv = _write_inputs(tmp_path, seqs, scores, positive)
    bad = tmp_path / "bad.npz"
    np.savez(bad, scores=scores[:10], labels=positive[:10].astype(int), probs=np.zeros((10, 2)))
    with pytest.raises(ValueError, match="rows"):
        M.discover_motifs(bad, tsv, *(tmp_path / n for n in ("a", "b", "c", "d")))
    with pytest.raises(ValueError, match="positives"):
        M.discover_motifs(npz, tsv, *(tmp_path / n for n in ("a", "b", "c", "d")), positives="x")


@pytest.mark.slow
def test_tomtom_finds_the_planted_motif(tmp_path):
    from dnalm.tomtom import match_motifs

    planted = "TGACTCAGCA"
    seqs, scores, positive = planted_dataset(
        np.random.default_rng(0), n_seqs=400, motifs=(planted,), mutate=0.0, jitter=0
    )
    rng = np.random.default_rng(9)
    pwm = np.full((len(planted), 4), 0.02)
    for i, b in enumerate(planted):
        pwm[i, "ACGT".index(b)] = 0.94
    known = {"PLANTED": pwm}
    for j in range(30):  # a decoy database large enough for stable TOMTOM p-values
        known[f"DECOY{j}"] = rng.dirichlet(np.full(4, 0.4), size=int(rng.integers(8, 16)))
    write_meme(tmp_path / "known.meme", known)
    npz, tsv = _write_inputs(tmp_path, seqs, scores, positive)
    out = tmp_path / "out"
    M.discover_motifs(
        npz,
        tsv,
        out / "motifs.meme",
        out / "instances.tsv",
        out / "matches.tsv",
        out / "logos",
        known_meme=tmp_path / "known.meme",
    )
    matches = pd.read_csv(out / "matches.tsv", sep="\t")
    best = matches.sort_values("p").groupby("query").head(1)
    assert (best["target"] == "PLANTED").any()
    assert matches.loc[matches["target"] == "PLANTED", "q"].min() < 0.05
    direct = match_motifs(out / "motifs.meme", tmp_path / "known.meme")
    assert len(direct) == len(read_meme(out / "motifs.meme")) * len(known)
    assert direct["strand"].isin(["+", "-"]).all()
    assert (direct["E"] >= direct["p"]).all()


# ----------------------------------------------------------------------------- demo (end to end)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("task", "truth"),
    [("tf_ctcf", "CTCF_like"), ("tf_p53", "P53_like")],
)
def test_demo_motifs_match_planted_pwms(demo_dag, task, truth):
    import yaml

    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    model = cfg["attention"]["model"]
    target = f"results/motifs/{task}/{model}/matches.tsv"
    root = demo_dag.workdir
    matches = pd.read_csv(root / target, sep="\t")
    hits = matches[(matches["target"] == truth) & (matches["q"] < 0.05)]
    assert len(hits) > 0, matches.sort_values("p").head(10).to_string()


@pytest.mark.slow
def test_demo_attribution_motifs_recover_planted_and_control_finds_nothing(demo_dag):
    """TF-MoDISco on attribution maps (results/summary/interpretation/): every attributed model
    recovers tf_ctcf's CTCF_like and tf_p53's P53_like at TOMTOM q < 0.05 with some method; the
    signal-free control tf_lowq (a weak model: its motif is in 20% of the peaks and the peak
    signal is unrelated to it) recovers neither, and each of its empty runs says why."""
    import yaml

    att = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["attribution"]
    assert "tf_lowq" in att["tasks"]
    root = demo_dag.workdir

    def models(task: str) -> list[str]:  # attribution.task_models overrides models per task
        return (att.get("task_models") or {}).get(task, att["models"])

    def attribution_rows(task: str) -> pd.DataFrame:
        t = pd.read_csv(root / f"results/summary/interpretation/{task}.tsv", sep="\t")
        t = t[t["route"] == "attribution"]
        assert len(t) == len(models(task)) * len(att["methods"]), t.to_string()
        return t

    for task, truth in (("tf_ctcf", "CTCF_like"), ("tf_p53", "P53_like")):
        t = attribution_rows(task)
        best = t.groupby("model")[f"q:{truth}"].min()
        assert set(best.index) == set(models(task)) and (best < 0.05).all(), t.to_string()
    ctl = attribution_rows("tf_lowq")
    for truth in ("CTCF_like", "P53_like"):
        assert not (ctl[f"q:{truth}"] < 0.05).any(), ctl.to_string()
    empty = ctl[ctl["nothing_found"].astype(str) == "True"]
    assert len(empty) > 0, ctl.to_string()
    assert empty["reason"].str.contains("model test MCC").all(), empty["reason"].tolist()


# ----------------------------------------------------------------------------- k-mer candidates


def test_kmer_candidates_cover_each_region_once():
    seqs = ["AAAAACGTACGTTTTT", "CCCCCCCCCC"]
    scores = np.full((2, 16), 0.01)
    scores[0, 3:13] = 1.0  # region AACGTACGTT (10 bp): 8-mers at 3, 4, 5
    scores[1, 2:7] = 1.0  # region CCCCC (5 bp < k): the whole region, as DNABERT
    got = M.attention_candidates(seqs, scores, [0, 1], min_len=5, candidates="kmers")
    assert got == {
        "AACGTACG": [(0, 3, 11)],
        "ACGTACGT": [(0, 4, 12)],
        "CGTACGTT": [(0, 5, 13)],
        "CCCCC": [(1, 2, 7)],
    }
    # a repeated k-mer inside one region is one candidate instance (its first position)
    rep = M.attention_candidates(
        ["GGGGGGGGGG"],
        np.ones((1, 10)) * [[0.01] + [1.0] * 9],
        [0],
        candidates="kmers",
        candidate_len=5,
    )
    assert rep == {"GGGGG": [(0, 1, 6)]}
    regions = M.attention_candidates(seqs, scores, [0, 1], min_len=5)
    assert list(regions) == ["AACGTACGTT", "CCCCC"]
    with pytest.raises(ValueError, match="candidate_len"):
        M.find_motifs(seqs, scores, np.array([True, False]), candidates="kmers", candidate_len=4)
    with pytest.raises(ValueError, match="candidates"):
        M.find_motifs(seqs, scores, np.array([True, False]), candidates="words")


def _pwm_sampled_dataset(rng, n_seqs=300, length=80):
    """Positives carry PWM-sampled 16-bp motifs under high attention with random flanks."""
    consensus = rng.integers(0, 4, 16)
    top = np.where(np.arange(16) % 4 == 1, 0.7, 0.88)  # some columns more variable
    pwm = np.repeat(((1 - top) / 3)[:, None], 4, axis=1)
    pwm[np.arange(16), consensus] = top
    seqs, scores = [], np.zeros((n_seqs, length))
    positive = np.arange(n_seqs) % 2 == 0
    for i in range(n_seqs):
        s = rng.integers(0, 4, length)
        att = rng.uniform(0.01, 0.05, length)
        if positive[i] and rng.random() < 0.9:
            a = int(rng.integers(6, length - 22))
            s[a : a + 16] = [rng.choice(4, p=col) for col in pwm]
            lo, hi = a - int(rng.integers(0, 5)), a + 16 + int(rng.integers(0, 5))
            att[lo:hi] = rng.uniform(0.5, 1.0, hi - lo)
        seqs.append("".join(np.array(list("ACGT"))[s]))
        scores[i] = att
    return seqs, scores, positive, pwm


def _best_column_correlation(found, planted):
    """Mean column Pearson r of the planted PWM against ``found`` at the best full overlap."""
    best = -1.0
    for off in range(found.shape[0] - planted.shape[0] + 1):
        f = found[off : off + planted.shape[0]]
        r = [np.corrcoef(f[j], planted[j])[0, 1] for j in range(planted.shape[0])]
        best = max(best, float(np.nanmean(r)))
    return best


def test_kmers_mode_finds_pwm_sampled_motif_that_regions_mode_misses(tmp_path):
    from dnalm.tomtom import match_motifs

    rng = np.random.default_rng(4)
    seqs, scores, positive, pwm = _pwm_sampled_dataset(rng)
    regions = M.find_motifs(seqs, scores, positive)
    assert regions.motifs == []  # every region string is unique: nothing is enriched
    assert not (regions.padj < 0.005).any()
    res = M.find_motifs(seqs, scores, positive, candidates="kmers", candidate_len=8)
    assert res.motifs, "k-mer candidates should find the planted motif"
    top = res.motifs[0]
    assert _best_column_correlation(top.pwm, pwm) > 0.8
    # overlapping k-mers of one motif merged into few keys, one window per region each
    n_kept = int((res.padj < 0.005).sum())
    assert len(res.motifs) <= 4 < n_kept
    for m in res.motifs:
        assert len(set(zip(m.seq_index.tolist(), m.start.tolist(), strict=True))) == m.n_sites
    assert top.n_sites <= int(positive.sum())
    known = {"PLANTED": pwm}
    for j in range(30):
        known[f"DECOY{j}"] = rng.dirichlet(np.full(4, 0.4), size=int(rng.integers(8, 16)))
    write_meme(tmp_path / "known.meme", known)
    write_meme(tmp_path / "found.meme", {m.name: m.pwm for m in res.motifs})
    matches = match_motifs(tmp_path / "found.meme", tmp_path / "known.meme")
    hit = matches[(matches["query"] == top.name) & (matches["target"] == "PLANTED")]
    assert float(hit["q"].min()) < 0.05


@pytest.mark.parametrize(
    ("rule", "edit", "changes"),
    [  # the attention and motif jobs rerun for a key of the rule in use, not for the other's
        ("dnabert", {"quantile": 0.8}, False), ("dnabert", {"mean_ratio": 2.0}, True),
        ("dnabert", {"min_ratio": 5.0}, True), ("quantile", {"mean_ratio": 2.0}, False),
        ("quantile", {"quantile": 0.8}, True), ("quantile", {"min_ratio": 5.0}, True),
    ],
)
def test_only_the_region_rule_in_use_is_in_the_params(rule, edit, changes):
    """motifs.quantile was in attention_extract's and motif_discover's params under DNABERT's
    rule, which never reads it: changing it reran attention, variants and motifs for nothing.
    min_ratio stays under both rules (the summary's flat-attention count uses it)."""
    import yaml
    from dnalm import paths as P
    from dnalm.settings import load_config

    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "config/config.yaml").read_text())
    raw["motifs"]["region_rule"] = rule
    before = load_config(raw)
    raw["motifs"].update(edit)
    after = load_config(raw)
    for fn in (P.region_params, P.motif_params):
        assert (fn(before) != fn(after)) is changes, fn.__name__
