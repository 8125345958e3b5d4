"""Batched class probabilities from a fine-tuned k-mer BERT classifier."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from dnalm import kmers
from dnalm._compat import autocast, resolve_device


def load_classifier(directory: str | Path, attn_implementation: str = "sdpa"):
    """Load ``BertForSequenceClassification`` and its k from a model directory.

    Returns
    -------
    model : transformers.BertForSequenceClassification (eval mode, CPU)
    k : int
    """
    from transformers import BertForSequenceClassification

    tok = kmers.load_tokenizer(directory)
    model = BertForSequenceClassification.from_pretrained(
        str(directory), attn_implementation=attn_implementation, use_safetensors=True
    )
    model.eval()
    return model, tok.k


@torch.no_grad()
def predict_proba(
    model: torch.nn.Module,
    seqs: Sequence[str],
    k: int,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    verbose: bool = False,
) -> np.ndarray:
    """Class probabilities for sequences.

    Parameters
    ----------
    model : transformers.BertForSequenceClassification
    seqs : sequence of str, length n
    k : int
    batch_size : int, optional
        Default is 64. Results do not depend on it (each row is padded independently and
        attention masks exclude padding).
    device : str or torch.device, optional
        Default is cuda if available, else cpu.
    verbose : bool, optional
        Progress bar. Default is False.

    Returns
    -------
    probs : numpy.ndarray, shape=(n, n_classes), dtype=float64
    """
    dev = resolve_device(device)
    model.to(dev)
    max_tokens = int(model.config.max_position_embeddings)
    out = []
    for i in tqdm(range(0, len(seqs), batch_size), disable=not verbose, desc="predict"):
        ids, mask = kmers.encode_batch(seqs[i : i + batch_size], k, max_tokens=max_tokens)
        with autocast(dev):
            logits = model(
                input_ids=torch.from_numpy(ids).to(dev),
                attention_mask=torch.from_numpy(mask).to(dev),
            ).logits
        out.append(torch.softmax(logits.float(), dim=-1).cpu().numpy().astype(np.float64))
    if not out:
        return np.zeros((0, int(model.config.num_labels)))
    return np.concatenate(out)
