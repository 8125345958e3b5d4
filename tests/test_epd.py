"""EPDnew parsing and TSS window arithmetic (real EPD rows), both strands."""

from pathlib import Path

import numpy as np
import pysam
import pytest
from dnalm import epd
from dnalm.fasta import Genome
from dnalm.seq import revcomp

REAL_ROWS = (
    "chr1 959245 959305 NOC2L_1 900 - 959245 959256\n"
    "chr1 960583 960643 KLHL17_1 900 + 960632 960643\n"
    "chr1 966432 966492 PLEKHN1_1 900 + 966481 966492\n"
    "chr1 976670 976730 PERM1_1 900 - 976670 976681\n"
)
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def make_genome(
    tmp_path: Path, sizes: dict[str, int], seed: int = 0
) -> tuple[Path, dict[str, str]]:
    rng = np.random.default_rng(seed)
    seqs = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in sizes.items()}
    fa = tmp_path / "genome.fa"
    fa.write_text("".join(f">{c}\n{s}\n" for c, s in seqs.items()))
    pysam.faidx(str(fa))
    return fa, seqs


@pytest.fixture(scope="module")
def chr1(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("epd")
    return make_genome(tmp, {"chr1": 980_000})


def test_read_8col_bed_gives_epd_tss(tmp_path):
    bed = tmp_path / "epd.bed"
    bed.write_text(REAL_ROWS)
    proms = {p.name: p for p in epd.read_epd_bed(bed)}
    # 0-based TSS = 1-based TSS - 1 (SGA: 959256, 960633, 966482, 976681)
    assert proms["NOC2L_1"].tss0 == 959255 and proms["NOC2L_1"].strand == "-"
    assert proms["KLHL17_1"].tss0 == 960632 and proms["KLHL17_1"].strand == "+"
    assert proms["PLEKHN1_1"].tss0 == 966481
    assert proms["PERM1_1"].tss0 == 976680


@pytest.mark.parametrize(
    "name,window,expected",
    [
        ("KLHL17_1", (-49, 10), (960583, 960643)),
        ("KLHL17_1", (-249, 50), (960383, 960683)),
        ("KLHL17_1", (-34, 35), (960598, 960668)),
        ("NOC2L_1", (-49, 10), (959245, 959305)),
        ("NOC2L_1", (-249, 50), (959205, 959505)),
        ("NOC2L_1", (-34, 35), (959220, 959290)),
    ],
)
def test_window_arithmetic_real_rows(tmp_path, name, window, expected):
    bed = tmp_path / "epd.bed"
    bed.write_text(REAL_ROWS)
    p = {p.name: p for p in epd.read_epd_bed(bed)}[name]
    start, end = epd.promoter_window(p.tss0, p.strand, window)
    assert (start, end) == expected
    assert end - start == window[1] - window[0] + 1


def test_epd_region_rows_are_reproduced_by_minus49_plus10(tmp_path):
    bed = tmp_path / "epd.bed"
    bed.write_text(REAL_ROWS)
    for line, p in zip(REAL_ROWS.splitlines(), epd.read_epd_bed(bed), strict=True):
        f = line.split()
        assert epd.promoter_window(p.tss0, p.strand, (-49, 10)) == (int(f[1]), int(f[2]))


def test_six_column_tss_bed_and_60bp_rows_agree(tmp_path):
    tss = tmp_path / "tss.bed"
    tss.write_text("chr1\t959255\t959256\tNOC2L_1\t1\t-\nchr1\t960632\t960633\tKLHL17_1\t1\t+\n")
    region = tmp_path / "region.bed"
    region.write_text(
        "chr1\t959245\t959305\tNOC2L_1\t900\t-\nchr1\t960583\t960643\tKLHL17_1\t900\t+\n"
    )
    a = [(p.name, p.tss0) for p in epd.read_epd_bed(tss)]
    b = [(p.name, p.tss0) for p in epd.read_epd_bed(region)]
    assert a == b == [("NOC2L_1", 959255), ("KLHL17_1", 960632)]


def test_real_epdnew_tss_bed():
    path = SHARED / "data" / "real" / "epdnew_hg38_tss.bed"
    if not path.exists():
        pytest.skip(f"real EPDnew TSS BED not available ({path.name}; ../shared absent)")
    proms = epd.read_epd_bed(path)
    assert len(proms) == 29598  # the README says 29,597; the file has 29,598 rows
    by = {p.name: p for p in proms[:10]}
    assert by["NOC2L_1"].tss0 == 959255 and by["NOC2L_1"].strand == "-"
    assert by["KLHL17_1"].tss0 == 960632 and by["KLHL17_1"].strand == "+"
    assert {p.strand for p in proms} == {"+", "-"}


def test_minus_strand_windows_are_reverse_complemented(chr1, tmp_path):
    fa, seqs = chr1
    g = Genome(fa)
    proms = [
        epd.Promoter("chr1", 959255, "-", "NOC2L_1", False),
        epd.Promoter("chr1", 960632, "+", "KLHL17_1", True),
    ]
    exs, stats = epd.promoter_examples(proms, g, (-249, 50), "all")
    by = {e.source_id: e for e in exs}
    assert by["NOC2L_1"].sequence == revcomp(seqs["chr1"][959205:959505])
    assert by["KLHL17_1"].sequence == seqs["chr1"][960383:960683]
    assert (by["NOC2L_1"].start, by["NOC2L_1"].end, by["NOC2L_1"].strand) == (959205, 959505, "-")
    # TSS base sits at index -u of the oriented window on both strands
    assert by["NOC2L_1"].sequence[249] == revcomp(seqs["chr1"][959255])
    assert by["KLHL17_1"].sequence[249] == seqs["chr1"][960632]
    tata, _ = epd.promoter_examples(proms, g, (-34, 35), "tata")
    notata, _ = epd.promoter_examples(proms, g, (-34, 35), "notata")
    assert [e.source_id for e in tata] == ["KLHL17_1"] and [e.source_id for e in notata] == [
        "NOC2L_1"
    ]
    assert len(tata[0].sequence) == 70


def test_tata_flags_and_normalize(chr1, tmp_path):
    fa, _ = chr1
    bed = tmp_path / "epd.bed"
    bed.write_text(REAL_ROWS + "chrUn_x 10 70 ODD_1 900 + 59 70\n")
    motifs = tmp_path / "promoter_motifs.txt"
    motifs.write_text(
        "#Name\tTATA-box\tInr\tCCAAT-box\tGC-box\nNOC2L_1\t0\t1\t0\t1\nKLHL17_1\t1\t1\t0\t0\n"
    )
    out = tmp_path / "epd.tsv"
    stats = epd.normalize_epd(bed, out, motifs, None, fa)
    assert stats["unknown_contig"] == 1 and stats["tata"] == 1 and stats["no_flag"] == 3
    proms = {p.name: p for p in epd.read_promoters(out)}
    assert proms["KLHL17_1"].tata is True and proms["NOC2L_1"].tata is False
    assert proms["PERM1_1"].tata is None
    g = Genome(fa)
    with pytest.raises(ValueError, match=r"epd.tsv:6: contig 'chrUn_x'"):
        epd.promoter_examples(list(proms.values()), g, (-34, 35), "all", "error", out)
    _, st = epd.promoter_examples(list(proms.values()), g, (-34, 35), "all", "skip", out)
    assert st["unknown_contig"] == 1


def test_bad_rows_name_file_and_line(tmp_path):
    bed = tmp_path / "bad.bed"
    bed.write_text(REAL_ROWS + "chr1 10 x NAME 900 + 1 2\n")
    with pytest.raises(ValueError, match=r"bad.bed:5: non-integer"):
        epd.read_epd_bed(bed)
    bed.write_text("chr1 10 20 NAME\n")
    with pytest.raises(ValueError, match=r"bad.bed:1: expected 6 or 8 columns"):
        epd.read_epd_bed(bed)
    motifs = tmp_path / "m.txt"
    motifs.write_text("#Name\tTATA-box\nA_1\tmaybe\n")
    with pytest.raises(ValueError, match=r"m.txt:2: unexpected TATA-box flag"):
        epd.read_tata_flags(motifs)
    # an empty flag read as "no TATA"; a name repeated with another flag kept the last silently
    motifs.write_text("#Name\tTATA-box\nA_1\t1\nB_1\t\n")
    with pytest.raises(ValueError, match=r"m.txt:3: empty TATA-box flag"):
        epd.read_tata_flags(motifs)
    motifs.write_text("#Name\tTATA-box\nA_1\t0\nB_1\t1\nA_1\t0\nA_1\t1\n")
    with pytest.raises(ValueError, match=r"m.txt:5: promoter 'A_1' is listed again with another "
                                         r"TATA-box flag \(first at line 2\)"):
        epd.read_tata_flags(motifs)
    motifs.write_text("#Name\tTATA-box\nA_1\t0\nA_1\t0\n")  # the same flag twice: fine
    assert epd.read_tata_flags(motifs) == {"A_1": False}
    with pytest.raises(ValueError, match="window"):
        epd.promoter_window(100, "+", (10, -10))


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "chr1 960643 960583 X_1 900 + 960632 960643",
            "start 960643 must be >= 0 and below end 960583",
        ),
        (
            "chr1 960583 960643 X_1 900 + 960500 960643",
            "thickStart 960500 is outside start..end 960583..960643",
        ),
        ("chr1 960583 960643 X_1 900 + 960700 960710", "thickStart 960700 is outside start..end"),
        ("chr1 959245 959305 X_1 900 - 959245 959400", "thickEnd 959400 is outside start..end"),
        ("chr1 959245 959305 X_1 900 - 959256 959256", "thickStart 959256 must be below thickEnd"),
        ("chr1 100 40 X_1 900 +", "start 100 must be >= 0 and below end 40"),
    ],
)
def test_bad_coordinates_name_file_and_line(chr1, tmp_path, row, message):
    fa, _ = chr1
    bed = tmp_path / "bad.bed"
    bed.write_text(REAL_ROWS + row + "\n")
    with pytest.raises(ValueError) as err:
        epd.read_epd_bed(bed)
    assert str(err.value).startswith(f"{bed}:5: ") and message in str(err.value)
    out = tmp_path / "out" / "epd.tsv"
    with pytest.raises(ValueError, match=rf"^{bed}:5: "):
        epd.normalize_epd(bed, out, genome_fasta=fa)
    assert not out.exists()


def test_truncated_gzip_epd_names_the_file(tmp_path):
    import gzip

    bed = tmp_path / "epd.bed.gz"
    bed.write_bytes(gzip.compress((REAL_ROWS * 500).encode())[:-30])
    with pytest.raises(ValueError, match=rf"^{bed}: truncated or corrupt gzip stream"):
        epd.read_epd_bed(bed)


def test_a_flags_file_naming_no_promoter_is_refused(chr1, tmp_path):
    """Flags from another EPD release (or names spelled otherwise) matched no promoter: every
    promoter then read as TATA-less and a notata task took the TATA promoters too, silently."""
    fa, _ = chr1
    bed = tmp_path / "epd.bed"
    bed.write_text(REAL_ROWS)
    motifs = tmp_path / "promoter_motifs.txt"
    motifs.write_text("#Name\tTATA-box\nnoc2l_1\t0\nklhl17_1\t1\n")
    out = tmp_path / "epd.tsv"
    with pytest.raises(ValueError, match=r"promoter_motifs.txt: none of its 2 promoter names match "
                                         r"the 4 promoters of .*epd.bed \(e.g. 'noc2l_1' vs"):
        epd.normalize_epd(bed, out, motifs, None, fa)
    assert not out.exists()
    bed.write_text("")
    with pytest.raises(ValueError, match=r"epd.bed: no promoters"):
        epd.normalize_epd(bed, out, None, None, fa)
