"""dnalm.fetch: downloads over a loopback HTTP server, local copies, checksums, failure cleanup."""

from __future__ import annotations

import hashlib
import http.server
import logging
import threading

import pytest
from dnalm.fetch import fetch, fetch_source

PAYLOAD = bytes(range(256)) * 4000 + b"tail"  # ~1 MB: more than one read chunk


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
def served(http_server):
    (http_server.root / "data.bin").write_bytes(PAYLOAD)
    return http_server


def test_http_success_with_md5_and_sha256(served, tmp_path):
    dest = tmp_path / "sub" / "data.bin"
    out = fetch(
        served.url("data.bin"),
        dest,
        md5=hashlib.md5(PAYLOAD).hexdigest(),
        sha256=hashlib.sha256(PAYLOAD).hexdigest().upper(),  # case-insensitive
        verbose=False,
    )
    assert out == dest
    assert dest.read_bytes() == PAYLOAD
    assert _leftovers(dest.parent) == ["data.bin"]
    assert served.requests == ["data.bin"]


@pytest.mark.parametrize("algo", ["md5", "sha256"])
def test_checksum_mismatch_leaves_nothing(served, tmp_path, algo):
    wrong = hashlib.new(algo, b"something else").hexdigest()
    right = hashlib.new(algo, PAYLOAD).hexdigest()
    dest = tmp_path / "data.bin"
    with pytest.raises(ValueError) as err:
        fetch(served.url("data.bin"), dest, verbose=False, **{algo: wrong})
    msg = str(err.value)
    assert str(dest) in msg and wrong in msg and right in msg and algo in msg
    assert _leftovers(tmp_path) == []


def test_truncated_transfer_leaves_nothing(served, tmp_path):
    served.truncate["data.bin"] = 1000
    dest = tmp_path / "data.bin"
    with pytest.raises(
        OSError, match=rf"truncated transfer, got {len(PAYLOAD)} of {len(PAYLOAD) + 1000}"
    ):
        fetch(served.url("data.bin"), dest, verbose=False)
    assert _leftovers(tmp_path) == []


def test_http_404_names_url_and_status(http_server, tmp_path):
    url = http_server.url("missing.fa.gz")
    with pytest.raises(OSError) as err:
        fetch(url, tmp_path / "x", verbose=False)
    assert url in str(err.value) and "404" in str(err.value)
    assert _leftovers(tmp_path) == []


def test_http_status_override_500(served, tmp_path):
    served.status["data.bin"] = 500
    with pytest.raises(OSError, match="HTTP 500"):
        fetch(served.url("data.bin"), tmp_path / "x", verbose=False)
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "url",
    ["gopher://example.org/x", "s3://bucket/key.fa.gz", "data:text/plain,ACGT", "sftp://h/x"],
)
def test_disallowed_scheme(url, tmp_path):
    with pytest.raises(ValueError, match="unsupported URL scheme") as err:
        fetch(url, tmp_path / "x", verbose=False)
    assert url in str(err.value)
    assert _leftovers(tmp_path) == []


def test_local_path_and_file_url(tmp_path):
    src = tmp_path / "in dir" / "src.bin"
    src.parent.mkdir()
    src.write_bytes(PAYLOAD)
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    a = fetch(str(src), tmp_path / "out" / "a.bin", md5=md5, verbose=False)
    b = fetch(src.as_uri(), tmp_path / "out" / "b.bin", md5=md5, verbose=False)  # file:///...%20...
    assert a.read_bytes() == b.read_bytes() == PAYLOAD
    assert _leftovers(tmp_path / "out") == ["a.bin", "b.bin"]


def test_local_checksum_mismatch_and_missing_file(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"ACGT")
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="md5 mismatch"):
        fetch(str(src), out / "a.bin", md5="0" * 32, verbose=False)
    with pytest.raises(FileNotFoundError, match="nope.bin"):
        fetch(str(tmp_path / "nope.bin"), out / "b.bin", verbose=False)
    assert _leftovers(out) == []


def test_failure_keeps_an_existing_destination_untouched(served, tmp_path):
    dest = tmp_path / "data.bin"
    dest.write_bytes(b"old")
    with pytest.raises(ValueError):
        fetch(served.url("data.bin"), dest, md5="0" * 32, verbose=False)
    assert dest.read_bytes() == b"old"
    assert _leftovers(tmp_path) == ["data.bin"]


class _NoLengthHandler(http.server.BaseHTTPRequestHandler):
    """Answers every GET with PAYLOAD and no Content-Length (HTTP/1.0: the body ends at close)."""

    protocol_version = "HTTP/1.0"

    def log_message(self, format, *args):  # noqa: A002 - keep the test output quiet
        pass

    def do_GET(self):  # noqa: N802 - http.server naming
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        self.wfile.write(PAYLOAD)


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that refuses the body hangs up mid-write: expected here


@pytest.fixture
def no_length_url():
    """URL of a loopback server that sends bodies without Content-Length; stopped in teardown."""
    server = _QuietServer(("127.0.0.1", 0), _NoLengthHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/data.bin"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_no_checksum_and_no_content_length_is_refused(no_length_url, tmp_path):
    dest = tmp_path / "data.bin"
    with pytest.raises(ValueError) as err:
        fetch(no_length_url, dest, verbose=False)
    msg = str(err.value)
    assert no_length_url in msg and "Content-Length" in msg and "checksum: none" in msg
    assert _leftovers(tmp_path) == []


def test_checksum_none_opts_in_with_a_warning(no_length_url, tmp_path, caplog):
    dest = tmp_path / "data.bin"
    with caplog.at_level(logging.WARNING, logger="dnalm.fetch"):
        fetch_source({"url": no_length_url, "checksum": "none"}, dest, verbose=False)
    assert dest.read_bytes() == PAYLOAD
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned and no_length_url in warned[0]
    # the last warning says what to pin: the sha256 of the body fetched
    assert f"add `sha256: {hashlib.sha256(PAYLOAD).hexdigest()}` to its config entry" in warned[-1]


def test_the_pin_hint_only_for_a_download_without_a_checksum(served, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="dnalm.fetch"):
        fetch_source({"url": served.url("data.bin"), "md5": hashlib.md5(PAYLOAD).hexdigest()},
                     tmp_path / "a", verbose=False)  # fmt: skip
    assert not [r for r in caplog.records if "to pin" in r.getMessage()]
    with caplog.at_level(logging.WARNING, logger="dnalm.fetch"):  # Content-Length only
        fetch_source({"url": served.url("data.bin")}, tmp_path / "b", verbose=False)
    hints = [r.getMessage() for r in caplog.records if "to pin" in r.getMessage()]
    assert hints == [f"{served.url('data.bin')}: not checked against a checksum; to pin what was "
                     f"fetched, add `sha256: {hashlib.sha256(PAYLOAD).hexdigest()}` to its config entry"]


def test_a_checksum_verifies_a_body_without_content_length(no_length_url, tmp_path):
    dest = tmp_path / "data.bin"
    fetch_source(
        {"url": no_length_url, "md5": hashlib.md5(PAYLOAD).hexdigest()}, dest, verbose=False
    )
    assert dest.read_bytes() == PAYLOAD
    with pytest.raises(ValueError, match="md5 mismatch"):
        fetch_source({"url": no_length_url, "md5": "0" * 32}, tmp_path / "bad.bin", verbose=False)
    assert _leftovers(tmp_path) == ["data.bin"]


def test_checksum_none_contradicting_a_digest_or_misspelt_is_refused(served, tmp_path):
    with pytest.raises(ValueError, match="contradicts"):
        fetch(served.url("data.bin"), tmp_path / "a", md5="0" * 32, checksum="none", verbose=False)
    with pytest.raises(ValueError, match="`checksum` must be None or 'none'"):
        fetch(served.url("data.bin"), tmp_path / "b", checksum="skip", verbose=False)
    assert _leftovers(tmp_path) == []
    assert served.requests == []
