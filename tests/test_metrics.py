"""classification_metrics against hand-computed values and degenerate test sets."""

import math

import numpy as np
import pytest
from dnalm.metrics import classification_metrics


def _probs_from_pred(pred, n_classes=2):
    p = np.full((len(pred), n_classes), 0.1 / (n_classes - 1))
    p[np.arange(len(pred)), pred] = 0.9
    return p


def test_binary_confusion_matrix_by_hand():
    # TP=3, FN=1, FP=2, TN=4
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    pred = np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0])
    m = classification_metrics(y, _probs_from_pred(pred))
    assert m["accuracy"] == pytest.approx(7 / 10)
    assert m["precision"] == pytest.approx(3 / 5)
    assert m["recall"] == pytest.approx(3 / 4)
    assert m["f1"] == pytest.approx(2 * 0.6 * 0.75 / (0.6 + 0.75))
    # MCC = (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = 10 / sqrt(600)
    assert m["mcc"] == pytest.approx(10 / math.sqrt(600))
    assert not m["constant_prediction"] and m["note"] == ""


def test_tiny_auroc_and_auprc_by_hand():
    y = np.array([0, 0, 1, 1])
    p1 = np.array([0.1, 0.4, 0.35, 0.8])
    m = classification_metrics(y, np.stack([1 - p1, p1], axis=1))
    # positive/negative pairs ranked correctly: (0.35>0.1), (0.8>0.1), (0.8>0.4) = 3 of 4
    assert m["auroc"] == pytest.approx(0.75)
    # ranking 0.8(+) 0.4(-) 0.35(+) 0.1(-): AP = 0.5*1 + 0.5*(2/3)
    assert m["auprc"] == pytest.approx(0.5 + 1 / 3)


def test_single_class_test_set_gives_nan_auc_with_note():
    y = np.zeros(5, dtype=int)
    p1 = np.array([0.1, 0.2, 0.7, 0.3, 0.4])
    m = classification_metrics(y, np.stack([1 - p1, p1], axis=1))
    assert math.isnan(m["auroc"]) and math.isnan(m["auprc"])
    assert "only class 0" in m["note"]
    assert m["accuracy"] == pytest.approx(0.8)
    assert m["mcc"] == 0.0


def test_three_classes_macro_by_hand():
    y = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([0, 1, 1, 1, 2, 0])
    m = classification_metrics(y, _probs_from_pred(pred, 3))
    # per class precision: 0: 1/2, 1: 2/3, 2: 1/1; recall: 1/2, 1, 1/2
    assert m["precision"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert m["recall"] == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["n_classes"] == 3
    # one-vs-rest AUROC counting won pairs (ties 1/2) out of 2 x 4 per class:
    # class 0: pos (.9, .05) vs neg (.05, .05, .05, .9) -> (3 + .5 + 1.5) / 8 = .625
    # class 1: pos (.9, .9) vs neg (.05, .9, .05, .05) -> 2 * 3.5 / 8 = .875
    # class 2: pos (.9, .05) vs neg (.05 x 4) -> (4 + 2) / 8 = .75
    assert m["auroc"] == pytest.approx((0.625 + 0.875 + 0.75) / 3)
    perfect = classification_metrics(y, _probs_from_pred(y, 3))
    assert perfect["auroc"] == 1.0 and perfect["auprc"] == 1.0 and perfect["mcc"] == 1.0


def test_multiclass_auc_skips_absent_classes():
    y = np.array([0, 0, 1, 1])
    p = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.3, 0.4, 0.3]])
    m = classification_metrics(y, p)
    assert m["auroc"] == 1.0
    assert "absent" in m["note"]


def test_constant_prediction_flag():
    y = np.array([0, 1, 0, 1])
    m = classification_metrics(y, _probs_from_pred(np.ones(4, dtype=int)))
    assert m["constant_prediction"] and m["mcc"] == 0.0
    assert "all rows predicted class 1" in m["note"]


@pytest.mark.parametrize(
    ("y", "p", "match"),
    [
        ([0, 1], np.ones((2, 1)), "C >= 2"),
        ([0, 1, 1], np.full((2, 2), 0.5), "shape"),
        ([0, 2], np.full((2, 2), 0.5), "0..1"),
        ([0.0, 1.0], np.full((2, 2), 0.5), "integers"),
        ([0, 1], np.array([[0.5, np.nan], [0.5, 0.5]]), "nan"),
    ],
)
def test_bad_input(y, p, match):
    with pytest.raises((ValueError, TypeError), match=match):
        classification_metrics(np.asarray(y), p)


# ----------------------------------------------------------------------------- bootstrap CIs


def _noisy(n: int, n_classes: int, seed: int):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    p = rng.random((n, n_classes))
    p[np.arange(n), y] += 0.6 * rng.random(n)
    p = np.round(p, 2)  # ties, as real classifiers produce
    return y, p / p.sum(1, keepdims=True)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_vectorised_metrics_with_unit_weights_equal_sklearn(n_classes):
    from dnalm.metrics import _from_confusion, _weighted_auc_ap

    y, p = _noisy(500, n_classes, seed=n_classes)
    ref = classification_metrics(y, p)
    cm = np.zeros((1, n_classes, n_classes))
    np.add.at(cm[0], (y, p.argmax(1)), 1)
    got = _from_confusion(cm, n_classes == 2)
    for key in ("accuracy", "precision", "recall", "f1", "mcc"):
        assert got[key][0] == pytest.approx(ref[key], abs=1e-12), key
    w = np.ones((1, len(y)))
    if n_classes == 2:
        auc, ap = _weighted_auc_ap(p[:, 1], y == 1, w)
    else:
        pairs = [_weighted_auc_ap(p[:, c], y == c, w) for c in range(n_classes)]
        auc = np.mean([a for a, _ in pairs], axis=0)
        ap = np.mean([b for _, b in pairs], axis=0)
    assert auc[0] == pytest.approx(ref["auroc"], abs=1e-12)
    assert ap[0] == pytest.approx(ref["auprc"], abs=1e-12)


def test_bootstrap_ci_brackets_the_estimate_and_shrinks_with_n():
    from dnalm.metrics import CI_METRICS, bootstrap_ci

    y, p = _noisy(300, 2, seed=1)
    ci = bootstrap_ci(y, p, n_boot=500, random_state=3)
    assert set(ci) == set(CI_METRICS)
    ref = classification_metrics(y, p)
    for m, (lo, hi) in ci.items():
        assert lo <= ref[m] <= hi, m
    assert ci == bootstrap_ci(y, p, n_boot=500, random_state=3)  # seeded
    yb, pb = _noisy(3000, 2, seed=1)
    big = bootstrap_ci(yb, pb, n_boot=500, random_state=3)
    assert big["mcc"][1] - big["mcc"][0] < 0.6 * (ci["mcc"][1] - ci["mcc"][0])


def test_bootstrap_ci_undefined_auroc_is_nan():
    from dnalm.metrics import bootstrap_ci

    y = np.zeros(50, dtype=np.int64)
    p = np.tile([0.7, 0.3], (50, 1))
    ci = bootstrap_ci(y, p, n_boot=50)
    assert np.isnan(ci["auroc"]).all() and ci["accuracy"] == (1.0, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        bootstrap_ci(y, p, alpha=1.5)
