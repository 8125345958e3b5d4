"""dnalm.meme: MEME minimal format round trips, agreement with memelite, and error paths."""

from __future__ import annotations

import numpy as np
import pytest
from dnalm.meme import read_meme, write_meme


def _random_pwms(rng: np.random.Generator, widths: list[int]) -> dict[str, np.ndarray]:
    return {f"m{i}_w{w}": rng.dirichlet(np.ones(4) * 0.5, size=w) for i, w in enumerate(widths)}


def test_round_trip_keeps_order_values_and_fields(tmp_path):
    rng = np.random.default_rng(0)
    motifs = _random_pwms(rng, [5, 12, 1, 20])
    path = write_meme(tmp_path / "a.meme", motifs, nsites={"m1_w12": 37},
                      background={"A": 0.3, "C": 0.2, "G": 0.2, "T": 0.3})  # fmt: skip
    text = path.read_text()
    assert text.startswith("MEME version 4\n\nALPHABET= ACGT\n")
    assert "A 0.300 C 0.200 G 0.200 T 0.300" in text
    assert "MOTIF m1_w12\nletter-probability matrix: alength= 4 w= 12 nsites= 37 E= 0\n" in text
    back = read_meme(path)
    assert list(back) == list(motifs)
    for name, pwm in motifs.items():
        assert back[name].shape == pwm.shape
        np.testing.assert_allclose(back[name], pwm, atol=1e-6)
        np.testing.assert_allclose(back[name].sum(axis=1), 1.0, atol=1e-5)


def test_column_order_is_acgt(tmp_path):
    pwm = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]])
    write_meme(tmp_path / "acgt.meme", {"ACGT": pwm})
    rows = [ln for ln in (tmp_path / "acgt.meme").read_text().splitlines() if ln[:1].isdigit()]
    assert rows[0].split() == ["1.000000", "0.000000", "0.000000", "0.000000"]
    assert rows[3].split()[3] == "1.000000"


def test_agrees_with_memelite_reader(tmp_path):
    memelite_io = pytest.importorskip("memelite.io")
    motifs = _random_pwms(np.random.default_rng(1), [6, 9])
    write_meme(tmp_path / "b.meme", motifs)
    theirs = memelite_io.read_meme(str(tmp_path / "b.meme"))
    assert list(theirs) == list(motifs)
    for name, pwm in read_meme(tmp_path / "b.meme").items():
        assert theirs[name].shape == (4, pwm.shape[0])  # memelite stores (4, w)
        np.testing.assert_allclose(theirs[name].T, pwm)


def test_zero_motifs_is_a_valid_file(tmp_path):
    path = write_meme(tmp_path / "empty.meme", {})
    assert "MEME version 4" in path.read_text() and "MOTIF" not in path.read_text()
    assert read_meme(path) == {}
    memelite_io = pytest.importorskip("memelite.io")
    assert memelite_io.read_meme(str(path)) == {}


def test_comments_become_alt_names(tmp_path):
    pwm = np.full((3, 4), 0.25)
    write_meme(tmp_path / "c.meme", {"x": pwm}, comments={"x": "padj=0.01 from CTCF"})
    assert "MOTIF x padj=0.01_from_CTCF\n" in (tmp_path / "c.meme").read_text()
    assert list(read_meme(tmp_path / "c.meme")) == ["x"]


def test_reads_meme_suite_style_text(tmp_path):
    text = (
        "MEME version 5.5.4\r\n\r\nALPHABET= ACGT\r\n\r\nstrands: + -\r\n\r\n"
        "Background letter frequencies (from uniform background):\r\n"
        "A 0.25000 C 0.25000 G 0.25000 T 0.25000 \r\n\r\n"
        "MOTIF MA0139.2 CTCF\r\n\r\n"
        "letter-probability matrix: alength= 4 w= 2 nsites= 18 E= 1.2e-003\r\n"
        "  0.100000\t  0.200000\t  0.300000\t  0.400000\t\r\n\r\n"
        "  0.970000\t  0.010000\t  0.010000\t  0.010000\t\r\n\r\n"
        "URL http://jaspar.genereg.net/matrix/MA0139.2\r\n"
    )
    (tmp_path / "j.meme").write_bytes(text.encode())
    got = read_meme(tmp_path / "j.meme")
    assert list(got) == ["MA0139.2"]
    np.testing.assert_allclose(got["MA0139.2"], [[0.1, 0.2, 0.3, 0.4], [0.97, 0.01, 0.01, 0.01]])


@pytest.mark.parametrize(
    ("motifs", "kwargs", "match"),
    [
        ({"bad": np.full((3, 4), 0.3)}, {}, "row 0 sums to 1.2000"),
        ({"bad": np.full((4, 3), 1 / 3)}, {}, r"shape \(w, 4\)"),
        ({"two words": np.full((2, 4), 0.25)}, {}, "without whitespace"),
        ({"neg": np.array([[1.5, -0.5, 0, 0]])}, {}, "non-negative"),
        ({"ok": np.full((2, 4), 0.25)}, {"background": [0.5, 0.5, 0.5, 0.5]}, "background"),
    ],
)
def test_write_rejects_bad_input_and_leaves_nothing(tmp_path, motifs, kwargs, match):
    dest = tmp_path / "x.meme"
    dest.write_text("previous\n")
    with pytest.raises(ValueError, match=match):
        write_meme(dest, motifs, **kwargs)
    assert dest.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.meme"]


_HEAD = "MEME version 4\n\nALPHABET= ACGT\n\n"


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("MOTIF a\nletter-probability matrix: alength= 4 w= 2\n0.25 0.25 0.25 0.25\n", r":\d+: motif 'a'"),
        ("MOTIF a\nletter-probability matrix: alength= 4 w= 1\n0.5 0.5 0.5 0.5\n", r":7: matrix row sums to 2"),
        ("MOTIF a\nletter-probability matrix: alength= 4 w= 1\n0.5 0.5\n", r":7: matrix row has 2 values"),
        ("MOTIF a\nletter-probability matrix: w= 1\n1 0 0 0\nMOTIF a\n", r":8: duplicate motif id 'a'"),
        ("MOTIF a\nMOTIF b\n", r":5: motif 'a' has no probability matrix"),
        ("MOTIF a\nletter-probability matrix: alength= 4\n1 0 0 0\n", r":6: .*lacks 'w="),
        ("MOTIF a\nletter-probability matrix: w= 2\n1 0 0 0\n0.5 0,5 0 0\n", r":8: matrix row 2 of motif 'a' holds '0,5', not a number"),
        ("MOTIF a\nletter-probability matrix: w= 2\n1 0 0 0\nURL x\n", r":8: motif 'a' expects 2 matrix rows, got 1"),
    ],
)  # fmt: skip
def test_read_errors_name_file_and_line(tmp_path, body, match):
    path = tmp_path / "bad.meme"
    path.write_text(_HEAD + body)
    with pytest.raises(ValueError, match=match) as err:
        read_meme(path)
    assert str(path) in str(err.value)


def test_read_rejects_protein_alphabet_and_non_meme(tmp_path):
    prot = tmp_path / "p.meme"
    prot.write_text("MEME version 4\n\nALPHABET= ACDEFGHIKLMNPQRSTVWY\n")
    with pytest.raises(ValueError, match=":3: alphabet"):
        read_meme(prot)
    other = tmp_path / "o.txt"
    other.write_text(">seq\nACGT\n")
    with pytest.raises(ValueError, match="not a MEME file"):
        read_meme(other)
