"""dnalm.seq: reverse complement of strings and base codes, GC fraction."""

import numpy as np
import pytest
from dnalm.kmers import seq_to_codes
from dnalm.seq import gc_fraction, revcomp, revcomp_codes


def test_revcomp_keeps_case_and_n():
    assert revcomp("ACGTN") == "NACGT"
    assert revcomp("aacG") == "Cgtt"
    assert revcomp("") == ""
    s = "ACGTTGCAANNGT"
    assert revcomp(revcomp(s)) == s


def test_revcomp_codes_matches_revcomp_of_strings():
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGTN"), 37)) for _ in range(5)]
    codes = np.stack([seq_to_codes(s) for s in seqs])  # shape (5, 37)
    rc = revcomp_codes(codes)
    assert rc.shape == codes.shape
    for i, s in enumerate(seqs):
        assert np.array_equal(rc[i], seq_to_codes(revcomp(s)))


@pytest.mark.parametrize(
    ("seq", "expected"),
    [("GGCC", 1.0), ("AATT", 0.0), ("ACGT", 0.5), ("acgN", 2 / 3), ("NNNN", 0.0), ("", 0.0)],
)
def test_gc_fraction_counts_only_acgt(seq, expected):
    assert gc_fraction(seq) == pytest.approx(expected)
