"""Tests for dnalm.kmers: DNABERT's vocabulary, token counts, [UNK] handling and HF interop."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest
from dnalm import kmers

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DNABERT_CONFIGS = SHARED / "interop" / "dnabert-config"
KS = [3, 4, 5, 6]


def dnabert_dir(k: int) -> Path:
    d = DNABERT_CONFIGS / f"bert-config-{k}"
    if not (d / "vocab.txt").is_file():
        pytest.skip(f"DNABERT config {d} absent (../shared/interop)")
    return d


def reference_ids(seq: str, k: int) -> list[int]:
    """DNABERT's way: upper-case, seq2kmer string split on spaces, dict lookup, else [UNK]."""
    table = {tok: i for i, tok in enumerate(kmers.vocab(k))}
    seq = seq.upper()
    return [table.get(seq[i : i + k], kmers.UNK_ID) for i in range(len(seq) - k + 1)]


def random_seq(rng: np.random.Generator, n: int, alphabet: str = "ACGTacgtN") -> str:
    return "".join(rng.choice(list(alphabet), n))


# --------------------------------------------------------------------------- vocabulary
@pytest.mark.parametrize("k", KS)
def test_vocab_byte_identical_to_dnabert(k):
    expected = (dnabert_dir(k) / "vocab.txt").read_bytes()
    assert kmers.vocab_text(k).encode() == expected


def test_vocab_ids_and_sizes():
    v = kmers.vocab(6)
    assert v[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert (v.index("AAAAAA"), v.index("AAAAAT"), v.index("AAAAAC"), v.index("AAAAAG")) == (
        5,
        6,
        7,
        8,
    )
    assert v.index("AAAATA") == 9 and v.index("GGGGGG") == 4100 and len(v) == 4101
    assert [kmers.vocab_size(k) for k in KS] == [69, 261, 1029, 4101]
    assert [len(kmers.vocab(k)) for k in KS] == [69, 261, 1029, 4101]
    assert kmers.vocab(3)[5:] == ["".join(p) for p in itertools.product("ATCG", repeat=3)]
    assert kmers.encode("GGGGGG", 6).tolist() == [4100]
    assert kmers.encode("AAAAAA", 6, add_special=True).tolist() == [2, 5, 3]
    assert kmers.decode([2, 5, 4100, 3, 0], 6) == ["[CLS]", "AAAAAA", "GGGGGG", "[SEP]", "[PAD]"]


@pytest.mark.parametrize("bad", [2, 7, 0, True, 6.0, "6", None])
def test_bad_k_raises(bad):
    with pytest.raises(ValueError, match="`k` must be an integer in 3..6"):
        kmers.vocab(bad)
    with pytest.raises(ValueError, match="`k`"):
        kmers.codes_to_ids(np.zeros(10, np.uint8), bad)


# --------------------------------------------------------------------------- token counts
@pytest.mark.parametrize(("length", "n_tokens"), [(101, 96), (70, 65), (300, 295), (515, 510)])
def test_token_counts_k6(length, n_tokens):
    seq = random_seq(np.random.default_rng(length), length, "ACGT")
    assert kmers.encode(seq, 6).shape == (n_tokens,)
    assert len(kmers.seq2kmer(seq, 6).split(" ")) == n_tokens
    ids, mask = kmers.encode_batch([seq], 6)
    assert ids.shape == (1, n_tokens + 2) and mask.sum() == n_tokens + 2  # L - k + 3 positions


@pytest.mark.parametrize("k", KS)
def test_every_length_gives_l_minus_k_plus_1(k):
    rng = np.random.default_rng(k)
    for n in range(0, 40):
        seq = random_seq(rng, n)
        assert kmers.encode(seq, k).shape == (max(n - k + 1, 0),)
    assert kmers.encode("A" * (k - 1), k, add_special=True).tolist() == [2, 3]


# --------------------------------------------------------------------------- seq2kmer / kmer2seq
@pytest.mark.parametrize("k", KS)
def test_seq2kmer_kmer2seq_round_trip(k):
    rng = np.random.default_rng(10 + k)
    for n in (k, k + 1, 50, 333):
        seq = random_seq(rng, n, "ACGT")
        sentence = kmers.seq2kmer(seq, k)
        toks = sentence.split(" ")
        assert len(toks) == n - k + 1 and all(len(t) == k for t in toks)
        assert "  " not in sentence and sentence == sentence.strip()
        assert kmers.kmer2seq(sentence) == seq
        assert kmers.kmer2seq(toks) == seq


def test_kmer2seq_errors():
    with pytest.raises(ValueError, match="do not overlap"):
        kmers.kmer2seq("ACGTAC CGTACC AAAAAA")
    with pytest.raises(ValueError, match="token 1 has length 5"):
        kmers.kmer2seq(["ACGTAC", "CGTAC"])
    with pytest.raises(ValueError, match="empty"):
        kmers.kmer2seq("")
    with pytest.raises(ValueError, match="shorter than k=6"):
        kmers.seq2kmer("ACGTA", 6)


# --------------------------------------------------------------------------- UNK and case
def test_n_and_non_acgt_are_unk():
    k = 6
    seq = "ACGTACGTNACGTACGTRACGTAC-GTACGTACG"
    ids = kmers.encode(seq, k)
    for i in range(len(seq) - k + 1):
        window = seq[i : i + k]
        assert (ids[i] == kmers.UNK_ID) == any(c not in "ACGT" for c in window), (i, window)
    assert kmers.encode("NNNNNNNN", 3).tolist() == [1] * 6
    assert kmers.encode("ACGTÄACGT", 3).tolist() == reference_ids("ACGT?ACGT", 3)


@pytest.mark.parametrize("k", KS)
def test_lowercase_equals_uppercase(k):
    seq = random_seq(np.random.default_rng(k), 200, "ACGTN")
    up = kmers.encode(seq, k)
    assert np.array_equal(kmers.encode(seq.lower(), k), up)
    mixed = "".join(c.lower() if i % 3 else c for i, c in enumerate(seq))
    assert np.array_equal(kmers.encode(mixed, k), up)


def test_seq_to_codes_inputs():
    expect = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]
    assert kmers.seq_to_codes("ATCGNatcgn").tolist() == expect
    assert kmers.seq_to_codes(b"ATCGNatcgn").tolist() == expect
    arr = np.frombuffer(b"ATCGNatcgn", dtype=np.uint8)
    assert kmers.seq_to_codes(arr).tolist() == expect
    assert kmers.seq_to_codes("").shape == (0,)
    assert kmers.seq_to_codes(bytearray(b"ATCGNatcgn")).tolist() == expect
    codes = kmers.seq_to_codes("ATCG")
    assert codes.dtype == np.uint8 and codes.flags.writeable


@pytest.mark.parametrize("k", KS)
def test_matches_reference_on_random_sequences(k):
    """Vectorised ids == DNABERT-style seq2kmer + dict lookup, sequences with N and soft-masking."""
    rng = np.random.default_rng(100 + k)
    for _ in range(30):
        seq = random_seq(rng, int(rng.integers(0, 400)), "ACGTACGTacgtNR")
        assert kmers.encode(seq, k).tolist() == reference_ids(seq, k)
        codes = kmers.seq_to_codes(seq)
        assert kmers.codes_to_ids(codes, k).tolist() == reference_ids(seq, k)


def test_codes_to_ids_on_views():
    seq = "ACGT" * 50
    codes = kmers.seq_to_codes(seq)
    assert kmers.codes_to_ids(codes[7:90], 5).tolist() == reference_ids(seq[7:90], 5)
    assert kmers.codes_to_ids(codes[::-1][:30], 4).tolist() == reference_ids(seq[::-1][:30], 4)
    assert kmers.codes_to_ids(codes[:2], 3).shape == (0,)
    odd = np.array([0, 1, 2, 3, 4, 5, 255, 0, 1, 2, 3], dtype=np.uint8)  # any code > 3 is unknown
    assert kmers.codes_to_ids(odd, 3).tolist() == [5 + 6, 5 + 27, 1, 1, 1, 1, 1, 5 + 6, 5 + 27]


def test_long_sequence_matches_reference():
    seq = random_seq(np.random.default_rng(7), 50_000, "ACGTNacgt")
    for k in KS:
        ids = kmers.encode(seq, k)
        assert ids.dtype == np.int64 and ids.tolist() == reference_ids(seq, k)


# --------------------------------------------------------------------------- batches
def test_encode_batch_padding():
    seqs = ["ACGTACGTAC", "ACGTACG", "ACGTA"]
    ids, mask = kmers.encode_batch(seqs, 3)
    assert ids.shape == mask.shape == (3, 10) and ids.dtype == mask.dtype == np.int64
    for row, s in zip(range(3), seqs, strict=True):
        n = len(s) - 3 + 3
        assert ids[row, 0] == kmers.CLS_ID and ids[row, n - 1] == kmers.SEP_ID
        assert ids[row, 1 : n - 1].tolist() == reference_ids(s, 3)
        assert (ids[row, n:] == kmers.PAD_ID).all()
        assert mask[row].tolist() == [1] * n + [0] * (10 - n)
    ids16, mask16 = kmers.encode_batch(seqs, 3, pad_to=16)
    assert ids16.shape == (3, 16) and np.array_equal(ids16[:, :10], ids)
    assert mask16[:, 10:].sum() == 0
    empty_ids, empty_mask = kmers.encode_batch([], 6)
    assert empty_ids.shape == empty_mask.shape == (0, 0)


def test_encode_batch_max_tokens_raises():
    seqs = ["A" * 100, "A" * 515, "A" * 516]
    ids, _ = kmers.encode_batch(seqs[:2], 6, max_tokens=512)
    assert ids.shape == (2, 512)
    with pytest.raises(ValueError, match=r"`seqs`\[2\] needs 513 tokens, more than max_tokens=512"):
        kmers.encode_batch(seqs, 6, max_tokens=512)
    with pytest.raises(ValueError, match="pad_to"):
        kmers.encode_batch(seqs[:2], 6, pad_to=100)


def test_kmer_tokenizer_object(tmp_path):
    tok = kmers.KmerTokenizer(5, max_len=64)
    assert tok.vocab_size == 1029
    assert tok.encode("ACGTACG").tolist() == [2, *reference_ids("ACGTACG", 5), 3]
    with pytest.raises(ValueError, match="max_tokens=64"):
        tok(["A" * 100])
    tok.save(tmp_path)
    again = kmers.load_tokenizer(tmp_path)
    assert (again.k, again.max_len) == (5, 64)


# --------------------------------------------------------------------------- HF interop
@pytest.mark.parametrize("k", KS)
def test_written_files_load_in_plain_bert_tokenizer(tmp_path, k):
    transformers = pytest.importorskip("transformers")
    kmers.write_tokenizer_files(tmp_path, k)
    assert (tmp_path / "vocab.txt").read_text() == kmers.vocab_text(k)
    hf = transformers.BertTokenizer.from_pretrained(str(tmp_path))
    seq = random_seq(np.random.default_rng(k), 120, "ACGTN")
    got = hf(kmers.seq2kmer(seq, k))["input_ids"]
    assert got == kmers.encode(seq, k, add_special=True).tolist()
    assert len(hf) == kmers.vocab_size(k)


@pytest.mark.parametrize("k", KS)
def test_dnabert_dir_loads_with_warning(k):
    d = dnabert_dir(k)
    with pytest.warns(UserWarning, match="do_lower_case"):
        tok = kmers.load_tokenizer(d)
    assert tok.k == k and tok.max_len == 512
    seq = random_seq(np.random.default_rng(k), 90, "ACGT")
    assert tok.encode(seq).tolist() == [2, *reference_ids(seq, k), 3]


def test_dnabert_dir_hf_tokenizer_and_the_lowercase_trap():
    transformers = pytest.importorskip("transformers")
    d = dnabert_dir(6)
    seq = random_seq(np.random.default_rng(0), 101, "ACGT")
    sentence = kmers.seq2kmer(seq, 6)
    expected = kmers.encode(seq, 6, add_special=True).tolist()
    with pytest.warns(UserWarning, match="do_lower_case"):
        hf = kmers.hf_tokenizer(d)
    assert hf(sentence)["input_ids"] == expected
    # the trap: a plain BertTokenizer honours do_lower_case=true and every k-mer becomes [UNK]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = transformers.BertTokenizer.from_pretrained(str(d))
    ids = plain(sentence)["input_ids"]
    assert ids[0] == kmers.CLS_ID and ids[-1] == kmers.SEP_ID
    assert set(ids[1:-1]) == {kmers.UNK_ID} and len(ids) == 98


def test_load_tokenizer_errors(tmp_path):
    with pytest.raises(ValueError, match="no vocab.txt"):
        kmers.load_tokenizer(tmp_path)
    (tmp_path / "vocab.txt").write_text("\n".join(kmers.vocab(4)[::-1]))
    with pytest.raises(ValueError, match="not a DNABERT k-mer vocabulary"):
        kmers.load_tokenizer(tmp_path)
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\nA\n")
    with pytest.raises(ValueError, match=r"vocab.txt: not a DNABERT k-mer vocabulary \(3 entries"):
        kmers.load_tokenizer(tmp_path)


@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_encode_batch_rows_equal_single_encodes(k):
    rng = np.random.default_rng(k)
    seqs = ["".join(rng.choice(list("ACGTNacgt"), size=int(n))) for n in rng.integers(k, 90, 40)]
    seqs += ["A" * k, "ACGTN"[: k - 1]]  # exactly one k-mer; shorter than k (no k-mers)
    ids, mask = kmers.encode_batch(seqs, k)
    for i, s in enumerate(seqs):
        want = kmers.encode(s, k, add_special=True)
        assert list(ids[i, : len(want)]) == list(want)
        assert mask[i].sum() == len(want) and (ids[i, len(want) :] == kmers.PAD_ID).all()


# --------------------------------------------------------------------------- AutoTokenizer
@pytest.mark.parametrize("k", KS)
def test_auto_tokenizer_on_raw_dna_gives_dnalm_ids(tmp_path, k):
    """tokenizer.json k-merises raw DNA of any case: AutoTokenizer == kmers.encode, no remote code."""
    transformers = pytest.importorskip("transformers")
    kmers.write_tokenizer_files(tmp_path, k, max_len=600)
    tok = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    rng = np.random.default_rng(k)
    seqs = [random_seq(rng, int(n), "ACGTacgtNnRy- ") for n in rng.integers(0, 300, 60)]
    seqs += ["", "A" * (k - 1), "acgtn"[:k] + "A" * 0, "G" * k, "ACGT" * 20, "nnnnnnnn", "aCgT" * 5]
    for s in seqs:
        want = kmers.encode(s, k, add_special=True).tolist()
        assert tok(s)["input_ids"] == want, s
        # round trip: the tokens are the k-mers of the upper-cased sequence
        toks = tok.convert_ids_to_tokens(want)[1:-1]
        if len(s) >= k and set(s.upper()) <= set("ACGT"):
            assert kmers.kmer2seq(toks) == s.upper()
    ids, mask = kmers.encode_batch(seqs[:20], k)
    batch = tok(seqs[:20], padding=True)
    assert batch["input_ids"] == ids.tolist()
    assert batch["attention_mask"] == mask.tolist()
    assert tok.pad_token_id == kmers.PAD_ID and tok.mask_token_id == kmers.MASK_ID
    assert len(tok) == kmers.vocab_size(k) and tok.model_max_length == 600


def test_hf_tokenizer_json_is_deterministic_and_standalone():
    tokenizers = pytest.importorskip("tokenizers")
    text = kmers.hf_tokenizer_json(6)
    assert text == kmers.hf_tokenizer_json(6)
    tok = tokenizers.Tokenizer.from_str(text)
    seq = "ttACGNacgtagGATTACA"
    assert tok.encode(seq).ids == kmers.encode(seq, 6, add_special=True).tolist()
    assert tok.get_vocab_size() == kmers.vocab_size(6)
