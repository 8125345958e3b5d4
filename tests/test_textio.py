"""dnalm.textio: plain/gzip text reading with errors naming the file, and sha256sum."""

import gzip
import hashlib

import pytest
from dnalm.textio import gzip_error, is_gzip, open_text, sha256sum

TEXT = "".join(f"line {i}\tACGT\n" for i in range(5000))


def test_plain_gzip_and_bom_read_the_same(tmp_path):
    plain = tmp_path / "a.txt"
    plain.write_bytes(b"\xef\xbb\xbf" + TEXT.encode())
    gz = tmp_path / "a.txt.gz"
    gz.write_bytes(gzip.compress(TEXT.encode()))
    named_wrong = tmp_path / "b.txt"  # gzip detected by magic bytes, not by the name
    named_wrong.write_bytes(gzip.compress(TEXT.encode()))
    for p in (plain, gz, named_wrong):
        with open_text(p) as fh:
            assert fh.readline() == "line 0\tACGT\n"
            assert fh.read() == TEXT.split("\n", 1)[1]
    assert not is_gzip(plain) and is_gzip(gz) and is_gzip(named_wrong)
    with open_text(gz) as fh:
        assert sum(1 for _ in fh) == 5000


def test_crlf_is_kept_for_the_caller(tmp_path):
    p = tmp_path / "crlf.txt"
    p.write_bytes(b"a\r\nb\r\n")
    with open_text(p) as fh:
        assert list(fh) == ["a\r\n", "b\r\n"]


@pytest.mark.parametrize("cut", [10, 200])
def test_truncated_gzip_names_the_file(tmp_path, cut):
    p = tmp_path / "t.tsv.gz"
    p.write_bytes(gzip.compress(TEXT.encode())[:-cut])
    with pytest.raises(ValueError, match=rf"^{p}: truncated or corrupt gzip stream"):
        with open_text(p) as fh:
            for _ in fh:
                pass
    with pytest.raises(ValueError, match=rf"^{p}: truncated or corrupt gzip stream"):
        with open_text(p) as fh:
            fh.read()


def test_corrupt_gzip_and_missing_file(tmp_path):
    p = tmp_path / "bad.gz"
    p.write_bytes(b"\x1f\x8b" + b"\x00" * 40)
    with pytest.raises(ValueError, match=rf"^{p}: truncated or corrupt gzip stream"):
        with open_text(p) as fh:
            fh.read()
    with pytest.raises(ValueError, match=rf"^{tmp_path / 'nope.txt'}: file not found"):
        open_text(tmp_path / "nope.txt")
    err = gzip_error("x.gz", EOFError("boom"))
    assert (
        isinstance(err, ValueError)
        and str(err) == "x.gz: truncated or corrupt gzip stream (EOFError: boom)"
    )


def test_sha256sum_file_and_folder(tmp_path):
    f = tmp_path / "f.bin"
    f.write_bytes(b"ACGT" * 1000)
    assert sha256sum(f) == hashlib.sha256(b"ACGT" * 1000).hexdigest()
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (d / "b.txt").write_bytes(b"2")
    (d / "sub" / "a.txt").write_bytes(b"1")
    expected = hashlib.sha256(b"b.txt2" + b"sub/a.txt1").hexdigest()
    assert sha256sum(d) == expected
    (d / "sub" / "a.txt").write_bytes(b"3")
    assert sha256sum(d) != expected
