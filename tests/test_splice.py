"""Splice-site extraction on a hand-made GTF with one + and one - strand transcript."""

from pathlib import Path

import numpy as np
import pysam
import pytest
from dnalm import splice
from dnalm.fasta import Genome
from dnalm.seq import revcomp

GTF = Path(__file__).parent / "data" / "ds_splice.gtf"


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    """chr1 (8 kb random) with canonical dinucleotides planted at the annotated introns."""
    tmp = tmp_path_factory.mktemp("splice")
    rng = np.random.default_rng(0)
    s = list("".join(rng.choice(list("ACGT"), 8000)))
    plant = {
        1200: "GT",
        1700: "GT",
        1498: "AG",
        1998: "AG",  # + strand: donors, acceptors
        4498: "AC",
        4998: "AC",
        4200: "CT",
        4700: "CT",
    }  # - strand, as read on +
    for pos, di in plant.items():
        s[pos : pos + 2] = di
    seq = "".join(s)
    fa = tmp / "genome.fa"
    fa.write_text(f">chr1\n{seq}\n")
    pysam.faidx(str(fa))
    return fa, seq


def test_sites_both_strands():
    tx = splice.read_gtf_exons(GTF)
    assert tx["T2"].exons == [(4001, 4200), (4501, 4700), (5001, 5300)]  # sorted ascending
    sites = {(s.transcript, s.label, s.boundary) for s in splice.splice_sites(tx)}
    D, A = splice.DONOR, splice.ACCEPTOR
    assert sites == {
        ("T1", D, 1200),
        ("T1", D, 1700),
        ("T1", A, 1500),
        ("T1", A, 2000),
        ("T2", D, 4500),
        ("T2", D, 5000),
        ("T2", A, 4200),
        ("T2", A, 4700),
    }  # T3 is single-exon: no sites


def test_windows_are_oriented_with_gt_ag_at_centre(genome):
    fa, seq = genome
    tx = splice.read_gtf_exons(GTF)
    exs, st = splice.splice_examples(
        tx, Genome(fa), np.random.default_rng(0), window=400, verbose=False
    )
    sites = [e for e in exs if e.label != splice.NONSITE]
    assert st["donors"] == 4 and st["acceptors"] == 4
    assert st["canonical_rate"] == {"donor_GT": 1.0, "acceptor_AG": 1.0, "all": 1.0}
    for e in sites:
        assert len(e.sequence) == 400
        if e.label == splice.DONOR:
            assert e.sequence[200:202] == "GT"
        else:
            assert e.sequence[198:200] == "AG"
        raw = seq[e.start : e.end]
        assert e.sequence == (raw if e.strand == "+" else revcomp(raw))
    minus_donor = next(e for e in sites if e.source_id == "donor:T2:4500")
    assert (minus_donor.start, minus_donor.end, minus_donor.strand) == (4300, 4700, "-")
    # non-sites: 3rd class, half hard (GT/AG at the site position), none at a true site
    non = [e for e in exs if e.label == splice.NONSITE]
    assert len(non) == 4 and st["nonsites_hard"] == 2
    true = {(e.contig, e.start, e.strand) for e in sites}
    for e in non:
        assert (e.contig, e.start, e.strand) not in true
        hard = e.sequence[200:202] == "GT" or e.sequence[198:200] == "AG"
        assert hard == (":hard:" in e.source_id)


def test_normalize_gtf_and_errors(genome, tmp_path):
    fa, _ = genome
    out = tmp_path / "genes.gtf.gz"
    st = splice.normalize_gtf(GTF, out, fa)
    assert st == {"lines": 11, "renamed": 0, "unknown_contig": 0}
    assert splice.read_gtf_exons(out)["T1"].exons == [(1001, 1200), (1501, 1700), (2001, 2300)]
    bad = tmp_path / "bad.gtf"
    lines = GTF.read_text().splitlines()
    bad.write_text("\n".join(lines[:3] + ['chr1\ttest\texon\t10\tx\t.\t+\t.\tgene_id "G";']) + "\n")
    with pytest.raises(ValueError, match=r"bad.gtf:4: non-integer start/end"):
        splice.read_gtf_exons(bad)
    bad.write_text("chr1\ttest\texon\t10\t20\t+\n")
    with pytest.raises(ValueError, match=r"bad.gtf:1: GTF needs 9"):
        splice.normalize_gtf(bad, tmp_path / "o.gtf.gz", fa)
    bad.write_text('chr1\tt\texon\t10\t20\t.\t+\t.\tgene_id "G";\n')
    with pytest.raises(ValueError, match=r"bad.gtf:1: exon without transcript_id"):
        splice.read_gtf_exons(bad)


def test_attribute_key_is_matched_whole(tmp_path):
    gtf = tmp_path / "keys.gtf"
    gtf.write_text(
        'chr1\tt\texon\t10\t20\t.\t+\t.\tgene_id "G"; orig_transcript_id "WRONG"; transcript_id "T";\n'
        'chr1\tt\texon\t50\t60\t.\t+\t.\torig_transcript_id "WRONG";transcript_id T; gene_id "G";\n'
    )
    tx = splice.read_gtf_exons(gtf)
    assert set(tx) == {"T"} and tx["T"].exons == [(10, 20), (50, 60)]
    gtf.write_text('chr1\tt\texon\t10\t20\t.\t+\t.\tgene_id "G"; orig_transcript_id "X";\n')
    with pytest.raises(ValueError, match=rf"^{gtf}:1: exon without transcript_id"):
        splice.read_gtf_exons(gtf)


def test_a_missing_closing_quote_is_an_error_not_a_transcript(genome, tmp_path):
    """`transcript_id "T1; gene_type "pc";` made a transcript named 'T1; gene_type ' (a fake 3'
    end for pas, a real donor lost for splice) without a word."""
    fa, _ = genome
    gtf = tmp_path / "q.gtf"
    gtf.write_text('chr1\tt\texon\t10\t20\t.\t+\t.\tgene_id "G"; transcript_id "T";\n'
                   'chr1\tt\texon\t50\t60\t.\t+\t.\ttranscript_id "T1; gene_type "pc"; gene_id "G";\n')
    for read in (splice.read_gtf_exons, lambda p: splice.normalize_gtf(p, tmp_path / "o.gtf.gz", fa)):
        with pytest.raises(ValueError, match=rf"^{gtf}:2: unbalanced quotes in the attribute column"):
            read(gtf)
    assert not (tmp_path / "o.gtf.gz").exists()


def test_repeated_exon_lines_add_no_spurious_site(tmp_path):
    gtf = tmp_path / "dup.gtf"
    exon = 'chr1\tt\texon\t{}\t{}\t.\t{}\t.\tgene_id "G"; transcript_id "{}";\n'
    gtf.write_text(
        exon.format(1001, 1200, "+", "P")
        + exon.format(1001, 1200, "+", "P")  # the same exon twice
        + exon.format(1501, 1700, "+", "P")
        + exon.format(4501, 4700, "-", "M")
        + exon.format(4001, 4200, "-", "M")
        + exon.format(4501, 4700, "-", "M")
    )
    tx = splice.read_gtf_exons(gtf)
    assert tx["P"].exons == [(1001, 1200), (1501, 1700)]
    assert tx["M"].exons == [(4001, 4200), (4501, 4700)]
    D, A = splice.DONOR, splice.ACCEPTOR
    assert {(s.transcript, s.label, s.boundary) for s in splice.splice_sites(tx)} == {
        ("P", D, 1200),
        ("P", A, 1500),
        ("M", D, 4500),
        ("M", A, 4200),
    }


def test_truncated_gzip_gtf_names_the_file(genome, tmp_path):
    import gzip

    fa, _ = genome
    src = tmp_path / "genes.gtf.gz"
    src.write_bytes(gzip.compress((GTF.read_text() * 200).encode())[:-30])
    with pytest.raises(ValueError, match=rf"^{src}: truncated or corrupt gzip stream"):
        splice.read_gtf_exons(src)
    out = tmp_path / "out" / "genes.gtf.gz"
    with pytest.raises(ValueError, match=rf"^{src}: truncated or corrupt gzip stream"):
        splice.normalize_gtf(src, out, fa)
    assert not out.exists() and list((tmp_path / "out").iterdir()) == []
