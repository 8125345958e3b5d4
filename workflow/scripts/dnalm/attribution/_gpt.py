"""GPT classifiers (:class:`dnalm.gpt.classify.GptClassifier`) as attribution inputs.

A GPT classifier reads a window as non-overlapping 6-mer tokens inside its classification
template (``<R> t_1 ... t_n <=> <M> <B>``, the short tail kept as one token) and predicts with
the label-token logits at the query position. Attribution goes through the classifier's own
:meth:`~dnalm.gpt.classify.GptClassifier.encode` and ``forward``: the token-embedding output is
replaced by the (differentiable) input of integrated gradients with a forward hook, so ISM and IG
explain exactly the logits the classifier predicts with, whatever its head does. ISM takes a
faster route (:func:`gpt_ism_logits`: each window's causal prefix is computed once and reused by
its mutants) after checking on the first windows that backbone + head give the classifier's own
logits, and falls back to the full forward pass when they do not.

Token to base: every base lies in exactly one token, so token ``t``'s IG is split evenly over
its ``len_t`` bases (6, or the tail's length). This is the k-mer BERT scheme of
:mod:`dnalm.attribution.ig` with one covering token per base (BERT's overlapping k-mers give k),
and it keeps completeness. The hypothetical contribution of base ``b`` at ``l`` replaces ``l`` by
``b`` in its token: ``(E[t with b at l] - E[r_t]) · g_t / len_t``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from dnalm.attribution._encode import BASES

__all__ = ["GptLayout", "gpt_hyp", "gpt_ism_logits", "gpt_layout", "gpt_logits",
           "gpt_token_ids"]

_CHARS = np.frombuffer(b"ACGTN", dtype=np.uint8)  # our base codes -> ASCII


class GptLayout(NamedTuple):
    """Where a window's tokens sit in the classifier's input row (windows of ``length`` bp).

    Attributes
    ----------
    length : int
        Window length in bp.
    ids : numpy.ndarray, shape=(T,), dtype=int64
        The input row of an all-``A`` window (the template positions are what matters).
    query_pos : int
        Position the classifier reads its class logits at.
    first : int
        Position of the window's first token.
    n_tokens : int
        ``ceil(length / 6)``.
    """

    length: int
    ids: np.ndarray
    query_pos: int
    first: int
    n_tokens: int


def codes_to_seqs(codes: np.ndarray) -> list[str]:
    """Base-code rows (A=0, C=1, G=2, T=3, N=4) as strings."""
    raw = _CHARS[codes]
    return [r.tobytes().decode("ascii") for r in raw]


def gpt_token_ids(model: torch.nn.Module, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The classifier's own input rows of code rows: ``input_ids`` (B, T) and ``query_pos`` (B,)."""
    enc = model.encode(codes_to_seqs(codes))
    return enc["input_ids"].numpy(), enc["query_pos"].numpy()


def gpt_layout(model: torch.nn.Module, length: int) -> GptLayout:
    """Find the window's tokens in the classifier's input row and check they are 6-mers.

    Two windows that differ at every base (all ``A``, all ``C``) are encoded; the positions that
    differ are the window's tokens. They must be one contiguous run of ``ceil(length / 6)``
    positions holding :meth:`dnalm.gpt.tokenizer.GptTokenizer.encode` of the window.

    Raises
    ------
    ValueError
        When ``length`` bp do not fit the model's positions, or the input row does not hold the
        window's 6-mer tokens as one run (a classifier template this module does not know).
    """
    from dnalm.gpt.tokenizer import GptTokenizer, K

    max_bases = int(model.max_bases)
    if length > max_bases:
        raise ValueError(f"{length} bp windows need {-(-length // K)} tokens plus the template, more "
                         f"than the GPT's {model.max_positions} positions (at most {max_bases} bp)")
    ids, q = gpt_token_ids(model, np.array([[0] * length, [1] * length], dtype=np.uint8))
    diff = np.flatnonzero(ids[0] != ids[1])
    n_tok = -(-length // K)
    first = int(diff[0]) if diff.size else -1
    ok = (diff.size == n_tok and np.array_equal(diff, np.arange(first, first + n_tok))
          and np.array_equal(ids[0, first : first + n_tok], GptTokenizer.encode("A" * length))
          and q[0] == q[1])  # fmt: skip
    if not ok:
        raise ValueError(f"the {type(model).__name__}'s input row does not hold a {length} bp window "
                         f"as {n_tok} consecutive non-overlapping {K}-mer tokens; attribution cannot "
                         "map its token embeddings back to bases")
    return GptLayout(int(length), ids[0].astype(np.int64), int(q[0]), first, n_tok)


def gpt_logits(model: torch.nn.Module, x: torch.Tensor, layout: GptLayout) -> torch.Tensor:
    """Class logits (B, n_classes) of token embeddings ``x`` (B, T, H) through the classifier's forward.

    The classifier is called on the layout's template row; a forward hook on its token embedding
    returns ``x`` instead of the looked-up embeddings (position embeddings are added after it).
    """
    B, T = x.shape[:2]
    if T != layout.ids.shape[0]:
        raise ValueError(f"inputs have {T} positions, the {layout.length} bp layout {layout.ids.shape[0]}")
    ids = torch.from_numpy(layout.ids).to(x.device).expand(B, T)
    q = torch.full((B,), layout.query_pos, dtype=torch.long, device=x.device)
    wte = model.gpt.transformer.get_input_embeddings()
    handle = wte.register_forward_hook(lambda _mod, _inp, _out: x)
    try:
        return model(ids, q)
    finally:
        handle.remove()


#: NAGCT code (the GPT tokenizer's digits: N=0, A=1, G=2, C=3, T=4) of our codes A, C, G, T, N.
_NAGCT = np.array([1, 3, 2, 4, 0], dtype=np.int64)


def gpt_hyp(E: torch.Tensor, g: torch.Tensor, codes: np.ndarray, ids: np.ndarray, ref_ids: np.ndarray,
            layout: GptLayout) -> np.ndarray:
    """Mean path gradients on the token embeddings -> hypothetical contributions per base.

    Parameters
    ----------
    E : torch.Tensor, shape=(V, H)
        The token-embedding matrix (float64).
    g : torch.Tensor, shape=(P, T, H)
        Mean IG path gradient of each (window, reference) pair.
    codes : numpy.ndarray, shape=(P, L), dtype=uint8
        The windows (A=0, C=1, G=2, T=3, N=4).
    ids, ref_ids : numpy.ndarray, shape=(P, T), dtype=int64
        Input rows of the windows and of their references.
    layout : GptLayout

    Returns
    -------
    numpy.ndarray, shape=(P, L, 4), dtype=float64
        ``hyp[p, l, b] = (E[token of l with b at l] - E[reference token]) · g_token / len_token``.
    """
    from dnalm.gpt.tokenizer import K

    P, L = codes.shape
    sl = slice(layout.first, layout.first + layout.n_tokens)
    dev = E.device
    gt = g[:, sl].double()  # (P, n, H); template positions are equal in x and r
    x_ids = torch.from_numpy(ids[:, sl]).to(dev)
    r_ids = torch.from_numpy(ref_ids[:, sl]).to(dev)
    ref_part = (E[r_ids] * gt).sum(-1)  # (P, n)
    pos = np.arange(L)
    tok = pos // K  # token of each base
    tok_len = np.minimum(K, L - tok * K)  # 6, or the tail's length
    weight = 5 ** (tok_len - 1 - pos % K)  # place value of the base in its token id
    cur = torch.from_numpy(_NAGCT[codes]).to(dev)  # (P, L)
    new = torch.from_numpy(_NAGCT[np.arange(len(BASES))]).to(dev)  # (4,)
    t = torch.from_numpy(tok).to(dev)
    w = torch.from_numpy(weight).to(dev)
    alt = x_ids[:, t, None] + (new[None, None, :] - cur[:, :, None]) * w[None, :, None]  # (P, L, 4)
    dots = torch.einsum("plbh,plh->plb", E[alt], gt[:, t])
    hyp = (dots - ref_part[:, t, None]) / torch.from_numpy(tok_len).to(dev)[None, :, None]
    return hyp.cpu().numpy()


def _head_logits(model: torch.nn.Module, hq: torch.Tensor) -> torch.Tensor:
    """The classifier's head on hidden states at the query (``GptClassifier.forward`` after the backbone)."""
    return model.label_head(model.gpt.lm_head[:-1](hq))


def gpt_ism_logits(model: torch.nn.Module, codes: np.ndarray, jobs: tuple[np.ndarray, np.ndarray, np.ndarray],
                   layout: GptLayout, batch_size: int) -> np.ndarray | None:
    """Class logits of every ISM job, reusing each window's causal prefix (keys and values).

    A causal model's states before the mutated token do not change, so every window is run once
    with its key/value cache and each mutant runs only from its token on (on the demo's 101 bp
    windows 12 of 21 positions on average). Windows are taken ``batch_size // (3 * 6)`` at a time,
    so a forward pass holds about ``batch_size`` mutants.

    Parameters
    ----------
    model : dnalm.gpt.classify.GptClassifier
        In eval mode.
    codes : numpy.ndarray, shape=(n, L), dtype=uint8
    jobs : tuple of numpy.ndarray
        :func:`dnalm.attribution.saturation.mutant_jobs` of ``codes`` (the first n unmutated).
    layout : GptLayout
    batch_size : int

    Returns
    -------
    numpy.ndarray, shape=(len(jobs[0]), n_classes), dtype=float32, or None
        None when the classifier's own forward pass disagrees with backbone + head on the first
        windows (a classifier whose head this module does not know): score through the full
        forward pass instead.
    """
    from transformers import DynamicCache

    from dnalm.gpt.tokenizer import K

    row, pos, base = jobs
    n, L = codes.shape
    T, q, first = layout.ids.shape[0], layout.query_pos, layout.first
    dev = next(model.parameters()).device
    ids = gpt_token_ids(model, codes)[0]
    out = np.empty((len(row), int(model.n_classes)), dtype=np.float32)
    mut = np.flatnonzero(pos >= 0)
    tok = pos[mut] // K
    tok_len = np.minimum(K, L - tok * K)
    new_id = ids[row[mut], first + tok] + (_NAGCT[base[mut]] - _NAGCT[codes[row[mut], pos[mut]]]) * (
        5 ** (tok_len - 1 - pos[mut] % K))
    block = max(1, batch_size // (3 * K))
    backbone = model.gpt.transformer
    with torch.no_grad():
        for a in range(0, n, block):
            b = min(a + block, n)
            x = torch.from_numpy(ids[a:b]).to(dev)
            o = backbone(input_ids=x, use_cache=True)
            z = _head_logits(model, o.last_hidden_state[:, q])
            if a == 0:
                own = model(x, torch.full((b - a,), q, dtype=torch.long, device=dev))
                if not torch.allclose(own, z, rtol=1e-4, atol=1e-4):
                    return None
            out[a:b] = z.float().cpu().numpy()
            kv = [(layer.keys, layer.values) for layer in o.past_key_values.layers]
            in_block = (row[mut] >= a) & (row[mut] < b)
            for t in np.unique(tok[in_block]):
                sel = np.flatnonzero(in_block & (tok == t))
                p = first + int(t)
                r = torch.from_numpy(row[mut][sel] - a).to(dev)
                suffix = torch.from_numpy(ids[row[mut][sel], p:]).to(dev)
                suffix[:, 0] = torch.from_numpy(new_id[sel]).to(dev)
                cache = DynamicCache(ddp_cache_data=[(k[r, :, :p], v[r, :, :p]) for k, v in kv])
                pid = torch.arange(p, T, device=dev).expand(len(sel), -1)
                h = backbone(input_ids=suffix, past_key_values=cache, position_ids=pid,
                             use_cache=True).last_hidden_state
                out[mut[sel]] = _head_logits(model, h[:, q - p]).float().cpu().numpy()
    return out
