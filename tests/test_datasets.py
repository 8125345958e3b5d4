"""build_dataset end to end on a small bgzip genome, determinism, imported tasks, and the demo DAG."""

import gzip
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pysam
import pytest
import yaml
from dnalm import datasets
from dnalm.dataset import read_examples
from dnalm.negatives import TATA_RE
from dnalm.seq import gc_fraction, revcomp

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
SPLITS = {"train": 0.8, "dev": 0.1, "test": 0.1, "seed": 1}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """bgzip genome (chr1 200 kb, chr2 120 kb, + an N gap), EPD BED + TATA flags, peaks."""
    tmp = tmp_path_factory.mktemp("world")
    rng = np.random.default_rng(42)
    seqs = {
        "chr1": list("".join(rng.choice(list("ACGT"), 200_000, p=[0.3, 0.2, 0.2, 0.3]))),
        "chr2": list("".join(rng.choice(list("ACGT"), 120_000, p=[0.3, 0.2, 0.2, 0.3]))),
    }
    seqs["chr2"][60_000:62_000] = "N" * 2000
    bed, motifs, peaks = [], ["#Name\tTATA-box\tInr\tCCAAT-box\tGC-box"], []
    for i in range(40):
        c = "chr1" if i % 2 else "chr2"
        tss0 = 5_000 + i * 4_000 if c == "chr1" else 5_000 + (i // 2) * 5_000
        if 58_000 < tss0 < 64_000:
            tss0 += 8_000
        strand = "+-"[i % 3 == 0]
        tata = i % 4 == 0
        if tata:  # TATAAAA at -30..-24 on the promoter's strand
            if strand == "+":
                seqs[c][tss0 - 30 : tss0 - 23] = "TATAAAA"
            else:
                seqs[c][tss0 + 24 : tss0 + 31] = revcomp("TATAAAA")
        if strand == "+":
            bed.append(f"{c} {tss0 - 49} {tss0 + 11} P{i}_1 900 + {tss0} {tss0 + 11}")
        else:
            bed.append(f"{c} {tss0 - 10} {tss0 + 50} P{i}_1 900 - {tss0 - 10} {tss0 + 1}")
        motifs.append(f"P{i}_1\t{int(tata)}\t0\t0\t0")
    for i in range(60):
        c = "chr1"
        s = 3_000 + i * 3_100
        summit = s + 150
        seqs[c][summit - 5 : summit + 6] = "CCGCGTGGCGC"
        peaks.append(f"{c}\t{s}\t{s + 300}\t.\t500\t.\t{100 - i}.5\t-1\t3.2\t150")
    peaks.append("chrEBV\t100\t400\t.\t500\t.\t99.0\t-1\t3.2\t150")
    fa = tmp / "genome.fa"
    fa.write_text("".join(f">{c}\n" + "".join(s) + "\n" for c, s in seqs.items()))
    pysam.tabix_compress(str(fa), str(tmp / "genome.fa.gz"))
    pysam.faidx(str(tmp / "genome.fa.gz"))
    (tmp / "contigs.tsv").write_text(
        "name\tlength\tucsc\tensembl\trefseq\taliases\n"
        + "".join(f"{c}\t{len(s)}\t{c}\t{c[3:]}\t.\t{c[3:]}\n" for c, s in seqs.items())
    )
    (tmp / "epd.bed").write_text("\n".join(bed) + "\n")
    (tmp / "promoter_motifs.txt").write_text("\n".join(motifs) + "\n")
    with gzip.open(tmp / "src.narrowPeak.gz", "wt") as fh:
        fh.write("\n".join(peaks) + "\n")
    gfa, contigs = tmp / "genome.fa.gz", tmp / "contigs.tsv"
    datasets.prepare_annotation(
        "epd",
        {
            "epd": {"url": str(tmp / "epd.bed")},
            "epd_motifs": {"url": f"file:{tmp / 'promoter_motifs.txt'}"},
        },
        tmp / "ann" / "epd.tsv",
        gfa,
        contigs,
    )
    datasets.prepare_annotation(
        "peaks",
        {"peaks": {"url": str(tmp / "src.narrowPeak.gz")}},
        tmp / "ann" / "peaks.narrowPeak.gz",
        gfa,
        contigs,
    )
    datasets.prepare_annotation(
        "gtf",
        {"gtf": {"url": str(DATA / "ds_splice.gtf")}},
        tmp / "ann" / "genes.gtf.gz",
        gfa,
        contigs,
    )
    return tmp


def build(world, tmp_path, task, spec, **inputs):
    base = {"fasta": world / "genome.fa.gz", "contigs": world / "contigs.tsv"}
    outs = {s: tmp_path / task / f"{s}.tsv.gz" for s in ("train", "dev", "test")}
    outs["card"] = tmp_path / task / "card.json"
    card = datasets.build_dataset(task, spec, {**base, **inputs}, outs, SPLITS, verbose=False)
    parts = {s: read_examples(outs[s]) for s in ("train", "dev", "test")}
    return card, parts, outs


def all_rows(parts):
    return [e for v in parts.values() for e in v]


def assert_no_leakage(parts):
    seen = {}
    for s, v in parts.items():
        for e in v:
            assert seen.setdefault(e.sequence, s) == s


@pytest.mark.parametrize("negs", ["substitute", "genomic"])
def test_promoter_task(world, tmp_path, negs):
    spec = {
        "genome": "g",
        "kind": "promoter",
        "window": [-249, 50],
        "subset": "all",
        "negatives": negs,
    }
    card, parts, outs = build(world, tmp_path, "prom", spec, epd=world / "ann" / "epd.tsv")
    rows = all_rows(parts)
    c = Counter(e.label for e in rows)
    assert c[1] == 40 and c[0] == 40  # 1:1
    assert {len(e.sequence) for e in rows} == {300}
    assert card["counts"] == {s: dict(Counter(str(e.label) for e in v)) for s, v in parts.items()}
    assert card["negative_strategy"] == negs and card["length"]["min"] == 300
    assert {x["role"] for x in card["sources"]} >= {"epd", "contigs"}
    assert all(re.fullmatch(r"[0-9a-f]{64}", x["sha256"]) for x in card["sources"])
    assert_no_leakage(parts)
    assert [len(v) for v in parts.values()] == [64, 8, 8]
    header = gzip.open(outs["train"], "rt").readline().rstrip("\n").split("\t")
    assert header == ["sequence", "label", "contig", "start", "end", "strand", "source_id"]
    assert all(set(e.sequence) <= set("ACGT") for e in rows)
    if negs == "genomic":  # ±1 kb away from every promoter, real coordinates
        proms = [e for e in rows if e.label == 1]
        for n in (e for e in rows if e.label == 0):
            assert n.start is not None and n.source_id.startswith("neg:")
            for p in proms:
                assert not (
                    n.contig == p.contig and n.start < p.end + 1000 and p.start - 1000 < n.end
                )


def test_tata_subset_and_tata_negatives(world, tmp_path):
    spec = {
        "genome": "g",
        "kind": "promoter",
        "window": [-249, 50],
        "subset": "tata",
        "negatives": "tata_genomic",
    }
    card, parts, _ = build(world, tmp_path, "tata", spec, epd=world / "ann" / "epd.tsv")
    rows = all_rows(parts)
    pos = [e for e in rows if e.label == 1]
    assert len(pos) == 10  # i % 4 == 0 of 40
    assert all(e.sequence[219:226] == "TATAAAA" for e in pos)  # planted at -30, both strands
    assert all(TATA_RE.search(e.sequence) for e in rows if e.label == 0)
    core = {
        "genome": "g",
        "kind": "promoter",
        "window": [-34, 35],
        "subset": "notata",
        "negatives": "substitute",
    }
    card, parts, _ = build(world, tmp_path, "core", core, epd=world / "ann" / "epd.tsv")
    assert {len(e.sequence) for e in all_rows(parts)} == {70}
    assert card["counts"]["train"] == {"0": 24, "1": 24}


def test_tfbs_task_gc_matched_deterministic(world, tmp_path):
    spec = {
        "genome": "g",
        "kind": "tfbs",
        "experiment": "x",
        "negatives": "gc_matched",
        "top_n": 50,
    }
    peaks = world / "ann" / "peaks.narrowPeak.gz"
    card, parts, outs = build(world, tmp_path / "a", "tf", spec, peaks=peaks)
    rows = all_rows(parts)
    pos = [e for e in rows if e.label == 1]
    assert len(pos) == 50 and all(e.sequence[45:56] == "CCGCGTGGCGC" for e in pos)
    assert card["stats"]["positives"]["unknown_contig"] == 1  # chrEBV skipped and counted
    assert card["stats"]["negatives"]["gc_bin_exact"] == 50
    # each positive's GC bin is matched exactly, so the sorted GC profiles agree within 1%
    gpos = sorted(gc_fraction(e.sequence) for e in pos)
    gneg = sorted(gc_fraction(e.sequence) for e in rows if e.label == 0)
    assert max(abs(a - b) for a, b in zip(gpos, gneg, strict=True)) < 0.0100001
    # same seed -> byte-identical files
    _, _, outs2 = build(world, tmp_path / "b", "tf", spec, peaks=peaks)
    for k in outs:
        assert outs[k].read_bytes() == outs2[k].read_bytes(), k
    with pytest.raises(ValueError, match=r"peaks.narrowPeak.gz:61: contig 'chrEBV'"):
        build(world, tmp_path / "c", "tf", {**spec, "unknown_contigs": "error"}, peaks=peaks)


def test_tfbs_dinuc_shuffle_and_holdout(world, tmp_path):
    spec = {
        "genome": "g",
        "kind": "tfbs",
        "experiment": "x",
        "negatives": "dinuc_shuffle",
        "holdout_chroms": {"dev": [], "test": ["chr1"]},
    }
    card, parts, _ = build(
        world, tmp_path, "tfs", spec, peaks=world / "ann" / "peaks.narrowPeak.gz"
    )
    assert len(parts["train"]) == 0 and len(parts["test"]) == 120  # shuffles follow their peak
    assert card["negative_strategy"] == "dinuc_shuffle"


def test_splice_task(world, tmp_path):
    card, parts, _ = build(
        world,
        tmp_path,
        "spl",
        {"genome": "g", "kind": "splice", "window": 400},
        gtf=world / "ann" / "genes.gtf.gz",
    )
    c = Counter(e.label for e in all_rows(parts))
    assert c[0] == 4 and c[1] == 4 and c[2] == 4
    assert set(card["stats"]["canonical_rate"]) == {"donor_GT", "acceptor_AG", "all"}


def test_imported_dnabert_tsv_and_gue(tmp_path):
    outs = {s: tmp_path / "imp" / f"{s}.tsv.gz" for s in ("train", "dev", "test")}
    outs["card"] = tmp_path / "imp" / "card.json"
    spec = {"kind": "imported", "format": "dnabert_tsv", "path": str(DATA / "ds_import.tsv")}
    card = datasets.build_dataset(
        "imp", spec, {"path": DATA / "ds_import.tsv"}, outs, SPLITS, verbose=False
    )
    assert card["n_total"] == 6 and card["negative_strategy"] is None
    rows = read_examples(outs["train"])
    assert rows[0].contig == "." and rows[0].start is None
    line = gzip.open(outs["train"], "rt").read().splitlines()[1].split("\t")
    assert line[2:6] == [".", ".", ".", "."]
    gue = tmp_path / "gue"
    gue.mkdir()
    (gue / "train.csv").write_text("sequence,label\nACGTACGT,1\nGGGGCCCC,0\nTTTTAAAA,1\n")
    (gue / "dev.csv").write_text(
        "sequence,label\nACGTACGT,1\nCCCCAAAA,0\n"
    )  # repeat of a train row
    (gue / "test.csv").write_text("sequence,label\nGAGAGAGA,0\nTCTCTCTC,1\n")
    spec = {"kind": "imported", "format": "gue_csv", "path": str(gue)}
    card = datasets.build_dataset("gue", spec, {"path": gue}, outs, SPLITS, verbose=False)
    assert card["counts"] == {"train": {"0": 1, "1": 2}, "dev": {"0": 1}, "test": {"0": 1, "1": 1}}
    assert card["stats"]["dedupe"]["duplicates"] == 1
    bad = tmp_path / "bad.tsv"
    bad_outs = {s: tmp_path / "bad" / f"{s}.tsv.gz" for s in ("train", "dev", "test", "card")}
    bad.write_text("x\tlabel\nACGTAC CGTACG\t1\nACGTAC CGTACG\t7\n")
    with pytest.raises(ValueError, match=r"bad.tsv:3: label 7 is not in the task's label set"):
        datasets.build_dataset(
            "bad",
            {"kind": "imported", "format": "dnabert_tsv", "path": str(bad)},
            {"path": bad},
            bad_outs,
            SPLITS,
            verbose=False,
        )
    assert not (tmp_path / "bad").exists()  # refused before anything is written


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("sequence\tlabel\nACGTAC CGTACG\t1\nACGTAC CGTACG\t2\n", 3, "label 2 is not in"),
        ("sequence\tlabel\nACGTAC CGTACG\t1\nACG CGT\t0\n", 3, "shorter than k = 6"),
        ("sequence\tlabel\nACGTAC CGTACG\t1\nNNNNNN NNNNNN\t0\n", 3, "all N"),
        ("ACGTAC CGTACG\t1\nACGTAC CGTACG\t0\n", 1, "data row, not a header"),
    ],
)
def test_bad_imported_rows_write_nothing(tmp_path, body, line, message):
    src = tmp_path / "in.tsv"
    src.write_text(body)
    outs = {s: tmp_path / "out" / f"{s}.tsv.gz" for s in ("train", "dev", "test")}
    outs["card"] = tmp_path / "out" / "card.json"
    spec = {"kind": "imported", "format": "dnabert_tsv", "path": str(src)}
    with pytest.raises(ValueError) as err:
        datasets.build_dataset("imp", spec, {"path": src}, outs, SPLITS, verbose=False)
    assert str(err.value).startswith(f"{src}:{line}: ") and message in str(err.value)
    assert not (tmp_path / "out").exists()


def test_declared_label_set_and_k_reach_the_importer_and_card(tmp_path):
    src = tmp_path / "in.tsv"
    rows = "".join(f"{s}\t{i % 3}\n" for i, s in enumerate(["ACG CGT", "GGA GAT", "TTA TAC"] * 10))
    src.write_text("sequence\tlabel\n" + rows)
    outs = {s: tmp_path / "out" / f"{s}.tsv.gz" for s in ("train", "dev", "test")}
    outs["card"] = tmp_path / "out" / "card.json"
    spec = {"kind": "imported", "format": "dnabert_tsv", "path": str(src), "label_set": [0, 1, 2]}
    with pytest.raises(ValueError, match=r"in.tsv:2: sequence of 4 bp is shorter than k = 6"):
        datasets.build_dataset("imp", spec, {"path": src}, outs, SPLITS, verbose=False)
    card = datasets.build_dataset(
        "imp", {**spec, "k": 3}, {"path": src}, outs, SPLITS, verbose=False
    )
    assert card["labels"] == [0, 1, 2] and card["k"] == 3 and card["window_length"] == 4


# ----------------------------------------------------------------------------- end to end (demo)


@pytest.fixture(scope="module")
def demo(demo_dag):
    """The shared demo run (tests/e2e_demo.py) and its config."""
    return demo_dag.workdir, yaml.safe_load(demo_dag.path("config/config.yaml").read_text())


@pytest.mark.slow
def test_demo_builds_every_task(demo):
    work, cfg = demo
    for t, spec in cfg["tasks"].items():
        d = work / "results" / "datasets" / t
        card = json.loads((d / "card.json").read_text())
        if spec["kind"] == "expression":  # the regression form of the splits (tests/test_expression.py)
            assert card["n_total"] == sum(c["all"] for c in card["counts"].values()) > 0, t
            continue
        parts = {s: read_examples(d / f"{s}.tsv.gz") for s in ("train", "dev", "test")}
        assert all(parts.values()), t
        assert_no_leakage(parts)
        labels = Counter(e.label for e in all_rows(parts))
        if spec["kind"] in ("promoter", "tfbs"):
            assert labels[0] == labels[1], (t, labels)
        assert card["n_total"] == sum(labels.values())
        for s in ("train", "dev", "test"):
            assert (d / f"{s}.tsv.gz").read_bytes()[4:8] == b"\0\0\0\0"
    splice = json.loads((work / "results/datasets/splice/card.json").read_text())
    assert splice["stats"]["canonical_rate"]["all"] > 0.9


@pytest.mark.slow
def test_demo_tata_positives_carry_planted_tata_near_minus30(demo):
    work, _ = demo
    d = work / "results" / "datasets" / "prom300_tata"
    rows = all_rows({s: read_examples(d / f"{s}.tsv.gz") for s in ("train", "dev", "test")})
    tss = 249  # index of the TSS in a (-249, +50) window
    pattern = ["T", "A", "T", "A", "AT", "A", "AT"]  # TATAWAW, the core of the planted TATAWAWR

    def near(e):  # a TATA-like 7-mer (<= 1 mismatch) starting within -38..-22
        for i in range(tss - 38, tss - 21):
            kmer = e.sequence[i : i + 7]
            if sum(b not in p for b, p in zip(kmer, pattern, strict=True)) <= 1:
                return True
        return False

    pos = [e for e in rows if e.label == 1]
    neg = [e for e in rows if e.label == 0]
    frac_pos = sum(map(near, pos)) / len(pos)
    frac_neg = sum(map(near, neg)) / len(neg)
    assert frac_pos > 0.8 and frac_pos > frac_neg + 0.4, (frac_pos, frac_neg)
