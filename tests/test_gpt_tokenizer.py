"""Tests of dnalm.gpt.tokenizer: DNAGPT's id layout, 6-mer chunking with tails, text form, files."""

import itertools

import numpy as np
import pytest
from dnalm import kmers
from dnalm.gpt.tokenizer import (
    KMER_OFFSET,
    N_RESERVED,
    NUM_ID,
    PAD_ID,
    QUERY_ID,
    VOCAB_SIZE,
    GptTokenizer,
    load_gpt_tokenizer,
)


def test_layout_matches_the_published_anchors():
    tok = GptTokenizer()
    assert N_RESERVED == 34 and VOCAB_SIZE == 19564 and len(tok.vocab) == VOCAB_SIZE
    assert KMER_OFFSET == (34, 39, 64, 189, 814, 3939)
    assert tok.encode("AAAAAA").tolist() == [7845]
    assert tok.encode("TTTTTT").tolist() == [19563]
    assert tok.encode("ACGTAC").tolist() == [9297]
    assert tok.encode("N").tolist() == [34] and tok.encode("T").tolist() == [38]
    assert (tok.vocab[PAD_ID], tok.vocab[NUM_ID], tok.vocab[QUERY_ID]) == ("<P>", "<M>", "<B>")
    assert tok.vocab[21] == "<R>" and tok.vocab[14] == "<=>" and tok.vocab[10] == "<+>"
    # every id's token encodes back to that id (k-mers of all lengths)
    for i in range(N_RESERVED, VOCAB_SIZE, 97):
        assert tok.encode(tok.vocab[i]).tolist() == [i]


@pytest.mark.parametrize("length", [0, 1, 5, 6, 7, 11, 12, 13, 17, 600, 603])
def test_round_trip_with_tails(length):
    rng = np.random.default_rng(length)
    seq = "".join(rng.choice(list("ACGTNacgtn"), size=length))
    tok = GptTokenizer()
    ids = tok.encode(seq)
    assert len(ids) == -(-length // 6)  # non-overlapping, the short tail kept as one token
    assert tok.decode(ids) == seq.upper()
    if length % 6:
        assert len(tok.vocab[ids[-1]]) == length % 6


def test_chunks_are_left_aligned_non_overlapping():
    tok = GptTokenizer()
    ids = tok.encode("ACGTACGGTTCAA")
    assert [tok.vocab[i] for i in ids] == ["ACGTAC", "GGTTCA", "A"]


def test_other_symbols_become_n_and_case_folds():
    tok = GptTokenizer()
    assert tok.decode(tok.encode("acgRYk-")) == "ACGNNNN"
    assert np.array_equal(tok.encode("acgtac"), tok.encode("ACGTAC"))


def test_corpus_codes_agree_with_strings():
    tok = GptTokenizer()
    for seq in ("ACGTTGCA", "AAAAAAT", "GATTACAGATTACA", "ACGTN"):
        codes = kmers.seq_to_codes(seq)
        assert np.array_equal(tok.dnalm_codes_to_ids(codes), tok.encode(seq))


def test_text_form_and_errors():
    tok = GptTokenizer()
    ids = tok.encode_text("<R>ACGTACGT<=><M>")
    assert ids.tolist() == [21, 9297, tok.encode("GT")[0], 14, 18]
    assert tok.decode(ids) == "<R>ACGTACGT<=><M>"
    with pytest.raises(ValueError, match="unknown token '<J>'"):
        tok.encode_text("<J>ACGT")
    with pytest.raises(ValueError, match="never closed"):
        tok.encode_text("ACGT<R")
    with pytest.raises(ValueError, match="'>' without '<'"):
        tok.encode_text("AC>GT")
    with pytest.raises(ValueError, match="must lie in"):
        tok.decode([VOCAB_SIZE])


def test_saved_files_follow_hf_conventions(tmp_path):
    import json

    GptTokenizer(model_max_length=256).save(tmp_path)
    cfg = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert cfg["do_lower_case"] is False and cfg["kmer"] == 6 and cfg["model_max_length"] == 256
    assert cfg["pad_token"] == "<P>"
    lines = (tmp_path / "vocab.txt").read_text().splitlines()
    assert len(lines) == VOCAB_SIZE and lines[7845] == "AAAAAA"
    assert lines[N_RESERVED:N_RESERVED + 5] == list("NAGCT")
    assert lines[3939:3939 + 3] == ["".join(p) for p in itertools.islice(itertools.product("NAGCT", repeat=6), 3)]
    tok = load_gpt_tokenizer(tmp_path)
    assert tok.model_max_length == 256 and tok.decode(tok.encode("ACGTACG")) == "ACGTACG"
    lines[100] = "XXXX"
    (tmp_path / "vocab.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"vocab.txt:101: token 'XXXX'"):
        load_gpt_tokenizer(tmp_path)
    with pytest.raises(ValueError, match="tokenizer_config.json: missing"):
        load_gpt_tokenizer(tmp_path / "nowhere")
