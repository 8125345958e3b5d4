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
    # a header without rows read as a task "with only label(s) []"; an extra column as a k-mer
    # length error
    p.write_text("sequence\tlabel\n")
    with pytest.raises(ValueError, match=r"bad.tsv: no data rows after the header"):
        read_dnabert_tsv(p)
    p.write_text("sequence\tlabel\nACGTAC CGTACG\t1\nACGTAC CGTACG\t1\tx\n")
    with pytest.raises(ValueError, match=r"bad.tsv:3: expected 2 tab-separated columns \(k-mers, label\), got 3"):
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


# ----------------------------------------------------------------- coordinates (chrom/start/end/strand)

_S1, _S2, _S3 = "ACGTACGTAAGG", "TTGGCCAATTGC", "GGGCCCAAATTT"


def test_dnabert_tsv_coordinate_columns(tmp_path):
    p = tmp_path / "c.tsv"
    p.write_text(
        "sequence\tlabel\tchrom\tstart\tend\tstrand\n"
        f"{seq2kmer(_S1, 6)}\t1\tchr1\t100\t112\t+\n"
        f"{seq2kmer(_S2, 6)}\t0\tchr2\t5\t17\t-\n"
        f"{seq2kmer(_S3, 6)}\t0\t.\t.\t.\t.\n"
    )
    a, b, c = read_dnabert_tsv(p)
    assert (a.sequence, a.label, a.contig, a.start, a.end, a.strand) == (_S1, 1, "chr1", 100, 112, "+")
    assert (b.contig, b.start, b.end, b.strand) == ("chr2", 5, 17, "-")
    assert (c.contig, c.start, c.end, c.strand) == (".", None, None, ".")
    assert a.source_id == "c.tsv:2"


def test_gue_csv_and_fasta_labels_coordinate_columns(tmp_path):
    for split in ("train", "dev", "test"):
        (tmp_path / f"{split}.csv").write_text(
            f"sequence,label,strand,chrom,end,start\n{_S1},1,+,chrX,1012,1000\n"
        )
    data = read_gue_csv(tmp_path)
    ex = data["dev"][0]
    assert (ex.contig, ex.start, ex.end, ex.strand) == ("chrX", 1000, 1012, "+")
    fa = tmp_path / "x.fa"
    fa.write_text(f">r1\n{_S1}\n>r2\n{_S2}\n")
    lab = tmp_path / "labels.tsv"
    lab.write_text("id\tlabel\tchrom\tstart\tend\tstrand\nr1\t1\tchr3\t0\t12\t-\nr2\t0\t.\t.\t.\t.\n")
    r1, r2 = read_fasta_labels(fa, lab)
    assert (r1.contig, r1.start, r1.end, r1.strand, r1.source_id) == ("chr3", 0, 12, "-", "r1")
    assert r2.start is None


@pytest.mark.parametrize(
    ("row", "line", "message"),
    [
        ("chr1\t100\t111\t+", 3, "span 11 bp but the sequence has 12 bp"),
        ("chr1\t100\t112\t*", 3, "strand must be '+' or '-'"),
        ("chr1\tx\t112\t+", 3, "are not integers"),
        ("chr1\t100\t.\t+", 3, "incomplete coordinates (end missing)"),
        ("chr1\t-4\t8\t+", 3, "need 0 <= start < end"),
    ],
)
def test_bad_coordinates_name_file_and_line(tmp_path, row, line, message):
    p = tmp_path / "bad.tsv"
    p.write_text(
        "sequence\tlabel\tchrom\tstart\tend\tstrand\n"
        f"{seq2kmer(_S1, 6)}\t1\tchr1\t0\t12\t+\n"
        f"{seq2kmer(_S2, 6)}\t0\t{row}\n"
    )
    with pytest.raises(ValueError) as err:
        read_dnabert_tsv(p)
    assert str(err.value).startswith(f"{p}:{line}: ") and message in str(err.value)


def test_partial_coordinate_header_and_fasta_table_line(tmp_path):
    p = tmp_path / "h.tsv"
    p.write_text(f"sequence\tlabel\tchrom\tstart\n{seq2kmer(_S1, 6)}\t1\tchr1\t0\n")
    with pytest.raises(ValueError, match=r"h.tsv:1: coordinate columns need all of .*missing \['end', 'strand'\]"):
        read_dnabert_tsv(p)
    fa = tmp_path / "x.fa"
    fa.write_text(f">r1\n{_S1}\n")
    lab = tmp_path / "labels.tsv"
    lab.write_text("id\tlabel\tchrom\tstart\tend\tstrand\nr1\t1\tchr3\t0\t10\t+\n")
    with pytest.raises(ValueError, match=r"labels.tsv:2: coordinates chr3:0-10 span 10 bp"):
        read_fasta_labels(fa, lab)


def _imported_with_coords(tmp_path, n: int = 20, missing_line: int | None = None) -> Path:
    import numpy as np

    rng = np.random.default_rng(0)
    lines = ["sequence\tlabel\tchrom\tstart\tend\tstrand"]
    for i in range(n):
        s = "".join(rng.choice(list("ACGT"), 30))
        coord = f"chr1\t{1000 * i}\t{1000 * i + 30}\t{'+-'[i % 2]}"
        if missing_line is not None and i + 2 == missing_line:
            coord = ".\t.\t.\t."
        lines.append(f"{seq2kmer(s, 6)}\t{i % 2}\t{coord}")
    p = tmp_path / "imp.tsv"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_build_dataset_carries_coordinates_into_splits(tmp_path):
    from dnalm import datasets
    from dnalm.dataset import read_card, read_split
    from dnalm.variants.select import read_positive_windows

    src = _imported_with_coords(tmp_path)
    outs = {s: tmp_path / "out" / f"{s}.tsv.gz" for s in ("train", "dev", "test")}
    outs["card"] = tmp_path / "out" / "card.json"
    spec = {"kind": "imported", "format": "dnabert_tsv", "path": str(src), "genome": "g1"}
    splits = {"train": 0.8, "dev": 0.1, "test": 0.1, "seed": 1}
    card = datasets.build_dataset("imp", spec, {"path": src}, outs, splits, verbose=False)
    assert card["stats"]["with_coordinates"] == 20
    df = read_split(outs["train"])
    assert list(df.columns[:6]) == ["sequence", "label", "contig", "start", "end", "strand"]
    assert set(df["contig"]) == {"chr1"} and set(df["strand"]) <= {"+", "-"}
    assert (df["end"].astype(int) - df["start"].astype(int) == 30).all()
    # the variant stage reads the positive windows exactly as for a native task
    wins = read_positive_windows([outs[s] for s in ("train", "dev", "test")])
    assert len(wins) == 10 and all(w.end - w.start == 30 for w in wins)
    assert {w.name for w in wins} == {f"imp.tsv:{i + 2}" for i in range(1, 20, 2)}
    assert read_card(outs["card"]).window_length == 30
    # with a genome, every row needs coordinates: file:line named, nothing written
    (tmp_path / "b").mkdir()
    bad = _imported_with_coords(tmp_path / "b", missing_line=7)
    bad_outs = {s: tmp_path / "bad" / f"{s}.tsv.gz" for s in ("train", "dev", "test", "card")}
    with pytest.raises(ValueError, match=r"imp.tsv:7: row has no chrom/start/end/strand"):
        datasets.build_dataset("imp", {**spec, "path": str(bad)}, {"path": bad}, bad_outs, splits,
                               verbose=False)
    assert not (tmp_path / "bad").exists()
    spec.pop("genome")  # without a genome a row may lack them
    card = datasets.build_dataset("imp", {**spec, "path": str(bad)}, {"path": bad}, outs, splits,
                                  verbose=False)
    assert card["stats"]["with_coordinates"] == 19


def _demo_config_with_imported(genome: bool) -> dict:
    import yaml

    raw = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())
    task = {"kind": "imported", "format": "dnabert_tsv", "path": "resources/imp/imp.tsv"}
    if genome:
        task["genome"] = "demo_hs"
    raw["tasks"]["imp"] = task
    raw["attention"]["tasks"] = [*raw["attention"]["tasks"], "imp"]
    raw["variants"]["tasks"] = [*raw["variants"]["tasks"], "imp"]
    return raw


def test_imported_task_with_genome_reaches_attention_and_variants_like_a_native_one():
    from dnalm import paths as P
    from dnalm.settings import ConfigError, load_config

    with pytest.raises(ConfigError, match=r"imported without tasks.imp.genome"):
        load_config(_demo_config_with_imported(genome=False))
    cfg = load_config(_demo_config_with_imported(genome=True))
    model = cfg.variants.model
    native, imp = (P.variant_model_inputs(cfg, t, model) for t in ("tf_ctcf", "imp"))
    for key in ("fasta", "fai", "gzi"):
        assert imp[key] == native[key]
    assert imp["regions"] == f"results/attention/imp/{model}/regions.bed"
    assert imp["train"] == "results/datasets/imp/train.tsv.gz"
    assert P.vcf_inputs(cfg, "imp") == P.vcf_inputs(cfg, "tf_ctcf") != {}
    assert P.attribution_has_coordinates(cfg, "imp")
    outs = P.final_outputs(cfg)
    assert f"results/variants/imp/{model}/summary.json" in outs
    assert f"results/attention/imp/{cfg.attention.model}/landscape.png" in outs
    raw = _demo_config_with_imported(genome=True)
    raw["tasks"]["imp"]["genome"] = "nope"
    with pytest.raises(ConfigError, match=r"tasks.imp.genome.*unknown genome 'nope'"):
        load_config(raw)


def test_imported_task_with_coordinates_dry_run_reaches_attention_and_variants(tmp_path):
    """Snakemake plans dataset -> fine-tune -> attention -> variant scoring for an imported task."""
    import re
    import subprocess
    import sys

    import yaml

    from tests.workflow_copy import copy_workflow

    wf = copy_workflow(tmp_path / "wf")
    src = _imported_with_coords(tmp_path)
    (wf / "resources" / "imp").mkdir(parents=True)
    (wf / "resources" / "imp" / "imp.tsv").write_text(src.read_text())
    raw = _demo_config_with_imported(genome=True)
    (wf / "config" / "imp.yaml").write_text(yaml.safe_dump(raw))
    model = raw["variants"]["model"]
    targets = [f"results/variants/imp/{model}/summary.json",
               f"results/attention/imp/{raw['attention']['model']}/landscape.png"]  # fmt: skip
    r = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", "-n", "--quiet", "rules",
         "--configfile", "config/imp.yaml", "--replace-workflow-config", *targets],
        cwd=wf, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    stats = dict(re.findall(r"^(\w+)\s+(\d+)\s*$", out.split("Job stats:", 1)[1], re.M))
    for rule in ("dataset_build", "bert_finetune", "attention_extract", "variant_score_shard",
                 "variant_score", "genome_prepare"):  # fmt: skip
        assert int(stats.get(rule, 0)) >= 1, (rule, out)
