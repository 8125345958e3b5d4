"""Tests of dnalm.corpus.stream: shards -> tokenized, length-bucketed, resumable batches."""

from pathlib import Path

import numpy as np
import pytest
import torch
from dnalm import kmers
from dnalm.corpus import find_shards
from dnalm.corpus.stream import BatchStream, Corpus, epoch_batches


def write_shards(d: Path, n_pieces=(150, 120), seed=0, lengths=(10, 100)):
    """Tiny corpus shards in the corpus-stage format (A/T-rich, so a model can learn something)."""
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for c, n in zip(("chr1", "chr2"), n_pieces, strict=False):
        lens = rng.integers(lengths[0], lengths[1], size=n)
        seq = rng.choice(4, size=int(lens.sum()), p=[0.55, 0.25, 0.1, 0.1]).astype(np.uint8)
        off = np.concatenate([[0], np.cumsum(lens)[:-1]])
        split = (rng.random(n) < 0.1).astype(np.int64)
        np.save(d / f"{c}.seq.npy", seq)
        np.save(d / f"{c}.idx.npy", np.stack([off, lens, split], axis=1).astype(np.int64))
    return d


def test_batch_stream_resumes_at_its_position(tmp_path):
    d = write_shards(tmp_path / "s", n_pieces=(40, 30))
    corpus = Corpus(find_shards(d), k=6)
    pieces = np.flatnonzero(corpus.split == 0)
    a = BatchStream(corpus, pieces, batch_size=4, seed=3, pool_batches=2)
    first = [a.next()[0] for _ in range(25)]  # crosses an epoch boundary
    assert a.position[0] == 1
    b = BatchStream(corpus, pieces, batch_size=4, seed=3, pool_batches=2)
    for _ in range(9):
        b.next()
    c = BatchStream(corpus, pieces, batch_size=4, seed=3, pool_batches=2,
                    epoch=b.position[0], cursor=b.position[1])
    for x, y in zip(first[9:], [c.next()[0] for _ in range(16)], strict=True):
        assert torch.equal(x, y)
    # two ranks split each epoch's batches
    r0 = BatchStream(corpus, pieces, 4, 3, 2, rank=0, world=2)
    r1 = BatchStream(corpus, pieces, 4, 3, 2, rank=1, world=2)
    assert not torch.equal(r0.next()[0], r1.next()[0])


def test_epoch_batches_bucketing():
    rng = np.random.default_rng(0)
    n_tok = rng.integers(8, 512, size=5000)
    b = epoch_batches(n_tok, 32, seed=1, epoch=0)
    assert b.shape == (5000 // 32, 32)
    assert len(np.unique(b)) == b.size  # each piece at most once per epoch
    width = n_tok[b].max(axis=1)
    waste = 1 - n_tok[b].sum() / (width.sum() * 32)
    assert waste < 0.05  # DNABERT-style padding to 512 would waste ~50% here
    np.testing.assert_array_equal(b, epoch_batches(n_tok, 32, seed=1, epoch=0))
    assert not np.array_equal(b, epoch_batches(n_tok, 32, seed=1, epoch=1))
    small = epoch_batches(n_tok[:5], 32, seed=1, epoch=0)
    assert small.shape == (1, 5)


def test_corpus_tokens_and_errors(tmp_path):
    d = write_shards(tmp_path / "s", n_pieces=(5,), lengths=(3, 30))
    corpus = Corpus(find_shards(d), k=6, max_tokens=12)
    idx = np.load(d / "chr1.idx.npy")
    seq = np.load(d / "chr1.seq.npy")
    keep = idx[idx[:, 1] >= 6]
    assert len(corpus) == len(keep)
    off, n, _ = keep[0]
    expect = kmers.codes_to_ids(seq[off : off + n], 6)[:10]
    np.testing.assert_array_equal(corpus.tokens(0), [kmers.CLS_ID, *expect, kmers.SEP_ID])
    assert corpus.n_tokens.max() <= 12
    idx[0, 0] = len(seq)  # a piece outside the shard
    np.save(d / "chr1.idx.npy", idx)
    with pytest.raises(ValueError, match=r"chr1.idx.npy: row 0"):
        Corpus(find_shards(d), k=6)
    (d / "chr1.idx.npy").unlink()
    with pytest.raises(ValueError, match="chr1.idx.npy"):
        Corpus(find_shards(d), k=6)
    with pytest.raises(ValueError, match="no \\*.seq.npy"):
        find_shards(tmp_path)


def test_worker_processes_reopen_the_shards(tmp_path):
    """With DataLoader workers the corpus is pickled without its memory maps; same batches."""
    import pickle

    d = write_shards(tmp_path / "s", n_pieces=(30, 20))
    corpus = Corpus(find_shards(d), k=6)
    assert pickle.loads(pickle.dumps(corpus))._shards == {}
    pieces = np.flatnonzero(corpus.split == 0)
    a = BatchStream(corpus, pieces, batch_size=4, seed=5)
    b = BatchStream(corpus, pieces, batch_size=4, seed=5, num_workers=1)
    for _ in range(3):
        (ia, ma), (ib, mb) = a.next(), b.next()
        assert torch.equal(ia, ib) and torch.equal(ma, mb)
