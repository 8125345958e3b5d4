"""Synthetic labelled tasks and a tiny language-model directory, shared by the model tests
(test_finetune, test_baselines, test_predict, test_longseq, test_summary)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from dnalm import kmers

MOTIF = "TGACGTCATG"
MOTIF2 = "GGGCGGGGCA"


def synth_task(n: int, seed: int, n_classes: int = 2, lo: int = 70, hi: int = 100) -> pd.DataFrame:
    """Random sequences of lo..hi bp; class 1 carries MOTIF, class 2 MOTIF2, class 0 neither."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        s = rng.choice(list("ACGT"), int(rng.integers(lo, hi + 1)))
        y = i % n_classes
        if y:
            m = MOTIF if y == 1 else MOTIF2
            p = int(rng.integers(0, len(s) - len(m) + 1))
            s[p : p + len(m)] = list(m)
        rows.append(("".join(s), y, "synth", ".", ".", ".", f"s{i}"))
    df = pd.DataFrame(
        rows, columns=["sequence", "label", "contig", "start", "end", "strand", "source_id"]
    )
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def synth_splits(n_classes: int = 2, n_train: int = 400, n_eval: int = 100, seed: int = 0):
    return (
        synth_task(n_train, seed, n_classes),
        synth_task(n_eval, seed + 1, n_classes),
        synth_task(n_eval, seed + 2, n_classes),
    )


def make_lm(directory, k: int = 4, max_positions: int = 128, hidden: int = 32, seed: int = 0):
    """A tiny BertForMaskedLM directory as the pretrain stage writes it (random weights)."""
    from transformers import BertConfig, BertForMaskedLM

    cfg = BertConfig(
        vocab_size=kmers.vocab_size(k),
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=max_positions,
    )
    torch.manual_seed(seed)
    BertForMaskedLM(cfg).save_pretrained(str(directory))
    kmers.write_tokenizer_files(directory, k, max_len=max_positions)
    return directory
