"""dnalm.vcf: contig renaming, dropped contigs, multi-allelic splitting, indexing, errors."""

import gzip
from pathlib import Path

import pysam
import pytest
from dnalm import vcf as dvcf
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
    counts = dvcf.normalise_vcf(src, dest, cmap, cmap.lengths)
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
        dvcf.normalise_vcf(src, dest, cmap, cmap.lengths)
    assert list(dest.parent.iterdir()) == []
    back = [RECORDS[2], RECORDS[0]]
    src = _write(tmp_path, "back", back, "plain")
    with pytest.raises(ValueError, match="tabix indexing .* not sorted"):
        dvcf.normalise_vcf(src, dest, cmap, cmap.lengths)
    assert list(dest.parent.iterdir()) == []


def test_normalise_rejects_non_vcf(tmp_path):
    p = tmp_path / "x.vcf"
    p.write_text("chr1\t1\n")
    cmap = ContigMap.from_tsv(_contigs_tsv(tmp_path))
    with pytest.raises(ValueError, match=r"x\.vcf:1: expected a header line"):
        dvcf.normalise_vcf(p, tmp_path / "o.vcf.gz", cmap, cmap.lengths)


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
    big = dvcf.normalise_vcf(src, tmp_path / "a.vcf.gz", cmap, cmap.lengths)
    monkeypatch.setattr(dvcf, "_BLOCK", 97)  # most blocks hold a single contig: fast path
    small = dvcf.normalise_vcf(src, tmp_path / "b.vcf.gz", cmap, cmap.lengths)
    assert big == {**small, "source": big["source"]}
    assert small["dropped_contigs"] == {"NW_000001.1": 39} and small["records_out"] == 498
    a = gzip.decompress((tmp_path / "a.vcf.gz").read_bytes())
    b = gzip.decompress((tmp_path / "b.vcf.gz").read_bytes())
    assert a == b and b.count(b"\nchr2\t") == 299 and b"NC_0000" not in b.split(b"#CHROM")[1]
