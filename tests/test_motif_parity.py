"""dnalm.motifs against DNABERT's own motif code, run side by side on planted data.

``../shared/reference/dnabert-src/motif_utils.py`` is DNABERT's published ``motif_utils.py``
(Apache-2.0, see the README beside it). It is loaded from that file at run time with
``importlib`` (never copied into dnalm) and its ``motif_analysis`` is run on the same
sequences and attention scores as :func:`dnalm.motifs.find_motifs` with
``candidates="regions"`` (DNABERT's candidate rule). The two must give the same motif keys,
the same number of windows per key and the same windows.

Biopython end gaps. DNABERT's ``merge_motifs`` builds ``Bio.Align.PairwiseAligner()`` with
its defaults and only sets ``internal_gap_score = -10000``. In the 2021 Biopython releases
DNABERT was written against (e.g. 1.78-1.81) those defaults were match 1, mismatch 0 and
every gap score 0, so end gaps were free and an alignment's score was its number of matching
bases at the best ungapped offset (the rule dnalm implements). Biopython 1.85+ charges -1 per
gap, end gaps included, which makes overhanging alignments score lower and changes which
candidates merge. The ``aligner_2021`` fixture restores the 2021 behaviour for the imported
module only: it monkeypatches ``Bio.Align.PairwiseAligner`` (which ``merge_motifs`` looks up
at call time through ``from Bio import Align``) with a subclass whose constructor sets
``gap_score = 0`` (all internal and end gap scores) after the base constructor; DNABERT's own
``internal_gap_score = -10000`` is then applied on top as in the original.

Offset ties. When a candidate aligns equally well to a key at several offsets, DNABERT takes
Biopython's first alignment; ``test_ungapped_align_equals_biopython_first_alignment`` pins
dnalm's rule (:func:`dnalm.motifs.ungapped_align`) to that order. Planted set 9 (two motifs
that are each other's halves swapped, so offsets -5 and +5 tie) fails under any other rule.

DNABERT also needs ``statsmodels`` (BH via ``multipletests``) and ``pyahocorasick``
(presence counting); the tests skip with a reason when either, or ../shared, is absent.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from dnalm.motifs import find_motifs, ungapped_align

from tests.motif_oracle import planted_dataset

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MOTIF_UTILS = SHARED / "reference" / "dnabert-src" / "motif_utils.py"

# Planted datasets: (seed, planted_dataset keyword arguments). Motif sets, substitution rate,
# edge jitter of the high-attention spans, lengths and sizes vary from set to set.
DATASETS = [
    (0, {}),
    (1, {}),
    (2, {"mutate": 0.0, "jitter": 0}),
    (3, {"motifs": ("TGACTCAGCA",), "mutate": 0.5}),
    (4, {"motifs": ("GATTACAGG", "CCGCGTGGCGG", "TTTAAACCC"), "jitter": 1, "n_seqs": 400}),
    (5, {"length": 60, "n_seqs": 300}),
    (6, {"length": 150, "decoys": 3}),
    (7, {"motifs": ("ACGTACGTAC", "ACGTACGTTT"), "mutate": 0.2}),  # overlapping motifs
    (8, {"plant_rate": 0.6, "neg_rate": 0.15}),
    (9, {"motifs": ("AAAAACCCCC", "CCCCCAAAAA"), "jitter": 1}),
    (10, {"frac_pos": 0.3, "n_seqs": 400}),
    (11, {"motifs": ("CACGTG", "TATAAAAG"), "mutate": 0.1, "length": 80}),
]


@pytest.fixture(scope="module")
def dnabert():
    """DNABERT's ``motif_utils`` module, loaded from ../shared."""
    if not MOTIF_UTILS.is_file():
        pytest.skip(f"DNABERT's motif_utils.py not found at {MOTIF_UTILS} (../shared absent)")
    pytest.importorskip("statsmodels", reason="DNABERT's motif_utils needs statsmodels")
    pytest.importorskip("ahocorasick", reason="DNABERT's motif_utils needs pyahocorasick")
    pytest.importorskip("Bio.Align", reason="DNABERT's motif_utils needs biopython")
    spec = importlib.util.spec_from_file_location("dnabert_motif_utils", MOTIF_UTILS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def aligner_2021(monkeypatch):
    """``Bio.Align.PairwiseAligner`` with the 2021 defaults: every gap score 0 (end gaps free)."""
    from Bio import Align

    base = Align.PairwiseAligner

    class PairwiseAligner2021(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.gap_score = 0.0

    monkeypatch.setattr(Align, "PairwiseAligner", PairwiseAligner2021)
    return PairwiseAligner2021


def _dnabert_windows(dnabert, seqs, scores, positive, **kw):
    """DNABERT's ``motif_analysis``: {key: sorted [(seq index, start, end)]} in dnalm indices."""
    pos_idx = np.flatnonzero(positive)
    out = dnabert.motif_analysis(
        [seqs[i] for i in pos_idx],
        [seqs[i] for i in np.flatnonzero(~positive)],
        np.asarray(scores)[pos_idx],
        window_size=kw["window"],
        min_len=kw["min_len"],
        pval_cutoff=kw["pval_cutoff"],
        min_n_motif=kw["min_n_motif"],
        save_file_dir=None,  # no files, no online WebLogo call
    )
    windows = {}
    for key, inst in out.items():
        assert len(inst["seq_idx"]) == len(inst["atten_region_pos"]) == len(inst["seqs"])
        windows[key] = sorted(
            (int(pos_idx[j]), int(s), int(e))
            for j, (s, e) in zip(inst["seq_idx"], inst["atten_region_pos"], strict=True)
        )
    return windows


def test_aligner_2021_leaves_end_gaps_free(aligner_2021):
    from Bio import Align

    aligner = Align.PairwiseAligner()
    aligner.internal_gap_score = -10000.0  # as DNABERT's merge_motifs
    best = aligner.align("ACGTT", "GTTAA")[0]
    assert best.score == 3.0  # GTT overlaps, the two overhangs cost nothing
    assert best.aligned[0][0].tolist() == [2, 5] and best.aligned[1][0].tolist() == [0, 3]
    assert aligner.align("ACGTACGT", "TACG")[0].score == 4.0  # key inside the query


def test_ungapped_align_equals_biopython_first_alignment(aligner_2021):
    """dnalm's offset tie rule is the order in which Biopython enumerates optimal alignments."""
    from Bio import Align

    aligner = Align.PairwiseAligner()
    aligner.internal_gap_score = -10000.0
    rng = np.random.default_rng(0)
    n_ties = 0
    for _ in range(1500):
        lk = int(rng.integers(2, 10))
        lq = int(rng.integers(lk, 14))  # merge_motifs aligns a query at least as long as the key
        alphabet = list("AC") if rng.random() < 0.6 else list("ACGT")  # low complexity: ties
        q, k = ("".join(rng.choice(alphabet, n)) for n in (lq, lk))
        best = aligner.align(q, k)[0]
        if best.score < 1:
            continue
        offset = int(best.aligned[0][0][0] - best.aligned[1][0][0])  # DNABERT's left_offset
        assert ungapped_align(q, k) == (int(best.score), offset), (q, k)
        tied = [
            o
            for o in range(-(lk - 1), lq)
            if sum(0 <= o + j < lq and q[o + j] == k[j] for j in range(lk)) == best.score
        ]
        n_ties += len(tied) > 1
    assert n_ties > 300  # offsets tied often: the tie rule was exercised


@pytest.mark.parametrize(("seed", "params"), DATASETS, ids=[f"set{s}" for s, _ in DATASETS])
def test_regions_mode_equals_dnabert_motif_analysis(dnabert, aligner_2021, seed, params):
    kw = {"min_len": 5, "window": 24, "pval_cutoff": 0.005, "min_n_motif": 3}
    seqs, scores, positive = planted_dataset(
        np.random.default_rng(seed), **{"n_seqs": 250, **params}
    )
    theirs = _dnabert_windows(dnabert, seqs, scores, positive, **kw)
    res = find_motifs(seqs, scores, positive, candidates="regions", **kw)
    ours = {
        m.key: sorted(zip(m.seq_index.tolist(), m.start.tolist(), m.end.tolist(), strict=True))
        for m in res.motifs
    }
    assert ours, "the planted motifs should be found"
    assert set(ours) == set(theirs)
    assert {k: len(v) for k, v in ours.items()} == {k: len(v) for k, v in theirs.items()}
    assert ours == theirs
    for m in res.motifs:  # windows are read off the same sequences
        assert all(len(site) == kw["window"] for site in m.sites(seqs))
