"""Integrated gradients (IG) on the input embeddings, from dinucleotide-shuffled references.

For an input ``x`` and reference ``r`` (both in the model's input space), IG along the straight
path is ``(x - r) * mean_j grad f(r + a_j (x - r))`` with the midpoint rule
``a_j = (j + 0.5) / steps``; summed over all inputs it approaches ``f(x) - f(r)``
(completeness). ``f`` is the positive-class log-odds. Each window is explained against
``n_shuffles`` dinucleotide shuffles of itself and the results are averaged.

One-hot models (:mod:`dnalm.baselines`) are attributed on the one-hot input. The gradient
``g`` is first mean-normalised over the four bases at each position (this removes the
component that leaves the one-hot simplex and does not change IG, since ``x - r`` sums to 0
over bases); the hypothetical contribution of base ``b`` at ``l`` is ``g[l, b] - g[l, r_l]``, so
``hyp[l, x_l]`` is exactly the IG attribution of the base that is there.

k-mer BERT models are attributed on the word embeddings of their tokens (position and
token-type embeddings are added inside the model and are the same for ``x`` and ``r``). Token
``t``'s IG is spread evenly over its k bases (``[CLS]``/``[SEP]`` get exactly 0, being equal in
``x`` and ``r``): inside the window this is the mean over covering k-mers that
:func:`dnalm.attention.scores.token_to_nucleotide` gives attention, and unlike that mean it keeps
the sum (completeness) at the window ends. The hypothetical contribution of base ``b`` at ``l``
replaces ``l`` by ``b`` in every covering k-mer: ``sum_t (E[kmer_t with b at l] - E[r_t]) · g_t / k``,
which for the base that is there is the IG share above.

GPT classifiers (non-overlapping 6-mer tokens) are attributed on their token embeddings the same
way, each token's IG split evenly over its bases (:mod:`._gpt`).

The reference never holds the same base at every position, so windows with N are handled
approximately: N positions get 0 and completeness holds only for windows without N.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from dnalm.attribution._encode import (
    kmer_digit_weight,
    onehot_nl4,
    seqs_to_codes,
    to_kmer_code,
    token_ids,
)
from dnalm.attribution._gpt import gpt_hyp, gpt_token_ids
from dnalm.attribution._score import Scorer, batched_scores, evaluating, prepare, to_attribution
from dnalm.attribution.reference import shuffled_references
from dnalm.attribution.result import Attribution
from dnalm.kmers import UNK_ID

__all__ = ["integrated_gradients"]

_KMER_CODE_OF_BASE = to_kmer_code(np.arange(4, dtype=np.uint8))  # ACGT -> kmers codes


def _ref_codes(seqs, references, n_shuffles, seed, L) -> np.ndarray:
    if references is None:
        references = shuffled_references(seqs, n_shuffles, seed)
    if len(references) != len(seqs):
        raise ValueError(f"`references` has {len(references)} rows, `seqs` has {len(seqs)}")
    counts = {len(r) for r in references}
    if len(counts) != 1 or 0 in counts:
        raise ValueError("`references` must give every row the same positive number of references")
    S = counts.pop()
    flat = seqs_to_codes([s for r in references for s in r], "references")
    if flat.shape[1] != L:
        raise ValueError(f"`references` have length {flat.shape[1]}, `seqs` {L}")
    return flat.reshape(len(seqs), S, L)


def _avg_grads(scorer: Scorer, codes, refs, pairs, steps, batch_size) -> torch.Tensor:
    """Mean path gradient of each (row, reference) pair: shape (P,) + input shape, float64."""
    i, s = pairs
    x = scorer.inputs(codes[i])
    r = scorer.inputs(refs[i, s])
    n_rows = len(i) * steps
    gsum = torch.zeros(x.shape, dtype=torch.float64, device=x.device)
    alpha_all = (torch.arange(steps, dtype=torch.float32, device=x.device) + 0.5) / steps
    for a in range(0, n_rows, batch_size):
        rows = torch.arange(a, min(a + batch_size, n_rows), device=x.device)
        p, j = rows // steps, rows % steps
        shape = (-1,) + (1,) * (x.dim() - 1)
        alpha = alpha_all[j].view(shape)
        xi = (r[p] + alpha * (x[p] - r[p])).requires_grad_(True)
        (g,) = torch.autograd.grad(scorer.log_odds(xi).sum(), xi)
        gsum.index_add_(0, p, g.double())
    return gsum / steps


def _onehot_hyp(g: torch.Tensor, ref_codes: np.ndarray) -> np.ndarray:
    """(P, 4, L) mean gradients -> (P, L, 4) hypothetical contributions against the references."""
    g = g.transpose(1, 2).cpu().numpy()  # (P, L, 4)
    g = g - g.mean(axis=2, keepdims=True)
    ref_oh = onehot_nl4(ref_codes).astype(np.float64)
    return g - (g * ref_oh).sum(axis=2, keepdims=True)


def _kmer_hyp(scorer: Scorer, g: torch.Tensor, codes: np.ndarray, ref_codes: np.ndarray) -> np.ndarray:
    """(P, T, H) mean gradients -> (P, L, 4) hypothetical contributions spread from tokens."""
    k = scorer.k
    E = scorer.word_embeddings().weight.detach().double()
    P, L = codes.shape
    m = L - k + 1
    ids = torch.from_numpy(token_ids(codes, k)[:, 1:-1]).to(E.device)  # (P, m)
    rids = torch.from_numpy(token_ids(ref_codes, k)[:, 1:-1]).to(E.device)
    gt = g[:, 1:-1]  # (P, m, H); [CLS]/[SEP] are identical in x and r
    ref_part = (E[rids] * gt).sum(-1)  # (P, m)
    kc = torch.from_numpy(to_kmer_code(codes)).to(E.device)  # (P, L), N = 4
    w = torch.from_numpy(kmer_digit_weight(k)).to(E.device)  # (k,)
    win = torch.stack([kc[:, o : o + m] for o in range(k)], dim=2)  # (P, m, k) base o of token t
    newc = torch.from_numpy(_KMER_CODE_OF_BASE).to(E.device)  # (4,)
    alt = ids[:, :, None, None] + (newc[None, None, None, :] - win[..., None]) * w[None, None, :, None]
    unk = ids == UNK_ID
    alt = torch.where(unk[:, :, None, None], torch.zeros_like(alt), alt)
    contrib = (torch.einsum("pmkbh,pmh->pmkb", E[alt], gt) - ref_part[:, :, None, None]) / k
    tok = ((E[ids] * gt).sum(-1) - ref_part) / k  # (P, m): each token's IG share per base
    contrib = torch.where(unk[:, :, None, None], tok[:, :, None, None].expand_as(contrib), contrib)
    contrib = contrib.cpu().numpy()
    hyp = np.zeros((P, L, 4), dtype=np.float64)
    for o in range(k):
        hyp[:, o : o + m, :] += contrib[:, :, o, :]
    return hyp


def _gpt_pair_hyp(scorer: Scorer, g: torch.Tensor, codes: np.ndarray, ref_codes: np.ndarray) -> np.ndarray:
    """(P, T, H) mean gradients of a GPT classifier -> (P, L, 4) (:func:`._gpt.gpt_hyp`)."""
    E = scorer.word_embeddings().weight.detach().double()
    ids = gpt_token_ids(scorer.model, codes)[0]
    ref_ids = gpt_token_ids(scorer.model, ref_codes)[0]
    return gpt_hyp(E, g, codes, ids, ref_ids, scorer.layout)


def integrated_gradients(
    model: torch.nn.Module,
    seqs: Sequence[str],
    k: int | None,
    steps: int = 32,
    n_shuffles: int = 3,
    seed: int = 1,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    positive_class: int = 1,
    references: Sequence[Sequence[str]] | None = None,
    verbose: bool = False,
) -> Attribution:
    """Integrated-gradients attribution maps of equal-length windows.

    Parameters
    ----------
    model : transformers.BertForSequenceClassification, dnalm.baselines.OneHotClassifier or dnalm.gpt.classify.GptClassifier
    seqs : sequence of str, length n
        Windows of one length L (ACGTN, any case) in the model's orientation.
    k : int or None
        k-mer size of a BERT model; None (or anything) for one-hot and GPT models.
    steps : int, optional
        Midpoint-rule points along each path. Default is 32.
    n_shuffles : int, optional
        Dinucleotide-shuffled references per window (averaged). Default is 3.
    seed : int, optional
        Seed of the shuffles (:func:`dnalm.attribution.reference.shuffled_references`).
        Default is 1.
    batch_size : int, optional
        Path points per forward/backward pass. Default is 64. Results do not depend on it.
    device : str or torch.device, optional
        Default is cuda if available, else cpu. The model's device and mode are restored.
    positive_class : int, optional
        Default is 1.
    references : sequence of sequence of str, optional
        Explicit references, shape (n, S), instead of shuffles.
    verbose : bool, optional
        Default is False.

    Returns
    -------
    Attribution
        ``hyp`` (see the module notes), ``attr = (hyp * onehot).sum(-1)``, ``score`` and
        ``prob`` of the windows, ``ref_score`` the mean log-odds of their references.

    Notes
    -----
    Cost: ``n * n_shuffles * steps`` forward and backward rows.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"`steps` must be a positive integer, got {steps!r}")
    seqs = list(seqs)
    scorer, codes, batch_size = prepare(model, seqs, k, batch_size, positive_class, device)
    n, L = codes.shape
    refs = _ref_codes(seqs, references, n_shuffles, seed, L)
    S = refs.shape[1]
    pi, ps = np.divmod(np.arange(n * S), S)
    block = max(1, -(-batch_size // steps))  # pairs per block: at least one full batch of rows
    hyp = np.zeros((n, L, 4), dtype=np.float64)
    with evaluating(model, scorer.device):
        for a in tqdm(range(0, n * S, block), disable=not verbose, desc="ig"):
            i, s = pi[a : a + block], ps[a : a + block]
            g = _avg_grads(scorer, codes, refs, (i, s), steps, batch_size)
            if scorer.kind == "onehot":
                h = _onehot_hyp(g, refs[i, s])
            elif scorer.kind == "gpt":
                h = _gpt_pair_hyp(scorer, g, codes[i], refs[i, s])
            else:
                h = _kmer_hyp(scorer, g, codes[i], refs[i, s])
            np.add.at(hyp, i, h / S)
        score = batched_scores(scorer, n, lambda sl: codes[sl], batch_size)
        flat = refs.reshape(n * S, L)
        rs = batched_scores(scorer, n * S, lambda sl: flat[sl], batch_size)
    return to_attribution(hyp, codes, score, rs.reshape(n, S).mean(axis=1))
