"""In-silico saturation mutagenesis (ISM) of fixed-length windows, batched over all mutants.

Every non-N position of every window is set to each of the other three bases. Mutants are
built as base-code matrices and re-encoded from scratch for the model (a k-mer model sees up
to k changed tokens per mutant; a one-hot model one changed column), then scored in batches of
``batch_size`` rows that mix windows freely. The hypothetical contribution of base ``b`` at
position ``l`` is the positive-class log-odds of the window with ``b`` there, minus the mean over
the four bases at ``l`` (the reference base included), so ``hyp`` sums to 0 over bases and
``attr = hyp[x]`` is how much the base that is there beats the average alternative.

GPT classifiers are causal, so a mutant's states before its token equal its window's: each window
runs once with its key/value cache and each mutant only from its token on
(:func:`._gpt.gpt_ism_logits`, about 40% less CPU time on the demo's 101 bp windows).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from dnalm.attribution._encode import N_CODE
from dnalm.attribution._gpt import gpt_ism_logits
from dnalm.attribution._score import batched_scores, evaluating, prepare, to_attribution
from dnalm.attribution.result import Attribution

__all__ = ["ism", "mutant_jobs"]


def mutant_jobs(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every window once unmutated, then every single-base substitution.

    Parameters
    ----------
    codes : numpy.ndarray, shape=(n, L), dtype=uint8
        Base codes A=0, C=1, G=2, T=3, N=4.

    Returns
    -------
    row, pos, base : numpy.ndarray, shape=(n + 3 * n_acgt,), dtype=int64
        Window, position and new base of each job; the first n jobs are the unmutated windows
        (``pos`` and ``base`` -1). N positions are not mutated.
    """
    n = codes.shape[0]
    i, at = np.nonzero(codes < N_CODE)
    cur = codes[i, at].astype(np.int64)
    alt = (cur[:, None] + np.arange(1, 4)[None, :]) % 4  # the three other bases
    row = np.concatenate([np.arange(n), np.repeat(i, 3)])
    pos = np.concatenate([np.full(n, -1), np.repeat(at, 3)])
    base = np.concatenate([np.full(n, -1), alt.ravel()])
    return row, pos, base


def _mutant_rows(codes: np.ndarray, jobs) -> Callable[[slice], np.ndarray]:
    """``rows(slice)`` for :func:`~dnalm.attribution._score.batched_scores`: the code rows of
    those jobs, each its window with the job's substitution (if any) applied."""
    row, pos, base = jobs

    def rows(sl: slice) -> np.ndarray:
        batch = codes[row[sl]]  # fancy indexing copies
        p, b = pos[sl], base[sl]
        m = np.flatnonzero(p >= 0)
        batch[m, p[m]] = b[m]
        return batch

    return rows


def ism(
    model: torch.nn.Module,
    seqs: Sequence[str],
    k: int | None,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    positive_class: int = 1,
    verbose: bool = False,
) -> Attribution:
    """Saturation-mutagenesis attribution maps of equal-length windows.

    Parameters
    ----------
    model : transformers.BertForSequenceClassification, dnalm.baselines.OneHotClassifier or dnalm.gpt.classify.GptClassifier
    seqs : sequence of str, length n
        Windows of one length L (ACGTN, any case) in the model's orientation.
    k : int or None
        k-mer size of a BERT model; None (or anything) for one-hot and GPT models.
    batch_size : int, optional
        Mutants per forward pass. Default is 256. Results do not depend on it.
    device : str or torch.device, optional
        Default is cuda if available, else cpu. The model's device and mode are restored.
    positive_class : int, optional
        Class whose log-odds is explained. Default is 1.
    verbose : bool, optional
        Progress bar. Default is False.

    Returns
    -------
    Attribution
        ``hyp[i, l, b]`` = log-odds with base b at l minus the mean over the 4 bases (0 at N
        positions); ``score`` the unmutated log-odds; ``ref_score`` None.

    Notes
    -----
    Cost: ``n * (3 L + 1)`` forward rows (N positions excepted).
    """
    scorer, codes, batch_size = prepare(model, seqs, k, batch_size, positive_class, device)
    n, L = codes.shape
    jobs = mutant_jobs(codes)
    with evaluating(model, scorer.device):
        logits = None
        if scorer.kind == "gpt":  # causal: reuse each window's prefix
            logits = gpt_ism_logits(model, codes, jobs, scorer.layout, batch_size)
        if logits is not None:
            scores = scorer.logits_to_log_odds(torch.from_numpy(logits)).double().numpy()
        else:
            scores = batched_scores(scorer, len(jobs[0]), _mutant_rows(codes, jobs), batch_size,
                                    verbose, "ism")  # fmt: skip
    ref = scores[:n]
    full = np.repeat(ref[:, None, None], L, axis=1).repeat(4, axis=2)
    row, pos, base = (a[n:] for a in jobs)
    full[row, pos, base] = scores[n:]
    return to_attribution(full - full.mean(axis=2, keepdims=True), codes, ref)
