"""dnalm.negatives (every strategy) and dnalm.sampling (allowed regions, random windows)."""

from collections import Counter

import numpy as np
import pytest
from dnalm import negatives, tfbs
from dnalm.dataset import Example
from dnalm.fasta import Genome
from dnalm.sampling import allowed_regions, sample_windows
from dnalm.seq import gc_fraction

from tests.test_tfbs import make_genome, write_peaks


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("negatives")
    fa, seqs = make_genome(tmp)
    return fa, tmp / "contigs.tsv", seqs


def _positives(seqs, n=12, length=101):
    return [
        Example(seqs["chr1"][i : i + length], 1, "chr1", i, i + length, "+", f"p{i}", f"p{i}")
        for i in range(1000, 1000 + 300 * n, 300)
    ]


def _overlaps(ex, regions):
    return any(ex.contig == c and ex.start < e and s < ex.end for c, s, e in regions)


def test_gc_matched_negatives_tolerance_and_exclusion(genome, tmp_path):
    fa, contigs, seqs = genome
    g = Genome(fa, contigs)
    rng = np.random.default_rng(5)
    rows = []
    for i in range(60):
        c = ["chr1", "chr2", "chrX"][i % 3]
        s = int(rng.integers(200, len(seqs[c]) - 400))
        if c == "chr2" and 29_500 < s < 32_500:
            s = 5000
        rows.append((c, s, s + 200, float(100 - i), 1.0, 100))
    peaks = tfbs.read_narrowpeak(write_peaks(tmp_path / "gc.narrowPeak.gz", rows))
    pos, _ = tfbs.peak_examples(peaks, g)
    excl = tfbs.peak_intervals(peaks, g)
    negs, st = negatives.make_negatives("gc_matched", pos, np.random.default_rng(1), g, excl)
    assert len(negs) == len(pos) and st["gc_bin_exact"] == len(pos)
    for p, n in zip(pos, negs, strict=True):
        assert int(gc_fraction(p.sequence) * 100) == int(gc_fraction(n.sequence) * 100)
        assert abs(gc_fraction(p.sequence) - gc_fraction(n.sequence)) < 0.01 + 1e-9
        assert "N" not in n.sequence and len(n.sequence) == 101 and n.label == 0
        assert n.sequence == g.fetch(n.contig, n.start, n.end, n.strand)
        assert not _overlaps(n, excl)
    # the GC spread is real (a constant-GC genome would make the test vacuous)
    assert np.ptp([gc_fraction(p.sequence) for p in pos]) > 0.15
    again, _ = negatives.make_negatives("gc_matched", pos, np.random.default_rng(1), g, excl)
    assert again == negs
    g.close()


@pytest.mark.parametrize("strategy", ["genomic", "tata_genomic"])
def test_genomic_negatives_avoid_padded_exclusions(genome, strategy):
    fa, contigs, seqs = genome
    pos = _positives(seqs)
    excl = [("chr1", 0, 20_000), ("chr2", 0, 10_000)]
    margin = 500
    with Genome(fa, contigs) as g:
        negs, st = negatives.make_negatives(
            strategy, pos, np.random.default_rng(2), g, excl, margin, label=0, verbose=False
        )
        padded = [(c, s - margin, e + margin) for c, s, e in excl]
        assert st["made"] == len(negs) == len(pos)
        assert len({(n.contig, n.start, n.strand) for n in negs}) == len(negs)  # no repeats
        for n in negs:
            assert len(n.sequence) == 101 and "N" not in n.sequence and n.label == 0
            assert n.sequence == g.fetch(n.contig, n.start, n.end, n.strand)
            assert not _overlaps(n, padded)
            if strategy == "tata_genomic":
                assert negatives.TATA_RE.search(n.sequence)
        again, _ = negatives.make_negatives(
            strategy, pos, np.random.default_rng(2), g, excl, margin, verbose=False
        )
    assert again == negs


def test_shuffle_and_substitute_negatives(genome):
    _, _, seqs = genome
    pos = _positives(seqs, n=10)
    negs, st = negatives.make_negatives(
        "dinuc_shuffle", pos, np.random.default_rng(0), verbose=False
    )
    assert st["made"] == len(pos)
    for p, n in zip(pos, negs, strict=True):
        d = lambda s: Counter(s[i : i + 2] for i in range(len(s) - 1))  # noqa: E731
        assert d(p.sequence) == d(n.sequence) and n.group == p.source_id and n.start is None
    subs, _ = negatives.make_negatives("substitute", pos, np.random.default_rng(0), verbose=False)
    for p, n in zip(pos, subs, strict=True):
        assert len(n.sequence) == 101 and n.sequence != p.sequence and n.group == p.source_id


def test_substitute_keeps_8_of_20_parts():
    rng = np.random.default_rng(0)
    out = negatives.substitute("A" * 300, rng)
    parts = [out[i : i + 15] for i in range(0, 300, 15)]
    assert len(out) == 300 and sum(p == "A" * 15 for p in parts) >= 8
    core = negatives.substitute("C" * 70, rng)  # 20 x 3 bp + a 10 bp remainder part
    assert len(core) == 70
    with pytest.raises(ValueError, match="shorter than n_parts=20"):
        negatives.substitute("ACGT", rng)


def test_bad_arguments_name_them(genome):
    _, _, seqs = genome
    pos = _positives(seqs, n=2)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="`strategy` must be one of"):
        negatives.make_negatives("random", pos, rng)
    with pytest.raises(ValueError, match="strategy 'genomic' needs `genome`"):
        negatives.make_negatives("genomic", pos, rng)
    fa, contigs, _ = genome
    mixed = [pos[0], pos[1]._replace(sequence=pos[1].sequence[:50])]
    with (
        Genome(fa, contigs) as g,
        pytest.raises(ValueError, match=r"share one length .*\[50, 101\]"),
    ):
        negatives.make_negatives("gc_matched", mixed, rng, g)


def test_allowed_regions_pads_and_complements():
    regs = allowed_regions(
        {"a": 1000, "b": 500}, [("a", 100, 200), ("a", 150, 300), ("zz", 0, 5)], 50
    )
    assert regs == [("a", 0, 50), ("a", 350, 1000), ("b", 0, 500)]
    assert allowed_regions({"a": 10, "e": 0}, []) == [("a", 0, 10)]


def test_sample_windows_stay_inside_and_skip_n(genome):
    fa, contigs, seqs = genome
    regions = [("chr2", 29_000, 33_000)]  # holds the 2 kb N gap at 30,000-32,000
    with Genome(fa, contigs) as g:
        wins = list(
            sample_windows(g, regions, 200, np.random.default_rng(0), batch=64, max_draws=500)
        )
        assert wins and len(wins) < 500  # windows touching the gap were dropped
        for c, s, e, strand, seq in wins:
            assert c == "chr2" and 29_000 <= s and e <= 33_000 and e - s == 200
            assert "N" not in seq and seq == g.fetch(c, s, e, strand)
        assert {w[3] for w in wins} == {"+", "-"}
        plus = list(sample_windows(g, regions, 200, np.random.default_rng(0), 64, False, 100))
        assert {w[3] for w in plus} == {"+"}
        with pytest.raises(ValueError, match="no allowed region is at least 5000 bp long"):
            next(sample_windows(g, regions, 5000, np.random.default_rng(0)))
