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
    fa.write_text(">a desc\nACGT\nACGT\n>b\nGGGGCC\n")
    lab = tmp_path / "labels.tsv"
    lab.write_text("id\tlabel\na\t1\nb\t0\n")
    exs = read_fasta_labels(fa, lab)
    assert [(e.source_id, e.sequence, e.label) for e in exs] == [
        ("a", "ACGTACGT", 1),
        ("b", "GGGGCC", 0),
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


@pytest.mark.parametrize(
    ("fmt", "body", "where", "message"),
    [
        ("tsv", "sequence\tlabel\nACGTAC CGTACG\t1\nACGTAC CGTACG\t2\n", 3, "label 2 is not in"),
        ("tsv", "sequence\tlabel\nACGTA\t1\n", 2, "5 bp is shorter than k = 6"),
        ("tsv", "sequence\tlabel\nNNNNNN NNNNNN\t0\n", 2, "all N"),
        ("tsv", "ACGTAC CGTACG\t1\nACGTAC CGTACG\t0\n", 1, "data row, not a header"),
        ("csv", "sequence,label\nACGTACG,0\nACGTACG,3\n", 3, "label 3 is not in"),
        ("csv", "sequence,label\nACGTACG,0\nACG,1\n", 3, "shorter than k"),
        ("csv", "sequence,label\nNNNNNNNN,0\n", 2, "all N"),
        ("csv", "ACGTACG,0\nACGTACG,1\n", 1, "header must be 'sequence,label'"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, fmt, body, where, message):
    if fmt == "tsv":
        p = tmp_path / "in.tsv"
        p.write_text(body)
        args = ("dnabert_tsv", p)
    else:
        for split in ("train", "dev", "test"):
            (tmp_path / f"{split}.csv").write_text("sequence,label\nACGTACG,0\n")
        p = tmp_path / "dev.csv"
        p.write_text(body)
        args = ("gue_csv", tmp_path)
    with pytest.raises(ValueError) as err:
        import_examples(*args)
    assert str(err.value).startswith(f"{p}:{where}: ") and message in str(err.value)


def test_fasta_labels_stray_label_short_and_all_n(tmp_path):
    fa = tmp_path / "x.fa"
    lab = tmp_path / "labels.tsv"
    fa.write_text(">a\nACGTACGT\n>b\nGGGGCCAA\n")
    lab.write_text("a\t1\nb\t2\n")  # header-less table: line 1 is data and kept
    with pytest.raises(
        ValueError, match=rf"^{lab}:2: label 2 is not in the task's label set \[0, 1\]"
    ):
        read_fasta_labels(fa, lab)
    assert [e.label for e in read_fasta_labels(fa, lab, label_set=[0, 1, 2])] == [1, 2]
    fa.write_text(">a\nACGTACGT\n>b\nNNNN\nNNNN\n")
    lab.write_text("a\t1\nb\t0\n")
    with pytest.raises(ValueError, match=rf"^{fa}:3: sequence is all N \(8 bp\)"):
        read_fasta_labels(fa, lab)
    fa.write_text(">a\nACGTACGT\n>b\nACG\n")
    with pytest.raises(ValueError, match=rf"^{fa}:3: sequence of 3 bp is shorter than k = 6"):
        read_fasta_labels(fa, lab)
    assert len(read_fasta_labels(fa, lab, k=3)) == 2


def test_declared_label_set_and_k(tmp_path):
    p = tmp_path / "in.tsv"
    p.write_text("sequence\tlabel\nACG CGT\t2\nGGA GAT\t0\n")
    data, _ = import_examples("dnabert_tsv", p, label_set=[0, 1, 2], k=3)
    assert [(e.sequence, e.label) for e in data] == [("ACGT", 2), ("GGAT", 0)]
    with pytest.raises(ValueError, match="`label_set` needs >= 2"):
        import_examples("dnabert_tsv", p, label_set=[1], k=3)
    with pytest.raises(ValueError, match="`k` must be a positive integer"):
        import_examples("dnabert_tsv", p, k=0)


def test_truncated_gzip_names_the_file(tmp_path):
    import gzip

    p = tmp_path / "in.tsv.gz"
    body = "sequence\tlabel\n" + "ACGTAC CGTACG\t1\n" * 2000
    p.write_bytes(gzip.compress(body.encode())[:-40])
    with pytest.raises(ValueError, match=rf"^{p}: truncated or corrupt gzip stream"):
        read_dnabert_tsv(p)
