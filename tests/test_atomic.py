"""dnalm.atomic: all-or-nothing writes with ordinary permissions."""

import os
import stat

import pytest
from dnalm import atomic


def test_write_text_replaces_and_uses_umask_permissions(tmp_path):
    dest = tmp_path / "sub" / "x.tsv.gz"
    atomic.write_text(dest, "a\n")
    atomic.write_text(dest, "b\n")
    assert dest.read_text() == "b\n"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in dest.parent.iterdir()] == ["x.tsv.gz"]


def test_failure_leaves_old_file_and_no_temp(tmp_path):
    dest = tmp_path / "y.txt"
    dest.write_text("old")
    with pytest.raises(RuntimeError), atomic.atomic_path(dest) as tmp:
        tmp.write_text("half")
        assert tmp.name.endswith(".txt")  # keeps the suffix for format sniffing
        raise RuntimeError("boom")
    assert dest.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["y.txt"]


def test_atomic_dir_replaces_whole_and_failure_keeps_old(tmp_path):
    dest = tmp_path / "model"
    dest.mkdir()
    (dest / "old.bin").write_bytes(b"old")
    with atomic.atomic_dir(dest) as tmp:
        assert tmp.parent == tmp_path and tmp != dest and not any(tmp.iterdir())
        (tmp / "new.bin").write_bytes(b"new")
        assert (dest / "old.bin").exists()  # the old folder stays until the new one is complete
    assert sorted(p.name for p in dest.iterdir()) == ["new.bin"]
    with pytest.raises(RuntimeError), atomic.atomic_dir(dest) as tmp:
        (tmp / "half.bin").write_bytes(b"half")
        raise RuntimeError("boom")
    assert sorted(p.name for p in dest.iterdir()) == ["new.bin"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no temporary or .old folder left


def test_atomic_dir_creates_missing_and_replaces_a_file(tmp_path):
    dest = tmp_path / "a" / "b"
    with atomic.atomic_dir(dest) as tmp:
        (tmp / "x").write_text("1")
    assert (dest / "x").read_text() == "1"
    f = tmp_path / "f"
    f.write_text("a file")
    with atomic.atomic_dir(f) as tmp:
        (tmp / "y").write_text("2")
    assert f.is_dir() and (f / "y").read_text() == "2"


def test_open_gzip_and_gzip_bytes_are_deterministic(tmp_path):
    import gzip
    import time

    payload = b"sequence\tlabel\n" + b"ACGT\t1\n" * 1000
    a, b = tmp_path / "a.tsv.gz", tmp_path / "sub" / "b.tsv.gz"
    with atomic.open_gzip(a) as gz:
        gz.write(payload)
    time.sleep(1.1)  # a gzip header with a timestamp would now differ
    with atomic.open_gzip(b) as gz:
        gz.write(payload)
    assert a.read_bytes() == b.read_bytes() == atomic.gzip_bytes(payload)
    assert a.read_bytes()[4:8] == b"\0\0\0\0"  # mtime 0
    assert not a.read_bytes()[3] & 0x08  # FNAME flag unset: no file name stored
    assert gzip.decompress(a.read_bytes()) == payload


def test_open_gzip_failure_leaves_nothing(tmp_path):
    dest = tmp_path / "c.tsv.gz"
    with pytest.raises(ValueError), atomic.open_gzip(dest) as gz:
        gz.write(b"partial\n")
        raise ValueError("bad row")
    assert list(tmp_path.iterdir()) == []


def test_write_json_sorted_with_newline(tmp_path):
    dest = tmp_path / "card.json"
    atomic.write_json(dest, {"b": 1, "a": [1, 2]})
    assert dest.read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'


def test_atomic_paths_move_all_or_none(tmp_path):
    """Files that form one result: a destination that is a directory is found before any file is
    moved (it used to be found after the first ones were), and no temporary file stays."""
    dests = {"a": tmp_path / "r.json", "b": tmp_path / "r.tsv"}
    with atomic.atomic_paths(dests) as tmp:
        for name, p in tmp.items():
            p.write_text(name)
    assert dests["a"].read_text() == "a" and dests["b"].read_text() == "b"
    dests["a"].unlink()
    dests["b"].unlink()
    dests["b"].mkdir()
    with pytest.raises(IsADirectoryError, match="r.tsv: is a directory"):
        with atomic.atomic_paths(dests) as tmp:
            for name, p in tmp.items():
                p.write_text(name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.tsv"]
    with pytest.raises(RuntimeError):
        with atomic.atomic_paths({"a": dests["a"]}) as tmp:
            tmp["a"].write_text("x")
            raise RuntimeError
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.tsv"]
