"""dnalm.contigs: assembly report parsing, the contig name table, ContigMap."""

from __future__ import annotations

from pathlib import Path

import pytest
from dnalm.contigs import (
    ContigMap,
    build_contig_table,
    parse_assembly_report,
    write_contig_table,
)

REPORT = Path(__file__).parent / "data" / "assembly_report_toy.txt"
FASTA_UCSC = [
    ("chr1", 120),
    ("chr2", 90),
    ("chrX", 75),
    ("chr1_KI270706v1_random", 30),
    ("chrM", 33),
]


def test_parse_assembly_report_strips_cr_and_drops_na():
    rows = parse_assembly_report(REPORT)
    assert [r.ucsc for r in rows] == ["chr1", "chr2", "chrX", "chr1_KI270706v1_random", "chrM"]
    assert "HG986_PATCH" not in {r.sequence_name for r in rows}
    chr1 = rows[0]
    assert (chr1.sequence_name, chr1.refseq, chr1.genbank, chr1.length) == (
        "1",
        "NC_000001.11",
        "CM000663.2",
        120,
    )
    assert all("\r" not in f for r in rows for f in r if isinstance(f, str))


def test_report_maps_chr1_1_refseq_to_one_name():
    table = build_contig_table(FASTA_UCSC, parse_assembly_report(REPORT))
    cmap = ContigMap(table)
    for spelling in ("chr1", "1", "NC_000001.11", "CM000663.2"):
        assert cmap.canonical(spelling) == "chr1"
    # RefSeq versions come from the report, never formatted: X is NC_000023.11.
    assert cmap.canonical("NC_000023.11") == "chrX"
    assert cmap.canonical("X") == "chrX"
    assert cmap.canonical("NC_000002.12") == "chr2"
    assert cmap.canonical("NC_000002.11") is None
    # Mitochondrion in all spellings.
    for spelling in ("chrM", "MT", "NC_012920.1"):
        assert cmap.canonical(spelling) == "chrM"
    # Scaffolds: Ensembl uses the GenBank accession.
    rand = {r.name: r for r in table}["chr1_KI270706v1_random"]
    assert rand.ensembl == "KI270706.1" and rand.refseq == "NT_187361.1"
    assert cmap.canonical("KI270706.1") == "chr1_KI270706v1_random"
    # The patch (UCSC name na) is not mapped.
    assert cmap.canonical("NW_009646194.1") is None


def test_report_maps_ensembl_named_fasta():
    fasta = [("1", 120), ("X", 75), ("MT", 33)]
    cmap = ContigMap(build_contig_table(fasta, parse_assembly_report(REPORT)))
    assert cmap.names == ["1", "X", "MT"]
    assert cmap.canonical("chr1") == "1"
    assert cmap.canonical("NC_000001.11") == "1"
    assert cmap.canonical("chrM") == "MT"
    assert cmap.canonical("NC_012920.1") == "MT"


def test_without_report_only_chrN_and_chrM_rules():
    table = build_contig_table(
        [("chr1", 10), ("chrM", 5), ("chr1_KI270706v1_random", 3), ("chrX", 4)]
    )
    cmap = ContigMap(table)
    assert cmap.canonical("1") == "chr1"
    assert cmap.canonical("MT") == "chrM"
    assert cmap.canonical("X") == "chrX"
    assert cmap.canonical("NC_000001.11") is None  # no report: no RefSeq names
    rec = {r.name: r for r in table}
    assert rec["chr1"].refseq is None
    assert rec["chr1_KI270706v1_random"].ensembl is None
    assert rec["chr1_KI270706v1_random"].aliases == ()
    # Ensembl-named genome: the same rules the other way round.
    cmap = ContigMap(build_contig_table([("1", 10), ("MT", 5)]))
    assert cmap.canonical("chr1") == "1" and cmap.canonical("chrM") == "MT"


def test_length_disagreeing_with_report_raises():
    # the report's file and line are named (they were not)
    with pytest.raises(ValueError, match=rf"^{REPORT}:12: contig 'chr1'.*121.*120"):
        build_contig_table([("chr1", 121)], parse_assembly_report(REPORT))


def test_conflicting_spellings_raise():
    with pytest.raises(ValueError, match="'1'"):
        build_contig_table([("chr1", 10), ("1", 10)])


def test_tsv_roundtrip(tmp_path):
    table = build_contig_table(FASTA_UCSC, parse_assembly_report(REPORT))
    path = write_contig_table(table, tmp_path / "contigs.tsv")
    lines = path.read_text().splitlines()
    assert lines[0] == "name\tlength\tucsc\tensembl\trefseq\taliases"
    assert lines[1].split("\t")[:5] == ["chr1", "120", "chr1", "1", "NC_000001.11"]
    assert set(lines[1].split("\t")[5].split(",")) == {"1", "CM000663.2", "NC_000001.11"}
    cmap = ContigMap.from_tsv(path)
    assert cmap.names == [n for n, _ in FASTA_UCSC]
    assert cmap.lengths == dict(FASTA_UCSC)
    assert cmap.canonical("NC_012920.1") == "chrM"
    assert "MT" in cmap and len(cmap) == 5
    assert not list(tmp_path.glob("*.part"))


def test_rename_or_raise_names_the_context():
    cmap = ContigMap(build_contig_table([("chr1", 10)]))
    assert cmap.rename_or_raise("1", "x.vcf:3") == "chr1"
    with pytest.raises(ValueError, match=r"^peaks\.bed:17: contig 'chr9' is not in the genome"):
        cmap.rename_or_raise("chr9", "peaks.bed:17")


def test_bad_report_and_tsv_name_file_and_line(tmp_path):
    bad = tmp_path / "report.txt"
    bad.write_text("# Sequence-Name\tSequence-Role\n1\tassembled-molecule\n")
    with pytest.raises(ValueError, match=r"report\.txt:1: .*lacks"):
        parse_assembly_report(bad)
    lines = REPORT.read_text().splitlines()
    lines[-2] = lines[-2].rsplit("\t", 1)[0]  # drop a field
    short = tmp_path / "short.txt"
    short.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=rf"short\.txt:{len(lines) - 1}: expected 10"):
        parse_assembly_report(short)
    tsv = tmp_path / "contigs.tsv"
    tsv.write_text("name\tlength\tucsc\tensembl\trefseq\taliases\nchr1\tten\tchr1\t1\t.\t1\n")
    with pytest.raises(ValueError, match=r"contigs\.tsv:2: length 'ten'"):
        ContigMap.from_tsv(tsv)
    tsv.write_text("name\tlength\nchr1\t10\n")
    with pytest.raises(ValueError, match=r"contigs\.tsv:1: expected header"):
        ContigMap.from_tsv(tsv)


def test_gzip_report_is_read_and_truncation_names_the_file(tmp_path):
    import gzip

    gz = tmp_path / "report.txt.gz"
    gz.write_bytes(gzip.compress(REPORT.read_bytes()))
    def rows(p):
        return [r._replace(where=r.where.replace(str(p), "")) for r in parse_assembly_report(p)]

    assert rows(gz) == rows(REPORT)
    cut = tmp_path / "cut.txt.gz"
    data = b"".join(
        x for x in REPORT.read_bytes().splitlines(keepends=True) if not x.startswith(b"#")
    )
    cut.write_bytes(gzip.compress(REPORT.read_bytes() + data * 200)[:-20])
    with pytest.raises(ValueError, match=rf"^{cut}: truncated or corrupt gzip stream"):
        parse_assembly_report(cut)


def test_write_renamed_renames_column_one_and_leaves_nothing_on_error(tmp_path):
    from dnalm.contigs import write_renamed

    src = tmp_path / "in.tsv"
    src.write_text("#header\n1\t10\nchrUn\t5\nchr1\t7\n")
    out = tmp_path / "out" / "renamed.tsv.gz"
    cmap = ContigMap(build_contig_table([("chr1", 100)]))

    def fields(line, ln):
        return None if line.startswith("#") else line.rstrip("\n").split("\t")

    st = write_renamed(src, out, cmap.canonical, fields)
    assert st == {"lines": 3, "renamed": 1, "unknown_contig": 1}
    import gzip

    assert gzip.decompress(out.read_bytes()).decode() == "#header\nchr1\t10\nchrUn\t5\nchr1\t7\n"
    assert out.read_bytes()[4:8] == b"\0\0\0\0"

    def strict(line, ln):
        if line.startswith("chrUn"):
            raise ValueError(f"{src}:{ln}: bad record")
        return fields(line, ln)

    out2 = tmp_path / "out" / "second.tsv.gz"
    with pytest.raises(ValueError, match=rf"^{src}:3: bad record"):
        write_renamed(src, out2, cmap.canonical, strict)
    assert sorted(p.name for p in out.parent.iterdir()) == ["renamed.tsv.gz"]
