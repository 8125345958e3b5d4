"""dnalm.logos: local logomaker logos (no web service)."""

from __future__ import annotations

import numpy as np
import pytest
from dnalm.logos import draw_logo, draw_logos

PNG = b"\x89PNG\r\n\x1a\n"


def _pwm(seq: str) -> np.ndarray:
    pwm = np.full((len(seq), 4), 0.05)
    for i, b in enumerate(seq):
        pwm[i, "ACGT".index(b)] = 0.85
    return pwm


def test_draw_logo_writes_a_png(tmp_path):
    out = draw_logo(_pwm("TGACTCA"), tmp_path / "sub" / "m.png", title="m")
    data = out.read_bytes()
    assert data.startswith(PNG) and len(data) > 1000
    assert not list((tmp_path / "sub").glob(".*tmp"))  # nothing partial left behind


def test_draw_logos_index_and_names(tmp_path):
    paths = draw_logos({"motif1_ACGT": _pwm("ACGTA"), "odd/name": _pwm("GG")}, tmp_path / "logos")
    assert [p.name for p in paths] == ["motif1_ACGT.png", "odd_name.png"]
    lines = (tmp_path / "logos" / "index.tsv").read_text().splitlines()
    assert lines == ["motif\tfile", "motif1_ACGT\tmotif1_ACGT.png", "odd/name\todd_name.png"]


def test_draw_logos_empty(tmp_path):
    assert draw_logos({}, tmp_path / "logos") == []
    assert (tmp_path / "logos" / "index.tsv").read_text() == "motif\tfile\n"


@pytest.mark.parametrize("bad", [np.ones((3, 3)) / 3, np.full((3, 4), 0.3), -np.ones((2, 4))])
def test_draw_logo_rejects_bad_matrices(tmp_path, bad):
    with pytest.raises(ValueError, match="pwm"):
        draw_logo(bad, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_logo_panel_with_and_without_motifs(tmp_path):
    import numpy as np
    import pandas as pd
    from dnalm.logos import draw_logo_panel

    pwm = np.full((6, 4), 0.1)
    pwm[np.arange(6), [0, 1, 2, 3, 0, 1]] = 0.7
    matches = pd.DataFrame({"query": ["m1"], "target": ["K1"], "strand": ["-"], "q": [0.001]})
    out = draw_logo_panel({"m1": pwm}, matches, {"K1": pwm}, tmp_path / "p.png")
    assert out.stat().st_size > 5000
    empty = draw_logo_panel(
        {}, pd.DataFrame(columns=["query", "target", "strand", "q"]), None, tmp_path / "e.png"
    )
    assert empty.stat().st_size > 1000
    assert not list(tmp_path.glob(".*tmp*"))
