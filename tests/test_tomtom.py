"""dnalm.tomtom: TOMTOM matching of motifs against a known-motif file (memelite)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dnalm.meme import write_meme
from dnalm.stats import bh_adjust
from dnalm.tomtom import COLUMNS, match_motifs

PLANTED = "TGACTCAGCATTG"


def _consensus_pwm(seq: str, top: float = 0.94) -> np.ndarray:
    """PWM, shape=(len(seq), 4) over A, C, G, T, with ``top`` on each consensus base."""
    pwm = np.full((len(seq), 4), (1 - top) / 3)
    pwm[np.arange(len(seq)), ["ACGT".index(b) for b in seq]] = top
    return pwm


def _revcomp_pwm(pwm: np.ndarray) -> np.ndarray:
    """Reverse complement: rows reversed, columns A C G T -> T G C A."""
    return pwm[::-1, ::-1].copy()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tomtom")
    rng = np.random.default_rng(9)
    planted = _consensus_pwm(PLANTED)
    known = {"PLANTED": planted}
    for j in range(30):  # decoys: a database large enough for stable TOMTOM p-values
        known[f"DECOY{j}"] = rng.dirichlet(np.full(4, 0.4), size=int(rng.integers(8, 16)))
    queries = {
        "self": planted,
        "revcomp": _revcomp_pwm(planted),
        "unrelated": _consensus_pwm("GGGGGGCCCCCCGG"),
    }
    return write_meme(tmp / "queries.meme", queries), write_meme(tmp / "known.meme", known)


def _row(df: pd.DataFrame, query: str, target: str) -> pd.Series:
    hit = df[(df["query"] == query) & (df["target"] == target)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_planted_pwm_matches_itself_and_its_reverse_complement(files):
    queries, known = files
    df = match_motifs(queries, known)
    assert list(df.columns) == COLUMNS
    assert len(df) == 3 * 31
    best = df.groupby("query", sort=False).head(1).set_index("query")
    assert best.loc["self", "target"] == "PLANTED" and best.loc["self", "strand"] == "+"
    assert best.loc["revcomp", "target"] == "PLANTED" and best.loc["revcomp", "strand"] == "-"
    for q in ("self", "revcomp"):
        row = _row(df, q, "PLANTED")
        assert row["q"] < 1e-3 and row["overlap"] == len(PLANTED)
    # not matched: no target passes q < 0.05 for the unrelated PWM, PLANTED included
    assert (df.loc[df["query"] == "unrelated", "q"] > 0.05).all()
    assert _row(df, "unrelated", "PLANTED")["p"] > _row(df, "self", "PLANTED")["p"] * 1e3


def test_columns_sorting_e_and_q_values(files):
    queries, known = files
    df = match_motifs(queries, known)
    assert df["query"].tolist() == ["self"] * 31 + ["revcomp"] * 31 + ["unrelated"] * 31
    for _q, g in df.groupby("query", sort=False):
        assert g["p"].is_monotonic_increasing
        # q is BH over each query's targets; E counts both strands of every target
        np.testing.assert_allclose(g["q"], bh_adjust(g["p"].to_numpy()))
        np.testing.assert_allclose(g["E"], np.minimum(g["p"] * 62, 62))
    assert df["strand"].isin(["+", "-"]).all() and (df["overlap"] >= 1).all()


def test_forward_strand_only_misses_the_reverse_complement(files):
    queries, known = files
    both = match_motifs(queries, known)
    fwd = match_motifs(queries, known, reverse_complement=False)
    assert (fwd["strand"] == "+").all()
    assert _row(fwd, "self", "PLANTED")["q"] < 1e-3
    assert _row(fwd, "revcomp", "PLANTED")["p"] > 1e3 * _row(both, "revcomp", "PLANTED")["p"]
    np.testing.assert_allclose(fwd["E"], np.minimum(fwd["p"] * 31, 31))


def test_empty_inputs_give_an_empty_table(tmp_path, files):
    queries, _known = files
    empty = write_meme(tmp_path / "empty.meme", {})
    for df in (match_motifs(queries, empty), match_motifs(empty, queries)):
        assert df.empty and list(df.columns) == COLUMNS
        assert df["p"].dtype == np.float64 and df["offset"].dtype == np.int64
