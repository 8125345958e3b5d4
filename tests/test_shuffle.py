"""Altschul-Erickson dinucleotide shuffle: exact dinucleotide preservation."""

from collections import Counter

import numpy as np
import pytest
from dnalm.shuffle import dinuc_shuffle


def dinucs(s: str) -> Counter:
    return Counter(s[i : i + 2] for i in range(len(s) - 1))


@pytest.mark.parametrize("seed", range(20))
def test_dinucleotide_counts_preserved_exactly(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 300))
    s = "".join(rng.choice(list("ACGT"), n, p=[0.4, 0.1, 0.1, 0.4]))
    t = dinuc_shuffle(s, rng)
    assert len(t) == len(s)
    assert dinucs(t) == dinucs(s)
    assert Counter(t) == Counter(s)
    assert t[0] == s[0] and t[-1] == s[-1]


def test_shuffle_changes_sequence_and_is_seeded():
    s = "ACGTTGCAACGGTACCATGGATCCGATTACAGGCTAGCTAGGATCGATCGGATC" * 2
    a = dinuc_shuffle(s, np.random.default_rng(3))
    b = dinuc_shuffle(s, np.random.default_rng(3))
    c = dinuc_shuffle(s, np.random.default_rng(4))
    assert a == b
    assert a != s and a != c


def test_shuffle_explores_all_eulerian_walks():
    # "ACAGA" -> dinucleotides AC CA AG GA: walks from A ending in A: ACAGA, AGACA.
    seen = {dinuc_shuffle("ACAGA", np.random.default_rng(i)) for i in range(50)}
    assert seen == {"ACAGA", "AGACA"}


def test_short_and_degenerate_sequences():
    rng = np.random.default_rng(0)
    assert dinuc_shuffle("", rng) == ""
    assert dinuc_shuffle("AC", rng) == "AC"
    assert dinuc_shuffle("AAAAAA", rng) == "AAAAAA"
    s = "ACGTNNACGTN"
    assert dinucs(dinuc_shuffle(s, rng)) == dinucs(s)
    with pytest.raises(TypeError):
        dinuc_shuffle(b"ACGT", rng)
