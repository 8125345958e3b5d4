"""Validation of a GPT pretraining run and its learning verdict (``learning_check.json``).

Per objective, on held-out corpus pieces (fixed batches and a fixed random half reversed):

- next token: validation CE against the unigram 6-mer frequency baseline of the training split
  (add-one smoothed), scored on the same target tokens; the comparison and its bootstrap CIs are
  :func:`dnalm.pretrain.check.learning_check`'s (resampling validation pieces);
- GC content: r² of the regression head on the GC fraction (1 - MSE / variance);
- order: accuracy of "reversed or not" (the larger of the two answer-token logits), with a
  bootstrap CI over pieces.

Verdict ``learns`` when the next-token loss margin's lower 95% bound is above 0, GC r² exceeds
:data:`GC_R2_MIN` and the order accuracy's lower 95% bound exceeds 0.5; otherwise
``does_not_beat_baseline``. The reason names each objective's numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from dnalm.gpt.data import GptCorpus, make_rows
from dnalm.gpt.objectives import GptLoss
from dnalm.pretrain.check import learning_check
from dnalm.pretrain.runtime import validation_batches

__all__ = ["GC_R2_MIN", "UnigramBaseline", "ValidationSet", "evaluate", "gpt_learning_check"]

#: GC regression r² on held-out pieces above which the GC objective counts as learned.
GC_R2_MIN = 0.5


class UnigramBaseline:
    """Context-free next-token predictor: add-one smoothed token frequencies of the training split.

    Parameters
    ----------
    counts : numpy.ndarray, shape=(V,)
        Token counts (:meth:`dnalm.gpt.data.GptCorpus.token_counts`); only k-mer ids (>= 34)
        get probability.
    """

    def __init__(self, counts: np.ndarray) -> None:
        from dnalm.gpt.tokenizer import N_RESERVED

        c = np.asarray(counts, dtype=np.float64).copy()
        c[N_RESERVED:] += 1.0
        c[:N_RESERVED] = 0.0
        with np.errstate(divide="ignore"):
            self.log_probs = np.log(c / c.sum())
        self.top_id = int(np.argmax(c))

    def score(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-target loss (nats) and hit (target is the most frequent token)."""
        t = np.asarray(targets, dtype=np.int64)
        return -self.log_probs[t], t == self.top_id


class ValidationSet:
    """Fixed validation batches of a corpus: piece indices and which pieces are reversed.

    Parameters
    ----------
    corpus : GptCorpus
    pieces : numpy.ndarray
        Validation piece indices.
    batch_size, n_batches, seed, pool_batches : int
    """

    def __init__(self, corpus: GptCorpus, pieces: np.ndarray, batch_size: int, n_batches: int,
                 seed: int, pool_batches: int = 50) -> None:
        self.batches = validation_batches(corpus.n_tokens, pieces, batch_size, n_batches, seed, pool_batches)
        rng = np.random.default_rng([int(seed), 17])
        self.reverse = {int(p): bool(r) for p, r in zip(pieces, rng.random(len(pieces)) < 0.5, strict=True)}

    def __bool__(self) -> bool:
        return bool(self.batches)


@torch.no_grad()
def evaluate(loss_mod: GptLoss, corpus: GptCorpus, val: ValidationSet, gc_mean: float, gc_unit: float,
             device: torch.device, baseline: UnigramBaseline | None = None
             ) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Validation metrics and per-piece values.

    Returns
    -------
    metrics : dict
        ``loss`` (total), ``nt_loss``, ``nt_acc``, ``gc_mse``, ``gc_r2``, ``order_loss``,
        ``order_acc`` and, with a baseline, ``baseline_nt_loss``, ``baseline_nt_acc``.
    rows : dict of str to numpy.ndarray, shape=(n_pieces,) each
        ``n_masked``, ``correct``, ``loss_sum``, ``baseline_correct``, ``baseline_loss_sum``
        (next token, per piece; the names of :func:`dnalm.pretrain.check.learning_check`),
        ``gc_target``, ``gc_pred``, ``reversed``, ``order_logit``, ``order_loss``.
    """
    was = loss_mod.training
    loss_mod.eval()
    keys = ("n_masked", "correct", "loss_sum", "baseline_correct", "baseline_loss_sum", "gc_target",
            "gc_pred", "reversed", "order_logit", "order_loss")
    acc: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    for pieces in val.batches:
        codes, lens = corpus.collate(pieces)
        rev = np.array([val.reverse[int(p)] for p in pieces])
        rows = make_rows(codes, lens, rev, gc_mean, gc_unit)
        out = loss_mod(*GptLoss.inputs(rows.to(device)))
        acc["n_masked"].append(out["nt_n_rows"].cpu().numpy())
        acc["correct"].append(out["nt_correct_rows"].cpu().numpy())
        acc["loss_sum"].append(out["nt_loss_rows"].cpu().numpy())
        nt = rows.nt_targets.numpy()
        b_loss = np.zeros(len(pieces))
        b_hit = np.zeros(len(pieces))
        if baseline is not None:
            for i in range(len(pieces)):
                t = nt[i][nt[i] != -100]
                lo, hit = baseline.score(t)
                b_loss[i], b_hit[i] = lo.sum(), hit.sum()
        acc["baseline_loss_sum"].append(b_loss)
        acc["baseline_correct"].append(b_hit)
        acc["gc_target"].append(rows.gc_target.numpy().astype(np.float64))
        acc["gc_pred"].append(out["gc_pred"].cpu().numpy().astype(np.float64))
        acc["reversed"].append(rev)
        acc["order_logit"].append(out["order_logit"].cpu().numpy())
        acc["order_loss"].append(out["order_loss_rows"].cpu().numpy())
    loss_mod.train(was)
    r = {k: np.concatenate(v) for k, v in acc.items()}
    n = max(r["n_masked"].sum(), 1.0)
    resid = ((r["gc_pred"] - r["gc_target"]) ** 2).mean()
    var = r["gc_target"].var()
    m = {
        "nt_loss": float(r["loss_sum"].sum() / n),
        "nt_acc": float(r["correct"].sum() / n),
        "gc_mse": float(resid),
        "gc_r2": float(1.0 - resid / var) if var > 0 else float("nan"),
        "order_loss": float(r["order_loss"].mean()),
        "order_acc": float(((r["order_logit"] > 0) == r["reversed"]).mean()),
    }
    m["loss"] = m["nt_loss"] + m["order_loss"] + loss_mod.gc_weight * m["gc_mse"]
    if baseline is not None:
        m["baseline_nt_loss"] = float(r["baseline_loss_sum"].sum() / n)
        m["baseline_nt_acc"] = float(r["baseline_correct"].sum() / n)
    return m, r


def _boot_mean_ci(x: np.ndarray, n_boot: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    w = rng.multinomial(len(x), np.full(len(x), 1.0 / len(x)), size=n_boot)
    means = w @ x / len(x)
    return [float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))]


def gpt_learning_check(rows: dict[str, np.ndarray], step: int | None = None, n_boot: int = 2000,
                       seed: int = 0) -> dict[str, Any]:
    """The verdict of a validation pass (see the module docstring).

    Parameters
    ----------
    rows : dict
        The per-piece values of :func:`evaluate` (run with a baseline).
    step : int, optional
    n_boot, seed : int, optional
        Bootstrap resamples and seed. Default is 2000 and 0.

    Returns
    -------
    dict
        ``verdict``, ``reason``, ``step``, ``rule`` and per objective ``next_token`` (the
        result of :func:`dnalm.pretrain.check.learning_check` on next-token targets: its
        ``val_mlm_*`` entries are next-token values), ``gc`` (``r2``, ``mse``, ``n``) and
        ``order`` (``accuracy``, ``ci95``, ``n``).
    """
    nt = learning_check({k: rows[k] for k in ("n_masked", "correct", "loss_sum", "baseline_correct",
                                              "baseline_loss_sum")},
                        margin=0.0, n_boot=n_boot, seed=seed, step=step)
    nt_ok = nt["ci95"]["loss_margin"][0] > 0
    t, p = rows["gc_target"], rows["gc_pred"]
    mse = float(((p - t) ** 2).mean())
    r2 = float(1 - mse / t.var()) if t.var() > 0 else float("nan")
    gc_ok = bool(r2 > GC_R2_MIN)
    hit = ((rows["order_logit"] > 0) == rows["reversed"]).astype(np.float64)
    acc, acc_ci = float(hit.mean()), _boot_mean_ci(hit, n_boot, seed)
    order_ok = acc_ci[0] > 0.5
    ok = nt_ok and gc_ok and order_ok
    reason = (f"next token: val loss {nt['val_mlm_loss']:.3f} vs unigram 6-mer baseline "
              f"{nt['kmer_baseline_loss']:.3f} nats (margin 95% CI {nt['ci95']['loss_margin'][0]:.3f}.."
              f"{nt['ci95']['loss_margin'][1]:.3f}, {nt['n_tokens']} tokens); GC r² {r2:.3f} "
              f"(n={len(t)} held-out pieces, needs > {GC_R2_MIN:g}); order accuracy {acc:.3f} "
              f"(95% CI {acc_ci[0]:.3f}..{acc_ci[1]:.3f}, n={len(hit)}, needs lower bound > 0.5)")
    failed = [name for name, good in (("next token", nt_ok), ("GC", gc_ok), ("order", order_ok)) if not good]
    if failed:
        reason = f"does not learn {', '.join(failed)}: " + reason
    return {
        "verdict": "learns" if ok else "does_not_beat_baseline",
        "reason": reason,
        "step": step,
        "rule": ("learns when the next-token val loss is below the unigram 6-mer baseline's (lower 95% "
                 f"bound of the margin > 0), GC r² > {GC_R2_MIN:g} and the lower 95% bound of order "
                 "accuracy > 0.5"),
        "next_token": nt,
        "gc": {"r2": r2, "mse": mse, "n": int(len(t)), "passes": gc_ok},
        "order": {"accuracy": acc, "ci95": acc_ci, "n": int(len(hit)), "passes": bool(order_ok)},
    }
