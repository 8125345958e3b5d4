"""dnalm.mutagenesis: ISM maps agree with direct predictions and do not depend on batch size."""

import numpy as np
import pytest
import torch
from dnalm import kmers
from dnalm.mutagenesis import ISM_BASES, plot_mutation_maps, saturation_mutagenesis
from dnalm.predict import predict_proba

pytestmark = pytest.mark.usefixtures("torch_one_thread")
K = 3


@pytest.fixture(scope="module")
def clf():
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(1)
    cfg = BertConfig(vocab_size=kmers.vocab_size(K), hidden_size=16, num_hidden_layers=1,
                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=64,
                     num_labels=2)
    return BertForSequenceClassification(cfg).eval()


def test_map_matches_direct_predictions(clf):
    seq = "ACGTTGCANGTACCGTAGGCA"
    delta, p_ref = saturation_mutagenesis(clf, seq.lower(), K, batch_size=5, device="cpu")
    assert delta.shape == (4, len(seq))
    assert p_ref == pytest.approx(predict_proba(clf, [seq], K, device="cpu")[0, 1], abs=1e-6)
    for i, b in enumerate(seq):
        if b == "N":
            assert (delta[:, i] == 0).all()
            continue
        assert delta[ISM_BASES.index(b), i] == 0
    for i, nb in [(0, "G"), (10, "T"), (20, "C")]:
        mut = seq[:i] + nb + seq[i + 1:]
        p = predict_proba(clf, [mut], K, device="cpu")[0, 1]
        assert delta[ISM_BASES.index(nb), i] == pytest.approx(p - p_ref, abs=1e-6)
    assert np.abs(delta).sum() > 0


def test_batch_size_invariance(clf):
    seq = "GATTACAGATTACAGATTACA"
    a, _ = saturation_mutagenesis(clf, seq, K, batch_size=1, device="cpu")
    b, _ = saturation_mutagenesis(clf, seq, K, batch_size=64, device="cpu")
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_bad_sequence(clf):
    with pytest.raises(ValueError, match="`seq`"):
        saturation_mutagenesis(clf, "ACGX", K, device="cpu")


def test_plot(tmp_path, clf):
    seq = "ACGTACGTACGTACGTACGTA"
    m, _ = saturation_mutagenesis(clf, seq, K, device="cpu")
    plot_mutation_maps([m, m], [seq, seq], ["a", "b"], [10, 3], tmp_path / "maps.png")
    plot_mutation_maps([], [], [], [], tmp_path / "empty.png")
    assert (tmp_path / "maps.png").stat().st_size > 1000
    assert (tmp_path / "empty.png").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.png", "maps.png"]


def test_plot_letters_legible_and_titles_clear(tmp_path, monkeypatch):
    """Bases under the map are >= 8 pt and no title overlaps the panel above's letters."""
    import matplotlib.pyplot as plt
    from dnalm import mutagenesis

    figs = []
    monkeypatch.setattr(mutagenesis, "_save", lambda fig, path: figs.append(fig))
    rng = np.random.default_rng(0)
    L = 101  # a TF window
    seqs = ["".join(rng.choice(list("ACGT"), L)) for _ in range(3)]
    maps = [rng.normal(0, 0.1, (4, L)) for _ in range(3)]
    titles = [f"chr1:{1000 + i} A>G (clinvar, pathogenic, score 0.9)" for i in range(3)]
    monkeypatch.setattr(plt, "close", lambda fig=None: None)
    plot_mutation_maps(maps, seqs, titles, [50, 10, 90], tmp_path / "m.png")
    fig = figs[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert len(axes) == 3
    for ax in axes:
        labels = [t for t in ax.get_xticklabels() if t.get_text()]
        assert len(labels) == L and min(t.get_fontsize() for t in labels) >= 8
        # neighbouring letters do not touch
        boxes = [t.get_window_extent(renderer) for t in labels]
        assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:], strict=False))
    for upper, lower in zip(axes, axes[1:], strict=False):
        lowest_letter = min(t.get_window_extent(renderer).y0 for t in upper.get_xticklabels())
        title = lower._left_title  # matplotlib's Text of ax.set_title(..., loc="left")
        assert title.get_text() and title.get_window_extent(renderer).y1 <= lowest_letter
    plt.close("all")
