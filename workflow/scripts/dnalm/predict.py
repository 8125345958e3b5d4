"""Batched class probabilities from a fine-tuned classifier.

Three model kinds are scored the same way: ``BertForSequenceClassification`` (k-mer tokens,
at most ``max_position_embeddings`` per sequence), :class:`dnalm.longseq.LongSeqClassifier`
(long inputs split into BERT pieces) and the one-hot baselines of :mod:`dnalm.baselines`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from dnalm import kmers
from dnalm._compat import autocast, resolve_device

__all__ = ["load_classifier", "predict_proba"]


def load_classifier(directory: str | Path, attn_implementation: str = "sdpa"):
    """Load a fine-tuned classifier and its k from a model directory.

    Parameters
    ----------
    directory : str or pathlib.Path
        ``results/finetune/{task}/{lm}/seed{s}/model``: either a
        ``BertForSequenceClassification.save_pretrained`` directory or a long-input
        classifier (``longseq.json``), each with k-mer tokenizer files.
    attn_implementation : str, optional
        Passed to ``from_pretrained`` (``"eager"`` when attention weights are needed).
        Default is "sdpa".

    Returns
    -------
    model : transformers.BertForSequenceClassification or dnalm.longseq.LongSeqClassifier
        In eval mode, on the CPU.
    k : int
    """
    from transformers import BertForSequenceClassification

    from dnalm.longseq import LongSeqClassifier

    tok = kmers.load_tokenizer(directory)
    if LongSeqClassifier.is_saved_in(directory):
        return LongSeqClassifier.load(directory), tok.k
    model = BertForSequenceClassification.from_pretrained(
        str(directory), attn_implementation=attn_implementation, use_safetensors=True
    )
    model.eval()
    return model, tok.k


def _encode_inputs(model: torch.nn.Module, seqs: Sequence[str], k: int | None) -> dict:
    """Model inputs (CPU tensors) for a batch of sequences, padded to the batch's longest row."""
    kind = getattr(model, "input_kind", "bert")
    if kind == "onehot":
        from dnalm.baselines import one_hot

        x, lengths = one_hot(seqs)
        return {"x": torch.from_numpy(x), "lengths": torch.from_numpy(lengths)}
    if kind == "long":
        from dnalm.longseq import encode_long

        ids, mask, pieces = encode_long(
            seqs,
            k,
            max_tokens=model.max_tokens,
            max_pieces=model.max_pieces if model.pooling == "concat" else None,
        )
        return {
            "input_ids": torch.from_numpy(ids),
            "attention_mask": torch.from_numpy(mask),
            "piece_mask": torch.from_numpy(pieces),
        }
    max_tokens = int(model.config.max_position_embeddings)
    ids, mask = kmers.encode_batch(seqs, k, max_tokens=max_tokens)
    return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}


def _logits(model: torch.nn.Module, inputs: dict) -> torch.Tensor:
    out = model(**inputs)
    return out.logits if hasattr(out, "logits") else out


def _n_classes(model: torch.nn.Module) -> int:
    if hasattr(model, "n_classes"):
        return int(model.n_classes)
    if hasattr(model, "config"):
        return int(model.config.num_labels)
    return int(model.head[-1].out_features)


@torch.no_grad()
def predict_proba(
    model: torch.nn.Module,
    seqs: Sequence[str],
    k: int | None,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    verbose: bool = False,
) -> np.ndarray:
    """Class probabilities for sequences.

    Parameters
    ----------
    model : transformers.BertForSequenceClassification, LongSeqClassifier or OneHotClassifier
    seqs : sequence of str, length n
    k : int or None
        k-mer size of the model's tokenizer (ignored by one-hot baselines).
    batch_size : int, optional
        Default is 64. Results do not depend on it: rows are grouped by length (for speed),
        padded, and padding is masked out.
    device : str or torch.device, optional
        Default is cuda if available, else cpu.
    verbose : bool, optional
        Progress bar. Default is False.

    Returns
    -------
    probs : numpy.ndarray, shape=(n, n_classes), dtype=float64

    Notes
    -----
    The model is moved to ``device`` and run in eval mode; its train/eval mode is restored.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}")
    seqs = list(seqs)
    dev = resolve_device(device)
    was_training = model.training
    model.to(dev)
    model.eval()
    order = np.argsort([len(s) for s in seqs], kind="stable")
    out = np.zeros((len(seqs), _n_classes(model)), dtype=np.float64)
    try:
        for i in tqdm(range(0, len(seqs), batch_size), disable=not verbose, desc="predict"):
            idx = order[i : i + batch_size]
            inputs = _encode_inputs(model, [seqs[j] for j in idx], k)
            with autocast(dev):
                logits = _logits(model, {n: t.to(dev) for n, t in inputs.items()})
            out[idx] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    finally:
        model.train(was_training)
    return out
