"""dnalm.bed: the one BED reader (CLI predict/scan, variant attention regions)."""

from __future__ import annotations

import gzip

import pytest
from dnalm.bed import BedInterval, read_bed


def test_reads_bed3_to_bed6_in_file_order(tmp_path):
    p = tmp_path / "r.bed"
    p.write_bytes(b'track name="x"\r\nbrowser position chr1:1-10\n# comment\n\n'
                  b"chr2\t10\t20\r\n"
                  b"chr1\t0\t5\tsite\t0\t-\textra\n"
                  b"chr1 30 40 spaced\n"  # no tab: split on whitespace (EPDnew's BED)
                  b"chr1\t7\t9\t.\t0\t.\n")  # fmt: skip
    got = read_bed(p)
    assert got == [BedInterval("chr2", 10, 20, None, ".", 5), BedInterval("chr1", 0, 5, "site", "-", 6),
                   BedInterval("chr1", 30, 40, "spaced", ".", 7), BedInterval("chr1", 7, 9, None, ".", 8)]  # fmt: skip
    gz = tmp_path / "r.bed.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    assert read_bed(gz) == got


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("chr1\t5\t10\nchr1\t9\n", r"r\.bed:2: expected at least 3 tab-separated fields, got 2"),
        ("chr1\t5\t1O\n", r"r\.bed:1: start/end must be integers, got '5', '1O'"),
        ("chr1\t-1\t10\n", r"r\.bed:1: need 0 <= start < end, got -1, 10"),
        ("chr1\t10\t10\n", r"r\.bed:1: need 0 <= start < end, got 10, 10"),
        ("chr1\t1\t10\tn\t0\t*\n", r"r\.bed:1: strand must be '\+', '-' or '\.', got '\*'"),
        ("track x\n# nothing\n", r"r\.bed: no BED intervals"),
    ],
)
def test_errors_name_file_and_line(tmp_path, text, match):
    p = tmp_path / "r.bed"
    p.write_text(text)
    with pytest.raises(ValueError, match=match):
        read_bed(p)


def test_missing_binary_and_empty_files(tmp_path):
    with pytest.raises(ValueError, match=r"nope\.bed: BED file not found"):
        read_bed(tmp_path / "nope.bed")
    binary = tmp_path / "b.bed"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    with pytest.raises(ValueError, match=r"b\.bed: not a text BED file"):
        read_bed(binary)
    empty = tmp_path / "e.bed"
    empty.write_text("")
    assert read_bed(empty, allow_empty=True) == []
    with pytest.raises(ValueError, match=r"e\.bed: no BED intervals"):
        read_bed(empty)
