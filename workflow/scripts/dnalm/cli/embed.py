"""``dnalm embed``: one embedding vector per FASTA record from a chosen BERT or GPT layer.

Outputs (both written atomically):

- ``OUT`` (``.npy``): float32 array of shape (n, hidden); row i is record i. Open it without
  reading it whole with ``numpy.load(OUT, mmap_mode="r")``.
- ``OUT`` with ``.npy`` replaced by ``.index.tsv``: ``row``, ``id``, ``length`` per record.

``--pool cls`` takes the [CLS] vector; ``--pool mean`` averages the k-mer token vectors of the
record (specials and padding left out). ``--layer`` indexes the hidden states as transformers
returns them: 0 is the embedding layer, 1..L the encoder layers, -1 (default) the last.
MODEL is a fine-tuned classifier directory or a language-model (pretrain) directory, BERT or
GPT. A GPT reads each record as the classification row ``<R> 6-mers <=> <M> <B>`` (causal
attention, non-overlapping 6-mers): ``cls`` is then the hidden state at the ``<B>`` query,
the position whose state a GPT classifier turns into class logits (and the pretraining order
task reads), and ``mean`` averages the 6-mer positions, each of which sees only the bases
before it. For a GPT language model ``mean`` is the better summary (its ``<B>`` was trained
only to tell reversed pieces).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from dnalm import atomic, kmers
from dnalm.cli._common import (
    CliError,
    LoadedModel,
    add_common,
    check_outputs,
    load_model,
    max_bp,
    read_fasta,
    setup,
    write_tsv,
)

__all__ = ["POOLS", "add_parser", "embed_into", "index_path", "run"]

POOLS = ("cls", "mean")


def add_parser(subparsers) -> None:
    """Register ``embed``."""
    p = subparsers.add_parser(
        "embed",
        help="[CLS] or mean-pooled embeddings of FASTA records (.npy + index TSV)",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="fine-tuned model or language-model directory")
    p.add_argument("--fasta", required=True, help="FASTA file (plain or gzip)")
    p.add_argument("--pool", choices=POOLS, default="cls",
                   help="cls: [CLS] (BERT) or <B> query (GPT) vector; mean: mean over the record's "
                   "k-mer tokens (default: cls)")
    p.add_argument(
        "--layer",
        type=int,
        default=-1,
        help="hidden-state index, 0 = embeddings (default: -1, the last)",
    )
    add_common(p, "output .npy (the index goes to <OUT without .npy>.index.tsv)")
    p.set_defaults(func=run)


def index_path(out: str | Path) -> Path:
    """``emb.npy`` -> ``emb.index.tsv``."""
    out = Path(out)
    stem = out.name[:-4] if out.name.endswith(".npy") else out.name
    return out.with_name(f"{stem}.index.tsv")


@torch.no_grad()
def embed_into(
    out: np.ndarray,
    lm: LoadedModel,
    seqs: list[str],
    pool: str = "cls",
    layer: int = -1,
    batch_size: int = 64,
    device=None,
    verbose: bool = False,
) -> np.ndarray:
    """Fill ``out`` with pooled hidden states of ``seqs``.

    Parameters
    ----------
    out : numpy.ndarray, shape=(n, hidden), dtype=float32
        Written in place (a memmap keeps memory flat).
    lm : LoadedModel
    seqs : list of str, length n
        Each fits one BERT or GPT pass (at most ``max_tokens`` tokens with specials).
    pool : {"cls", "mean"}, optional
        ``cls``: the [CLS] vector (a GPT: the ``<B>`` query's); ``mean``: the mean over the
        k-mer tokens. Default is "cls".
    layer : int, optional
        Index into the ``L + 1`` hidden states. Default is -1 (last layer).
    batch_size : int, optional
        Default is 64. Rows are grouped by length and padding is masked, so results do not
        depend on it.
    device : str or torch.device, optional
        Default is cuda if available, else cpu.
    verbose : bool, optional
        Progress bar. Default is False.

    Returns
    -------
    out : numpy.ndarray
    """
    from dnalm._compat import autocast, resolve_device

    if pool not in POOLS:
        raise ValueError(f"`pool` must be one of {POOLS}, got {pool!r}")
    net = lm.gpt if lm.is_gpt else lm.bert
    n_states = int(net.config.num_hidden_layers) + 1
    if not -n_states <= layer < n_states:
        raise CliError(
            f"--layer {layer}: this model has hidden states 0..{n_states - 1} (or -1..-{n_states})"
        )
    if lm.is_gpt:
        return _embed_gpt(out, net, seqs, pool, layer, batch_size, resolve_device(device), verbose)
    bert = net
    dev = resolve_device(device)
    was_training = bert.training
    bert.to(dev)
    bert.eval()
    order = np.argsort([len(s) for s in seqs], kind="stable")
    try:
        for i in tqdm(range(0, len(seqs), batch_size), disable=not verbose, desc="embed"):
            idx = order[i : i + batch_size]
            ids, mask = kmers.encode_batch([seqs[j] for j in idx], lm.k, max_tokens=lm.max_tokens)
            ids_t, mask_t = torch.from_numpy(ids).to(dev), torch.from_numpy(mask).to(dev)
            with autocast(dev):
                hs = bert(
                    input_ids=ids_t, attention_mask=mask_t, output_hidden_states=True
                ).hidden_states
            h = hs[layer].float()
            if pool == "cls":
                v = h[:, 0]
            else:
                tok = mask_t.clone()
                tok[:, 0] = 0
                tok[torch.arange(len(idx), device=dev), mask_t.sum(1) - 1] = 0  # [SEP]
                w = tok.unsqueeze(-1).to(h.dtype)
                v = (h * w).sum(1) / w.sum(1).clamp(min=1)
            out[idx] = v.cpu().numpy().astype(np.float32)
    finally:
        bert.train(was_training)
    return out


def _embed_gpt(out: np.ndarray, gpt, seqs: list[str], pool: str, layer: int, batch_size: int,
               dev: torch.device, verbose: bool) -> np.ndarray:
    """:func:`embed_into` for a :class:`dnalm.gpt.model.DnaGptModel` (classifier rows, causal).

    Rows are right-padded with ``<P>``; attention is causal, so padding never reaches a real
    position and results do not depend on the batch.
    """
    from dnalm._compat import autocast
    from dnalm.gpt.classify import N_TEMPLATE, gpt_rows

    was_training = gpt.training
    gpt.to(dev)
    gpt.eval()
    order = np.argsort([len(s) for s in seqs], kind="stable")
    n_pos = int(gpt.config.n_positions)
    try:
        for i in tqdm(range(0, len(seqs), batch_size), disable=not verbose, desc="embed"):
            idx = order[i : i + batch_size]
            ids, query = gpt_rows([seqs[j] for j in idx], n_pos)
            ids_t = torch.from_numpy(ids).to(dev)
            with autocast(dev):
                hs = gpt.transformer(input_ids=ids_t, output_hidden_states=True,
                                     use_cache=False).hidden_states  # fmt: skip
            h = hs[layer].float()
            q = torch.from_numpy(query).to(dev)
            if pool == "cls":  # the <B> query of "<R> 6-mers <=> <M> <B>"
                v = h[torch.arange(len(idx), device=dev), q]
            else:  # the 6-mers: positions 1..n, n = <B> position - (N_TEMPLATE - 1)
                pos = torch.arange(h.shape[1], device=dev)[None, :]
                w = ((pos >= 1) & (pos <= (q - (N_TEMPLATE - 1))[:, None])).unsqueeze(-1).to(h.dtype)
                v = (h * w).sum(1) / w.sum(1).clamp(min=1)
            out[idx] = v.cpu().numpy().astype(np.float32)
    finally:
        gpt.train(was_training)
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``dnalm embed``; returns the exit status."""
    from numpy.lib.format import open_memmap

    dev = setup(args)
    if not str(args.out).endswith(".npy"):
        raise CliError(f"-o {args.out}: the embeddings file must end in .npy")
    check_outputs([args.out, index_path(args.out)], args.out, [args.fasta])
    lm = load_model(args.model, allow_lm=True)
    records = read_fasta(args.fasta, min_len=1 if lm.is_gpt else lm.k)
    limit = max_bp(lm) if lm.is_gpt else lm.max_tokens - 2 + lm.k - 1  # one BERT/GPT pass
    for r in records:
        if len(r.seq) > limit:
            raise CliError(
                f"{args.fasta}:{r.line}: record {r.id!r} has {len(r.seq)} bases; embeddings take at "
                f"most {limit} (k={lm.k}, {lm.max_tokens} positions)"
            )
    hidden = int((lm.gpt if lm.is_gpt else lm.bert).config.hidden_size)
    index = pd.DataFrame(
        {
            "row": np.arange(len(records)),
            "id": [r.id for r in records],
            "length": [len(r.seq) for r in records],
        }
    )
    with atomic.atomic_path(args.out) as tmp:
        arr = open_memmap(tmp, mode="w+", dtype=np.float32, shape=(len(records), hidden))
        embed_into(arr, lm, [r.seq for r in records], args.pool, args.layer, args.batch_size, dev,
                   verbose=not args.quiet)  # fmt: skip
        arr.flush()
        del arr
        write_tsv(index, index_path(args.out))
    return 0
