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
