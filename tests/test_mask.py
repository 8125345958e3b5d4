"""Tests of dnalm.mask: DNABERT's contiguous k-mer span masking."""

import numpy as np
import pytest
import torch
from dnalm import kmers
from dnalm.mask import centre_prob_for_rate, mask_tokens, span_offsets


def _batch(k, lengths, seed=0):
    """[CLS] random k-mers [SEP] [PAD]... rows with the given numbers of k-mer tokens."""
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGT"), size=n + k - 1)) for n in lengths]
    ids, att = kmers.encode_batch(seqs, k)
    return torch.from_numpy(ids), torch.from_numpy(att)


def _runs(row_mask):
    """(start, length) of runs of True in a 1-D bool array."""
    x = np.concatenate([[0], row_mask.astype(np.int8), [0]])
    d = np.diff(x)
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return list(zip(starts, ends - starts, strict=True))


@pytest.mark.parametrize(("k", "expected"), [(3, (1, 1)), (4, (1, 2)), (5, (2, 2)), (6, (2, 3))])
def test_span_offsets_match_dnabert(k, expected):
    assert span_offsets(k) == expected


@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_centre_prob_inverts_rate(k):
    p = centre_prob_for_rate(0.15, k)
    assert 1 - (1 - p) ** k == pytest.approx(0.15)
    assert centre_prob_for_rate(0.0, k) == 0.0
    with pytest.raises(ValueError, match="rate"):
        centre_prob_for_rate(1.5, k)


@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_spans_equal_brute_force_expansion(k):
    """The vectorised expansion equals a loop over centres: c-left..c+right, clipped to k-mers."""
    left, right = span_offsets(k)
    ids, att = _batch(k, [40])
    gen = torch.Generator().manual_seed(3)
    out = mask_tokens(ids, att, k, 0.05, generator=gen)
    masked = (out.labels[0] != -100).numpy()
    # Re-draw the same centres (mask_tokens's first uniform draw decides them).
    gen = torch.Generator().manual_seed(3)
    centres = (torch.rand(ids.shape, generator=gen) < 0.05) & (ids >= kmers.N_SPECIAL)
    brute = np.zeros(ids.shape[1], dtype=bool)
    real = (ids[0] >= kmers.N_SPECIAL).numpy()
    for c in np.flatnonzero(centres[0].numpy()):
        brute[max(0, c - left) : c + right + 1] = True
    brute &= real
    assert centres.any()
    np.testing.assert_array_equal(masked, brute)


def test_masking_statistics_k6():
    k = 6
    ids, att = _batch(k, [500] * 64 + [7, 3, 120, 60], seed=1)
    p = centre_prob_for_rate(0.15, k)
    gen = torch.Generator().manual_seed(0)
    out = mask_tokens(ids, att, k, p, generator=gen)
    masked = out.labels != -100
    real = ids >= kmers.N_SPECIAL
    specials = ~real

    # never a special / padding position, and labels hold the original ids
    assert not masked[specials].any()
    assert torch.equal(out.input_ids[specials], ids[specials])
    assert torch.equal(out.labels[masked], ids[masked])
    # realised rate: interior formula gives 15%, edges slightly lower
    assert out.mask_rate == pytest.approx(float(masked.sum() / real.sum()))
    assert 0.135 < out.mask_rate < 0.16
    # spans are contiguous runs whose length is a multiple-overlap of k: away from the edges
    # no run is shorter than k (a lone centre gives exactly k)
    lengths = []
    for b in range(64):
        n_real = int(real[b].sum())
        for start, length in _runs(masked[b].numpy()):
            if start > k and start + length < n_real - k:
                lengths.append(length)
    assert min(lengths) == k
    assert np.mean(np.array(lengths) == k) > 0.5
    # 80 / 10 / 10
    n = int(masked.sum())
    was_mask = (out.input_ids == kmers.MASK_ID) & masked
    same = (out.input_ids == ids) & masked
    rand = masked & ~was_mask & ~same
    assert abs(int(was_mask.sum()) / n - 0.8) < 0.02
    # a random k-mer equal to the original counts as "unchanged" (probability 1/4096)
    assert abs(int(same.sum()) / n - 0.1) < 0.015
    assert abs(int(rand.sum()) / n - 0.1) < 0.015
    # random replacements are k-mer ids, never specials
    assert (out.input_ids[rand] >= kmers.N_SPECIAL).all()
    assert (out.input_ids[rand] < kmers.vocab_size(k)).all()
    # the input is not modified
    assert not (ids == kmers.MASK_ID).any()


@pytest.mark.parametrize("k", [3, 4, 5])
def test_rate_close_to_target_other_k(k):
    ids, att = _batch(k, [400] * 32, seed=k)
    gen = torch.Generator().manual_seed(k)
    out = mask_tokens(ids, att, k, centre_prob_for_rate(0.2, k), generator=gen)
    assert 0.18 < out.mask_rate < 0.215


def test_random_replacements_never_special_small_vocab():
    k = 3  # vocab 69: whole-vocab draws (DNABERT) would hit a special ~7% of the time
    ids, att = _batch(k, [200] * 32, seed=5)
    out = mask_tokens(ids, att, k, 0.5, generator=torch.Generator().manual_seed(1))
    masked = out.labels != -100
    assert (out.input_ids[masked & (out.input_ids != kmers.MASK_ID)] >= kmers.N_SPECIAL).all()


def test_attention_mask_restricts_and_generator_determinism():
    k = 6
    ids, att = _batch(k, [100, 50], seed=2)
    att2 = att.clone()
    att2[:, 30:] = 0  # pretend only the first 30 positions are real
    out = mask_tokens(ids, att2, k, 0.3, generator=torch.Generator().manual_seed(9))
    assert not (out.labels[:, 30:] != -100).any()
    a = mask_tokens(ids, att, k, 0.1, generator=torch.Generator().manual_seed(4))
    b = mask_tokens(ids, att, k, 0.1, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a.input_ids, b.input_ids) and torch.equal(a.labels, b.labels)


def test_bad_arguments():
    ids, att = _batch(6, [10])
    with pytest.raises(ValueError, match="mlm_probability"):
        mask_tokens(ids, att, 6, 1.5)
    with pytest.raises(ValueError, match="input_ids"):
        mask_tokens(ids[0], None, 6, 0.1)
    with pytest.raises(ValueError, match="attention_mask"):
        mask_tokens(ids, att[:, :3], 6, 0.1)
    with pytest.raises(ValueError, match="`k`"):
        mask_tokens(ids, att, 7, 0.1)
