"""Publishers' checksum lists (``checksums_url``): parsing each list format, and fetches verified
against a list served over loopback HTTP."""

from __future__ import annotations

import hashlib

import pytest
from dnalm.checksum_lists import find_digest
from dnalm.fetch import fetch_source
from dnalm.settings import ConfigError, load_config

PAYLOAD = b"chr1\tHAVANA\tgene\t11869\t14409\t.\t+\t.\tgene_id \"X\";\n" * 5000
MD5 = hashlib.md5(PAYLOAD).hexdigest()
SHA = hashlib.sha256(PAYLOAD).hexdigest()
OTHER_MD5 = hashlib.md5(b"other").hexdigest()
URL = "https://ftp.example.org/pub/release_44/gencode.v44.annotation.gtf.gz"


@pytest.mark.parametrize(
    ("lines", "algo", "digest", "line"),
    [
        # GENCODE MD5SUMS / coreutils md5sum output
        ([f"{OTHER_MD5}  gencode.v44.basic.annotation.gtf.gz", f"{MD5}  gencode.v44.annotation.gtf.gz"], "md5", MD5, 2),
        # binary-mode marker, ./ prefix (NCBI md5checksums.txt)
        ([f"{MD5} *./gencode.v44.annotation.gtf.gz"], "md5", MD5, 1),
        # sha256sum
        ([f"{SHA.upper()}  gencode.v44.annotation.gtf.gz"], "sha256", SHA, 1),
        # OpenSSL and BSD styles
        ([f"MD5(gencode.v44.annotation.gtf.gz)= {MD5}"], "md5", MD5, 1),
        (["# comment", "", f"SHA256 (gencode.v44.annotation.gtf.gz) = {SHA}"], "sha256", SHA, 3),
        # a per-file .md5 holding the digest alone
        ([MD5], "md5", MD5, 1),
        # a path relative to the list's directory
        ([f"{MD5}  release_44/gencode.v44.annotation.gtf.gz"], "md5", MD5, 1),
        # 1000 Genomes MANIFEST.txt: name, size, md5
        ([f"./other.vcf.gz\t12\t{OTHER_MD5}", f"./gencode.v44.annotation.gtf.gz\t1202\t{MD5}"], "md5", MD5, 2),
        # UCSC files.txt
        (
            [
                f"wgEncodeX.narrowPeak.gz\tproject=wgEncode; md5sum={OTHER_MD5}; size=1M",
                f"gencode.v44.annotation.gtf.gz\tproject=wgEncode; cell=Dnd41; md5sum={MD5}; size=1M",
            ],
            "md5",
            MD5,
            2,
        ),
    ],
)
def test_list_formats(lines, algo, digest, line):
    hit = find_digest(lines, URL, "LIST")
    assert (hit.algo, hit.digest, hit.where) == (algo, digest, f"LIST:{line}")


def test_md5_and_sha256_for_one_file_prefers_sha256():
    hit = find_digest([f"{MD5}  gencode.v44.annotation.gtf.gz", f"{SHA}  gencode.v44.annotation.gtf.gz"], URL, "L")
    assert (hit.algo, hit.where) == ("sha256", "L:2")


def test_name_must_match_the_whole_file_name():
    # "annotation.gtf.gz" is a suffix of the target but not its file name
    with pytest.raises(ValueError, match=r"^L: no checksum entry for gencode.v44.annotation.gtf.gz"):
        find_digest([f"{MD5}  annotation.gtf.gz", f"{MD5}  v44.annotation.gtf.gz.tbi"], URL, "L")


@pytest.mark.parametrize(
    ("lines", "pattern"),
    [
        (["not a checksum line"], r"^L:1: not a checksum line"),
        ([f"{MD5}  other.gz", "garbage here"], r"^L:2: not a checksum line"),
        ([f"{MD5[:-1]}  gencode.v44.annotation.gtf.gz"], r"^L:1: not a checksum line"),
        (["gencode.v44.annotation.gtf.gz\tproject=x; size=1M"], r"^L:1: the digest '' for gencode"),
        (["gencode.v44.annotation.gtf.gz\tproject=x; size"], r"^L:1: `size` is not a key=value pair"),
        ([f"{MD5}  gencode.v44.annotation.gtf.gz", f"./{OTHER_MD5}"], r"^L:2: not a checksum line"),
        ([f"{MD5}  other.gz", OTHER_MD5], r"^L:2: a digest without a file name in a list of 2 lines"),
        (
            [f"{MD5}  gencode.v44.annotation.gtf.gz", f"{OTHER_MD5}  ./gencode.v44.annotation.gtf.gz"],
            rf"^L: two md5 digests for gencode.v44.annotation.gtf.gz: {MD5} \(L:1\) and {OTHER_MD5} \(L:2\)",
        ),
        ([], r"^L: no checksum entry"),
        # an OpenSSL/BSD tag that disagrees with the digest's length, on another file's line too
        ([f"MD5(gencode.v44.annotation.gtf.gz)= {SHA}"], r"^L:1: the MD5 tag does not fit a 64-digit digest"),
        ([f"SHA256 (other.gz) = {MD5}", f"{MD5}  gencode.v44.annotation.gtf.gz"], r"^L:1: the SHA256 tag does not fit a 32"),
    ],
)
def test_bad_lists_are_named(lines, pattern):
    with pytest.raises(ValueError, match=pattern):
        find_digest(lines, URL, "L")


# ----------------------------------------------------------------------------- fetch_source


@pytest.fixture
def served(http_server):
    (http_server.root / "release_44").mkdir()
    (http_server.root / "release_44" / "gencode.v44.annotation.gtf.gz").write_bytes(PAYLOAD)
    return http_server


def _src(served, listing: str, **extra):
    (served.root / "release_44" / "MD5SUMS").write_text(listing)
    return {
        "url": served.url("release_44/gencode.v44.annotation.gtf.gz"),
        "checksums_url": served.url("release_44/MD5SUMS"),
        **extra,
    }


def test_fetch_verified_against_the_list(served, tmp_path, caplog):
    src = _src(served, f"{OTHER_MD5}  gencode.v44.basic.annotation.gtf.gz\n{MD5}  gencode.v44.annotation.gtf.gz\n")
    with caplog.at_level("INFO", logger="dnalm.fetch"):
        out = fetch_source(src, tmp_path / "a.gtf.gz", verbose=False)
    assert out.read_bytes() == PAYLOAD
    assert served.requests == ["release_44/MD5SUMS", "release_44/gencode.v44.annotation.gtf.gz"]
    assert f"md5 {MD5} as listed at {src['checksums_url']}:2" in caplog.text


def test_fetch_refuses_a_body_the_list_contradicts(served, tmp_path):
    src = _src(served, f"{OTHER_MD5}  gencode.v44.annotation.gtf.gz\n")
    with pytest.raises(ValueError) as err:
        fetch_source(src, tmp_path / "a.gtf.gz", verbose=False)
    msg = str(err.value)
    assert f"expected {OTHER_MD5} (as listed at {src['checksums_url']}:1), actual {MD5}" in msg
    assert list(tmp_path.iterdir()) == []


def test_fetch_checks_pinned_against_listed_before_downloading(served, tmp_path):
    src = _src(served, f"{MD5}  gencode.v44.annotation.gtf.gz\n", md5=OTHER_MD5)
    with pytest.raises(ValueError, match=rf"the config pins md5 {OTHER_MD5}, but .*MD5SUMS:1 lists {MD5}"):
        fetch_source(src, tmp_path / "a.gtf.gz", verbose=False)
    assert served.requests == ["release_44/MD5SUMS"]  # the file itself was never requested
    assert list(tmp_path.iterdir()) == []
    # agreeing pinned and listed digests (and a pinned sha256 beside a listed md5) pass
    src = _src(served, f"{MD5}  gencode.v44.annotation.gtf.gz\n", md5=MD5.upper(), sha256=SHA)
    assert fetch_source(src, tmp_path / "a.gtf.gz", verbose=False).read_bytes() == PAYLOAD


def test_fetch_with_a_missing_list_or_entry_writes_nothing(served, tmp_path):
    src = _src(served, f"{MD5}  gencode.v44.basic.annotation.gtf.gz\n")
    with pytest.raises(ValueError, match=r"MD5SUMS: no checksum entry for gencode.v44.annotation.gtf.gz"):
        fetch_source(src, tmp_path / "a.gtf.gz", verbose=False)
    src["checksums_url"] = served.url("release_44/absent.md5")
    with pytest.raises(OSError, match=r"absent.md5: HTTP 404"):
        fetch_source(src, tmp_path / "a.gtf.gz", verbose=False)
    assert list(tmp_path.iterdir()) == []


def test_a_local_list_and_a_local_file(tmp_path):
    data = tmp_path / "in" / "x.bed"
    data.parent.mkdir()
    data.write_bytes(PAYLOAD)
    (tmp_path / "in" / "md5sum.txt").write_text(f"{MD5}  x.bed\n")
    src = {"url": str(data), "checksums_url": f"file:{tmp_path / 'in' / 'md5sum.txt'}"}
    assert fetch_source(src, tmp_path / "out.bed", verbose=False).read_bytes() == PAYLOAD
    (tmp_path / "in" / "md5sum.txt").write_bytes(b"\xff\xfe" + MD5.encode())
    with pytest.raises(ValueError, match=r"md5sum.txt: a checksum list must be UTF-8 text"):
        fetch_source(src, tmp_path / "out2.bed", verbose=False)


# ----------------------------------------------------------------------------- config


def _config(tmp_path, gtf: dict) -> tuple[dict, str]:
    import yaml

    from tests.test_config import REPO

    raw = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    g = next(iter(raw["annotations"]))
    raw["annotations"][g]["gtf"] = gtf
    return raw, g


def test_config_accepts_checksums_url_and_refuses_contradictions(tmp_path):
    raw, g = _config(tmp_path, {"url": URL, "checksums_url": URL.rsplit("/", 1)[0] + "/MD5SUMS"})
    cfg = load_config(raw)
    assert cfg.annotations[g].gtf.checksums_url.endswith("/MD5SUMS")
    raw, g = _config(tmp_path, {"url": URL, "checksums_url": URL + ".md5", "checksum": "none"})
    with pytest.raises(ConfigError, match=rf"annotations.{g}.gtf.checksum.*contradicts"):
        load_config(raw)
    raw, g = _config(tmp_path, {"url": URL, "checksums_url": "s3://bucket/MD5SUMS"})
    with pytest.raises(ConfigError, match=rf"annotations.{g}.gtf.checksums_url"):
        load_config(raw)
    raw, g = _config(tmp_path, {"url": URL})
    with pytest.raises(ConfigError, match=r"needs md5, sha256 or checksums_url"):
        load_config(raw)
