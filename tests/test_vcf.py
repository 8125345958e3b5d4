"""dnalm.vcf: contig renaming, dropped contigs, multi-allelic splitting, indexing, errors."""

import gzip
from pathlib import Path

import pysam
import pytest
from dnalm import vcf as dvcf
from dnalm import vcf_prepare as vprep
from dnalm.contigs import ContigMap

HEADER = """##fileformat=VCFv4.2
##contig=<ID=NC_000001.11,length=1000>
##contig=<ID=NC_000002.12,length=800>
##contig=<ID=NW_000001.1,length=50>
##INFO=<ID=RS,Number=1,Type=String,Description="rs">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
"""
RECORDS = [
    "NC_000001.11\t10\trs1\tA\tG\t.\t.\tRS=1",
    "NC_000001.11\t20\trs2\tACT\tGCT,A\t.\t.\tRS=2",  # multi-allelic: SNV after trim + deletion
    "NC_000001.11\t30\trs3\tC\tT,G,A\t.\t.\tRS=3",
    "NC_000002.12\t5\trs4\tT\tTA\t.\t.\tRS=4",
    "NW_000001.1\t7\trs5\tG\tC\t.\t.\tRS=5",  # not in the genome: dropped
]


def _contigs_tsv(tmp_path: Path) -> Path:
    p = tmp_path / "contigs.tsv"
    p.write_text(
        "name\tlength\tucsc\tensembl\trefseq\taliases\n"
        "chr1\t1000\tchr1\t1\tNC_000001.11\t.\n"
        "chr2\t800\tchr2\t2\tNC_000002.12\t.\n"
    )
    return p


def _write(tmp_path: Path, name: str, records, mode: str = "bgzip") -> Path:
    text = HEADER + "".join(r + "\n" for r in records)
    plain = tmp_path / (name + ".vcf")
    plain.write_text(text)
    if mode == "plain":
        return plain
    if mode == "gzip":
        out = tmp_path / (name + ".vcf.gz")
        out.write_bytes(gzip.compress(text.encode()))
        return out
    out = tmp_path / (name + ".vcf.gz")
    pysam.tabix_compress(str(plain), str(out), force=True)
    return out


@pytest.mark.parametrize("mode", ["bgzip", "gzip", "plain"])
def test_normalise_renames_drops_and_indexes(tmp_path, mode):
    src = _write(tmp_path, "src", RECORDS, mode)
    cmap = ContigMap.from_tsv(_contigs_tsv(tmp_path))
    dest = tmp_path / "out" / "dbsnp.vcf.gz"
    counts = vprep.normalise_vcf(src, dest, cmap, cmap.lengths)
    assert counts["records_in"] == 5 and counts["records_out"] == 4
    assert counts["dropped_contigs"] == {"NW_000001.1": 1}
    assert counts["renamed"] == {"NC_000001.11": "chr1", "NC_000002.12": "chr2"}
    assert dvcf.is_bgzf(dest) and Path(str(dest) + ".tbi").is_file()
    with pysam.VariantFile(str(dest)) as vf:
        assert list(vf.header.contigs) == ["chr1", "chr2"]
        assert vf.header.contigs["chr2"].length == 800
        recs = list(vf.fetch("chr1", 0, 1000))
        assert [r.pos for r in recs] == [10, 20, 30]
        assert [r.chrom for r in vf.fetch("chr2", 0, 10)] == ["chr2"]
    # nothing temporary left behind
    assert sorted(p.name for p in dest.parent.iterdir()) == ["dbsnp.vcf.gz", "dbsnp.vcf.gz.tbi"]


def test_normalise_unsorted_fails_cleanly(tmp_path):
    recs = [RECORDS[3], RECORDS[0], "NC_000002.12\t9\trs9\tA\tC\t.\t.\t."]
    src = _write(tmp_path, "bad", recs, "plain")
    cmap = ContigMap.from_tsv(_contigs_tsv(tmp_path))
    dest = tmp_path / "out" / "x.vcf.gz"
    with pytest.raises(ValueError, match=r"bad\.vcf:9: records are not sorted"):
        vprep.normalise_vcf(src, dest, cmap, cmap.lengths)
    assert list(dest.parent.iterdir()) == []
    back = [RECORDS[2], RECORDS[0]]
    src = _write(tmp_path, "back", back, "plain")
    # tabix finds it on the output; the message names the source line (it gave none, and the
    # temporary output's path)
    with pytest.raises(ValueError, match=rf"back\.vcf:{N_HEADER + 2}: POS 10 is before the previous "
                                         r"record's POS 30 on NC_000001\.11"):
        vprep.normalise_vcf(src, dest, cmap, cmap.lengths)
    assert list(dest.parent.iterdir()) == []


@pytest.mark.parametrize("at", range(40, 48))  # anywhere in a fast-path block, its end included
def test_a_pos_past_the_contig_end_inside_a_block_names_its_line(tmp_path, monkeypatch, at):
    """The fast path checked only a block's last POS against the contig length: a bad POS inside
    it was reported by tabix as "probably not sorted", with no line and a temporary path."""
    monkeypatch.setattr(vprep, "_BLOCK", 256)
    recs = [*GOOD[:at], "NC_000001.11\t5000\trs9\tA\tG\t.\t.\t.", *GOOD[at:60]]
    src = _write(tmp_path, "far", recs, "plain")
    cmap = ContigMap.from_tsv(_contigs_tsv(tmp_path))
    dest = tmp_path / "out" / "x.vcf.gz"
    with pytest.raises(ValueError, match=rf"far\.vcf:{N_HEADER + at + 1}: POS 5000 is outside 1\.\.1000"):
        vprep.normalise_vcf(src, dest, cmap, cmap.lengths)
    _assert_nothing_written(dest)


def _assert_nothing_written(dest: Path) -> None:
    assert not dest.exists() and not Path(f"{dest}.tbi").exists()
    assert not dest.parent.exists() or list(dest.parent.iterdir()) == []


GOOD = [f"NC_000001.11\t{p}\trs{p}\tA\tG\t.\t.\t." for p in range(1, 300)]
N_HEADER = HEADER.count("\n")  # the first record is line N_HEADER + 1


@pytest.mark.parametrize("n_good", [0, len(GOOD)])  # 299 good records: the fast path runs first
@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("NC_000001.11\t400\trs9\tA\tG", "record has 5 tab-separated columns, the #CHROM line has 8"),
        ("NC_000001.11\t1x0\trs9\tA\tG\t.\t.\t.", "POS '1x0' is not an integer"),
        ("NC_000001.11\t0\trs9\tA\tG\t.\t.\t.", r"POS 0 is outside 1\.\.1000, the length of chr1"),
        ("NC_000001.11\t1001\trs9\tA\tG\t.\t.\t.", r"POS 1001 is outside 1\.\.1000"),
        ("NC_000001.11\t400\trs9\tAXG\tG\t.\t.\t.", "REF 'AXG' is not A/C/G/T/N bases"),
        ("NC_000001.11\t400\trs9\tA\tG,1\t.\t.\t.", "ALT allele '1' is not A/C/G/T/N bases"),
        ("NC_000001.11\t400\trs9\tA\tG,\t.\t.\t.", "ALT allele '' is not"),
        ("\t400\trs9\tA\tG\t.\t.\t.", "empty CHROM"),
    ],
)
def test_normalise_rejects_bad_records_naming_file_and_line(tmp_path, record, message, n_good,
                                                            monkeypatch):
    monkeypatch.setattr(vprep, "_BLOCK", 256)
    src = _write(tmp_path, "bad", [*GOOD[:n_good], record], "plain")
    cmap = ContigMap.from_tsv(_contigs_tsv(tmp_path))
    dest = tmp_path / "out" / "x.vcf.gz"
    with pytest.raises(ValueError, match=rf"bad\.vcf:{N_HEADER + n_good + 1}: {message}"):
        vprep.normalise_vcf(src, dest, cmap, cmap.lengths)
    _assert_nothing_written(dest)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER.split("\n", 1)[1] + RECORDS[0] + "\n", r"x\.vcf:1: not a VCF: the first line must be ##fileformat"),
        ("chr1\t1\n", r"x\.vcf:1: not a VCF"),
        ("", r"x\.vcf: empty file"),
        (HEADER.replace("\tINFO", ""), r"x\.vcf:6: the #CHROM line must hold the 8 tab-separated"),
        (HEADER.replace("\tINFO", "\tINFO\tSAMPLE1"), r"x\.vcf:6: the #CHROM line .*\(then FORMAT.*got 9"),
        (HEADER.replace("#CHROM", "CHROM"), r"x\.vcf:6: expected a ## header line or #CHROM"),
        (HEADER.rsplit("#CHROM", 1)[0], r"x\.vcf: no #CHROM header line"),
        (None, r"x\.vcf: VCF file not found"),
    ],
)
def test_normalise_rejects_bad_headers(tmp_path, text, message):
    p = tmp_path / "x.vcf"
    if text is not None:
        p.write_text(text)
    cmap = ContigMap.from_tsv(_contigs_tsv(tmp_path))
    dest = tmp_path / "out" / "o.vcf.gz"
    with pytest.raises(ValueError, match=message):
        vprep.normalise_vcf(p, dest, cmap, cmap.lengths)
    _assert_nothing_written(dest)


@pytest.mark.parametrize("mode", ["bgzip", "gzip"])
def test_normalise_truncated_gzip_names_the_file(tmp_path, mode):
    full = _write(tmp_path, "t", GOOD, mode).read_bytes()
    src = tmp_path / "cut.vcf.gz"
    src.write_bytes(full[: len(full) // 2])
    cmap = ContigMap.from_tsv(_contigs_tsv(tmp_path))
    dest = tmp_path / "out" / "o.vcf.gz"
    with pytest.raises(ValueError, match=r"cut\.vcf\.gz: truncated or corrupt gzip stream"):
        vprep.normalise_vcf(src, dest, cmap, cmap.lengths)
    _assert_nothing_written(dest)


def test_normalise_counts_dropped_records(tmp_path):
    recs = [
        "NC_000001.11\t10\trs1\ta\tg\t.\t.\t.",  # lower case: kept
        "NC_000001.11\t11\trs2\tA\t.\t.\t.\t.",  # no ALT: dropped
        "NC_000001.11\t12\trs3\tA\t<DEL>\t.\t.\t.",  # symbolic only: dropped
        "NC_000001.11\t13\trs4\tA\t*,G]NC_000002.12:5]\t.\t.\t.",  # dropped
        "NC_000001.11\t14\trs5\tA\tG,<NON_REF>\t.\t.\t.",  # one base ALT: kept whole
        "NC_000001.11\t15\trs6\tA\t.A\t.\t.\t.",  # single breakend: dropped
        "NW_000001.1\t5000\trs7\tG\tC\t.\t.\t.",  # unknown contig: no length check
    ]
    src = _write(tmp_path, "d", recs, "plain")
    cmap = ContigMap.from_tsv(_contigs_tsv(tmp_path))
    dest = tmp_path / "out" / "d.vcf.gz"
    c = vprep.normalise_vcf(src, dest, cmap, cmap.lengths)
    assert c["dropped"] == {"unknown_contig": 1, "no_alt": 1, "symbolic_alt": 3}
    assert (c["records_in"], c["records_out"], c["records_dropped"]) == (7, 2, 5)
    assert c["dropped_contigs"] == {"NW_000001.1": 1}
    with pysam.VariantFile(str(dest)) as vf:
        got = [(r.pos, r.alts) for r in vf.fetch("chr1")]
    assert got == [(10, ("g",)), (14, ("G", "<NON_REF>"))]
    with dvcf.open_vcf(dest) as vf:
        alleles = [a for _, al in dvcf.iter_alleles(vf, "chr1", 13, 14) for a in al]
    assert [(a.alt, a.is_symbolic) for a in alleles] == [("G", False), ("<NON_REF>", True)]


def test_trim_allele():
    assert dvcf.trim_allele(100, "ACT", "GCT") == (100, "A", "G")
    assert dvcf.trim_allele(100, "ACT", "A") == (100, "ACT", "A")
    assert dvcf.trim_allele(100, "AT", "ATT") == (100, "A", "AT")
    assert dvcf.trim_allele(100, "CAG", "CTG") == (101, "A", "T")
    assert dvcf.trim_allele(5, "G", "C") == (5, "G", "C")


def test_multiallelic_split(tmp_path):
    src = _write(tmp_path, "m", RECORDS[:3])
    with dvcf.open_vcf(src) as vf:
        got = {r.pos: alle for r, alle in dvcf.iter_alleles(vf, "NC_000001.11", 0, 1000, ["RS"])}
    assert [a.alt for a in got[30]] == ["T", "G", "A"]
    assert all(a.n_alts == 3 and a.is_snv and a.info["RS"] == "3" for a in got[30])
    snv, dele = got[20]
    assert (snv.pos, snv.ref, snv.alt, snv.is_snv) == (20, "A", "G", True)
    assert (dele.ref, dele.alt, dele.is_snv) == ("ACT", "A", False)
    assert got[10][0].n_alts == 1


def test_unindexed_bgzip_is_indexed(tmp_path):
    src = _write(tmp_path, "noidx", RECORDS)
    assert not Path(str(src) + ".tbi").exists()
    with dvcf.open_vcf(src) as vf:
        assert len(list(vf.fetch("NC_000001.11", 0, 1000))) == 3
    assert Path(str(src) + ".tbi").is_file()


def test_unindexed_plain_gzip_fails_with_message(tmp_path):
    src = _write(tmp_path, "gz", RECORDS, "gzip")
    with pytest.raises(ValueError, match="no .tbi/.csi index and is not BGZF.*bgzip"):
        dvcf.open_vcf(src)
    with pytest.raises(ValueError, match="not found"):
        dvcf.ensure_index(tmp_path / "missing.vcf.gz")


def test_absent_contig_yields_nothing(tmp_path):
    src = _write(tmp_path, "a", RECORDS[:1])
    with dvcf.open_vcf(src) as vf:
        assert list(dvcf.iter_alleles(vf, "chrZ", 0, 10)) == []
        assert list(dvcf.iter_alleles(vf, "NC_000002.12", 0, 10)) == []  # declared, no records


def test_block_fast_path_equals_line_path(tmp_path, monkeypatch):
    recs = [f"NC_000001.11\t{p}\trs{p}\tA\tG\t.\t.\t." for p in range(1, 200)]
    recs += [f"NW_000001.1\t{p}\t.\tC\tT\t.\t.\t." for p in range(1, 40)]
    recs += [f"NC_000002.12\t{p}\t.\tC\tT,G\t.\t.\t." for p in range(1, 300)]
    src = _write(tmp_path, "many", recs)
    cmap = ContigMap.from_tsv(_contigs_tsv(tmp_path))
    big = vprep.normalise_vcf(src, tmp_path / "a.vcf.gz", cmap, cmap.lengths)
    monkeypatch.setattr(vprep, "_BLOCK", 97)  # most blocks hold a single contig: fast path
    small = vprep.normalise_vcf(src, tmp_path / "b.vcf.gz", cmap, cmap.lengths)
    assert big == {**small, "source": big["source"]}
    assert small["dropped_contigs"] == {"NW_000001.1": 39} and small["records_out"] == 498
    a = gzip.decompress((tmp_path / "a.vcf.gz").read_bytes())
    b = gzip.decompress((tmp_path / "b.vcf.gz").read_bytes())
    assert a == b and b.count(b"\nchr2\t") == 299 and b"NC_0000" not in b.split(b"#CHROM")[1]
