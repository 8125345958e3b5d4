"""Bring-your-own datasets: DNABERT TSV, GUE CSV, FASTA + labels."""

from pathlib import Path

import pytest
from dnalm.importers import import_examples, read_dnabert_tsv, read_fasta_labels, read_gue_csv
from dnalm.kmers import seq2kmer

DATA = Path(__file__).parent / "data"


def test_dnabert_tsv_fixture():
    exs = read_dnabert_tsv(DATA / "ds_import.tsv")
    assert len(exs) == 6
    assert exs[0].sequence == "ACGTACGTAAGGCCTTAGCA" and exs[0].label == 1
    assert exs[0].source_id == "ds_import.tsv:2" and exs[0].contig == "." and exs[0].start is None
    assert {e.label for e in exs} == {0, 1}


def test_dnabert_tsv_space_header_crlf_bom(tmp_path):
    seqs = ["ACGTTGCAAGT", "TTTTGGGGCCA"]
    p = tmp_path / "train.tsv"
    body = "sequence label\r\n" + "".join(f"{seq2kmer(s, 6)}\t{i}\r\n" for i, s in enumerate(seqs))
    p.write_bytes(b"\xef\xbb\xbf" + body.encode())
    exs = read_dnabert_tsv(p)
    assert [e.sequence for e in exs] == seqs and [e.label for e in exs] == [0, 1]


def test_dnabert_tsv_errors(tmp_path):
    p = tmp_path / "bad.tsv"
    p.write_text("sequence\tlabel\nACGTAC CGTACG\t1\nACGTAC GGGGGG\t0\n")
    with pytest.raises(ValueError, match=r"bad.tsv:3: .*do not overlap"):
        read_dnabert_tsv(p)
    p.write_text("sequence\tlabel\nACGTAC CGTACG\tpositive\n")
    with pytest.raises(ValueError, match=r"bad.tsv:2: unexpected label 'positive'"):
        read_dnabert_tsv(p)


def test_gue_csv_keeps_splits(tmp_path):
    for split, rows in {
        "train": ["ACGTAC,1", "GGGCCC,0"],
        "dev": ["TTTAAA,1"],
        "test": ["CCCGGG,0"],
    }.items():
        (tmp_path / f"{split}.csv").write_text("sequence,label\n" + "\n".join(rows) + "\n")
    data = read_gue_csv(tmp_path)
    assert [e.sequence for e in data["train"]] == ["ACGTAC", "GGGCCC"]
    assert data["test"][0].label == 0
    (tmp_path / "dev.csv").write_text("seq,lab\nACGT,1\n")
    with pytest.raises(ValueError, match=r"dev.csv:1: header must be 'sequence,label'"):
        read_gue_csv(tmp_path)


def test_fasta_labels(tmp_path):
    fa = tmp_path / "x.fa"
    fa.write_text(">a desc\nACGT\nACGT\n>b\nGGGG\n")
    lab = tmp_path / "labels.tsv"
    lab.write_text("id\tlabel\na\t1\nb\t0\n")
    exs = read_fasta_labels(fa, lab)
    assert [(e.source_id, e.sequence, e.label) for e in exs] == [
        ("a", "ACGTACGT", 1),
        ("b", "GGGG", 0),
    ]
    lab.write_text("a\t1\n")
    with pytest.raises(ValueError, match=r"x.fa:4: record 'b' has no label"):
        read_fasta_labels(fa, lab)
    lab.write_text("a\t1\nb\t-1\n")
    with pytest.raises(ValueError, match=r"labels.tsv:2: unexpected label"):
        read_fasta_labels(fa, lab)


def test_import_examples_dispatch(tmp_path):
    data, files = import_examples("dnabert_tsv", DATA / "ds_import.tsv")
    assert len(data) == 6 and files == [DATA / "ds_import.tsv"]
    with pytest.raises(ValueError, match="format"):
        import_examples("bed", DATA / "ds_import.tsv")
