"""Does the language model learn? Validation MLM metrics against a k-mer frequency baseline.

The baseline is the best predictor that ignores context: the k-mer unigram frequencies of
the training split (add-one smoothed). Its loss is the cross-entropy of those frequencies on
the masked validation targets, its accuracy that of always predicting the most frequent
k-mer. Both are measured on exactly the masked positions the model is scored on
(:func:`dnalm.pretrain.mlm.evaluate`), so the two are paired.

Overlapping k-mers make the masked targets of DNABERT's span masking highly predictable from
the unmasked neighbours (an isolated span of k masked tokens hides a single base), so a model
that has learned the overlap structure far outscores the baseline; one that has not stays at
the baseline's level. The verdict (:func:`learning_check`) is ``learns`` when the lower end of
the 95% bootstrap interval of (model accuracy - baseline accuracy) is at least
:data:`ACC_MARGIN` and the model's loss is below the baseline's; otherwise
``does_not_beat_baseline``. The bootstrap resamples validation sequences (masked tokens of
one sequence are correlated: a span masks k neighbours). The verdict is written as
``learning_check.json`` into the model directory and read back by downstream stages with
:func:`read_learning_check`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dnalm import kmers
from dnalm._validate import validate_k

__all__ = ["CHECK_FILE", "ACC_MARGIN", "KmerBaseline", "learning_check", "read_learning_check",
           "check_summary"]

#: File name of the verdict inside a model directory.
CHECK_FILE = "learning_check.json"
#: Required lower 95% bound of (model accuracy - baseline accuracy) on masked validation tokens.
ACC_MARGIN = 0.05
VERDICTS = ("learns", "does_not_beat_baseline")


@dataclass(frozen=True)
class KmerBaseline:
    """Context-free predictor: training-split k-mer frequencies (add-one smoothed).

    Attributes
    ----------
    log_probs : numpy.ndarray, shape=(vocab_size,), dtype=float64
        Log-probability of each token id; ``-inf`` for the special tokens.
    top_id : int
        The most frequent k-mer's token id (the baseline's prediction for every position).
    n_counted : int
        k-mer tokens counted.
    """

    log_probs: np.ndarray
    top_id: int
    n_counted: int

    @classmethod
    def from_counts(cls, counts: np.ndarray, k: int) -> KmerBaseline:
        """The baseline of k-mer counts.

        Parameters
        ----------
        counts : numpy.ndarray, shape=(4**k,)
            Count of each k-mer in vocabulary order (token id - 5), e.g.
            :meth:`dnalm.corpus.stream.Corpus.kmer_counts`.
        k : int

        Returns
        -------
        KmerBaseline
            ``p(kmer) = (count + 1) / (total + 4**k)``; ties of the top count go to the lowest id.
        """
        validate_k(k)
        counts = np.asarray(counts)
        if counts.shape != (4**k,):
            raise ValueError(f"`counts` must have shape ({4**k},), got {counts.shape}")
        if (counts < 0).any():
            raise ValueError("`counts` must be non-negative")
        smoothed = counts.astype(np.float64) + 1.0
        log_probs = np.full(kmers.vocab_size(k), -np.inf)
        log_probs[kmers.N_SPECIAL:] = np.log(smoothed / smoothed.sum())
        return cls(log_probs, kmers.N_SPECIAL + int(np.argmax(counts)), int(counts.sum()))

    def score(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-target loss (negative log-probability) and hit (target is the top k-mer).

        Parameters
        ----------
        targets : numpy.ndarray, shape=(M,), dtype=int
            Token ids of masked positions (k-mer ids).

        Returns
        -------
        loss : numpy.ndarray, shape=(M,), dtype=float64
        correct : numpy.ndarray, shape=(M,), dtype=bool
        """
        targets = np.asarray(targets, dtype=np.int64)
        return -self.log_probs[targets], targets == self.top_id


def _bootstrap_ratio_diff(num_a: np.ndarray, num_b: np.ndarray, den: np.ndarray, n_boot: int,
                          seed: int) -> np.ndarray:
    """Bootstrap over rows of ``sum(num_a)/sum(den) - sum(num_b)/sum(den)``, shape=(n_boot,)."""
    rng = np.random.default_rng(seed)
    w = rng.multinomial(len(den), np.full(len(den), 1.0 / len(den)), size=n_boot)  # (n_boot, rows)
    d = np.maximum(w @ den, 1.0)
    return (w @ num_a - w @ num_b) / d


def learning_check(
    rows: dict[str, np.ndarray], margin: float = ACC_MARGIN, n_boot: int = 2000, seed: int = 0,
    step: int | None = None,
) -> dict[str, Any]:
    """Verdict of a validation pass: does the model beat the k-mer baseline by ``margin``?

    Parameters
    ----------
    rows : dict of str to numpy.ndarray, each shape=(n_rows,)
        Per validation sequence: ``n_masked``, ``correct``, ``loss_sum`` (the model's) and
        ``baseline_correct``, ``baseline_loss_sum`` (see :func:`dnalm.pretrain.mlm.evaluate`).
    margin : float, optional
        Required lower 95% bound of the accuracy margin. Default is :data:`ACC_MARGIN`.
    n_boot : int, optional
        Bootstrap resamples of validation sequences. Default is 2000.
    seed : int, optional
        Bootstrap seed. Default is 0.
    step : int, optional
        Training step, recorded in the result. Default is None.

    Returns
    -------
    dict
        ``verdict`` (``learns`` / ``does_not_beat_baseline``), ``reason``, ``step``,
        ``val_mlm_loss``, ``val_mlm_acc``, ``kmer_baseline_loss``, ``kmer_baseline_acc``,
        ``acc_margin`` (model - baseline accuracy) with ``acc_margin_ci95``, ``loss_margin``
        (baseline - model loss, nats) with ``loss_margin_ci95``, ``val_mlm_acc_ci95``,
        ``n_tokens`` (masked positions), ``n_sequences`` and ``rule``.
    """
    n = np.asarray(rows["n_masked"], dtype=np.float64)
    if n.ndim != 1 or n.sum() <= 0:
        raise ValueError("`rows`: no masked validation tokens to judge the model on")
    cols = {key: np.asarray(rows[key], dtype=np.float64)
            for key in ("correct", "loss_sum", "baseline_correct", "baseline_loss_sum")}
    for key, v in cols.items():
        if v.shape != n.shape:
            raise ValueError(f"`rows[{key!r}]` has shape {v.shape}, expected {n.shape}")
    tot = n.sum()
    acc, base_acc = cols["correct"].sum() / tot, cols["baseline_correct"].sum() / tot
    loss, base_loss = cols["loss_sum"].sum() / tot, cols["baseline_loss_sum"].sum() / tot
    zero = np.zeros_like(n)
    acc_diff = _bootstrap_ratio_diff(cols["correct"], cols["baseline_correct"], n, n_boot, seed)
    loss_diff = _bootstrap_ratio_diff(cols["baseline_loss_sum"], cols["loss_sum"], n, n_boot, seed)
    acc_boot = _bootstrap_ratio_diff(cols["correct"], zero, n, n_boot, seed)

    def ci(x: np.ndarray) -> list[float]:
        return [float(np.quantile(x, 0.025)), float(np.quantile(x, 0.975))]

    acc_ci, loss_ci = ci(acc_diff), ci(loss_diff)
    learns = acc_ci[0] >= margin and loss < base_loss
    rule = (f"learns when the lower 95% bound of (val MLM accuracy - k-mer baseline accuracy) "
            f">= {margin:g} and val MLM loss < baseline loss")
    if learns:
        reason = (f"val MLM accuracy {acc:.4f} vs k-mer baseline {base_acc:.4f} (margin "
                  f"{acc - base_acc:.4f}, 95% CI {acc_ci[0]:.4f}..{acc_ci[1]:.4f}); loss "
                  f"{loss:.3f} vs {base_loss:.3f} nats")
    else:
        reason = (f"the LM does not beat the k-mer frequency baseline by {margin:g}: val MLM "
                  f"accuracy {acc:.4f} vs {base_acc:.4f} (margin 95% CI {acc_ci[0]:.4f}.."
                  f"{acc_ci[1]:.4f}), loss {loss:.3f} vs {base_loss:.3f} nats; results that use "
                  "this LM show little of what pretraining can add")
    return {
        "verdict": "learns" if learns else "does_not_beat_baseline",
        "reason": reason,
        "step": step,
        "val_mlm_loss": float(loss),
        "val_mlm_acc": float(acc),
        "kmer_baseline_loss": float(base_loss),
        "kmer_baseline_acc": float(base_acc),
        "acc_margin": float(acc - base_acc),
        "loss_margin": float(base_loss - loss),
        "n_tokens": int(tot),
        "n_sequences": int(len(n)),
        "required_acc_margin": float(margin),
        "ci95": {"val_mlm_acc": ci(acc_boot), "acc_margin": acc_ci, "loss_margin": loss_ci,
                 "method": f"bootstrap over validation sequences, {n_boot} resamples, seed {seed}"},
        "rule": rule,
    }


def check_summary(check: dict[str, Any] | None) -> str:
    """One line for logs: the verdict and its numbers, or ``unchecked``."""
    if check is None:
        return "unchecked (no learning check: an imported or older language model)"
    return f"{check.get('verdict')}: {check.get('reason', '')}"


def read_learning_check(model_dir: str | Path) -> dict[str, Any] | None:
    """The learning verdict of a language-model directory, or None when it has none.

    Imported ``pretrained:`` models and models trained before the check have no
    ``learning_check.json``; callers report them as unchecked.

    Parameters
    ----------
    model_dir : str or Path
        A model directory (``results/pretrain/<lm>/model``).

    Returns
    -------
    dict or None
        The content of ``learning_check.json`` (see :func:`learning_check`).

    Raises
    ------
    ValueError
        If the file exists but is not a JSON object with a known ``verdict``.
    """
    path = Path(model_dir) / CHECK_FILE
    if not path.is_file():
        return None
    try:
        check = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
    if not isinstance(check, dict) or check.get("verdict") not in VERDICTS:
        raise ValueError(f"{path}:1: `verdict` must be one of {VERDICTS}, got "
                         f"{check.get('verdict') if isinstance(check, dict) else check!r}")
    return check
