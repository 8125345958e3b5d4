"""Tiny model directories and genomes for the ``dnalm`` subcommand tests (test_cli_*)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pysam
import torch
from dnalm import kmers

MOTIF = "TGACGTCATG"


def motif_batch(rng: np.random.Generator, n: int, window: int) -> tuple[list[str], np.ndarray]:
    """``n`` random windows; odd rows carry :data:`MOTIF` at a random offset (label 1)."""
    seqs, ys = [], np.arange(n) % 2
    for y in ys:
        s = rng.choice(list("ACGT"), window)
        if y:
            p = int(rng.integers(0, window - len(MOTIF) + 1))
            s[p : p + len(MOTIF)] = list(MOTIF)
        seqs.append("".join(s))
    return seqs, ys


def save_classifier(model, directory: Path, k: int, window: int | None) -> Path:
    """Save a classifier as the workflow writes one (plus a task card when ``window`` is set)."""
    model.save_pretrained(str(directory))
    kmers.write_tokenizer_files(directory, k, max_len=int(model.config.max_position_embeddings))
    if window is not None:
        (directory / "card.json").write_text(json.dumps({"task": "t", "kind": "tfbs", "counts": {},
                                                          "k": k, "window_length": window}))
    return directory


def bert_config(k: int, n_labels: int = 2, max_positions: int = 80, **kw):
    from transformers import BertConfig

    return BertConfig(vocab_size=kmers.vocab_size(k), hidden_size=32, num_hidden_layers=1,
                      num_attention_heads=2, intermediate_size=64,
                      max_position_embeddings=max_positions, num_labels=n_labels, **kw)


def train_motif_classifier(directory: Path, k: int = 5, window: int = 64, steps: int = 500,
                           seed: int = 0) -> Path:
    """A tiny BERT trained to find :data:`MOTIF` in ``window``-bp windows (~10 s on one core)."""
    from transformers import BertForSequenceClassification

    torch.manual_seed(seed)
    model = BertForSequenceClassification(bert_config(k))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1 - s / steps)
    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(steps):
        seqs, y = motif_batch(rng, 32, window)
        ids, mask = kmers.encode_batch(seqs, k)
        loss = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                     labels=torch.from_numpy(y)).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    return save_classifier(model, directory, k, window)


def random_classifier(directory: Path, k: int = 3, window: int | None = 64, seed: int = 0) -> Path:
    """An untrained BERT whose output still depends on its input (wide init)."""
    from transformers import BertForSequenceClassification

    torch.manual_seed(seed)
    model = BertForSequenceClassification(bert_config(k, initializer_range=0.5)).eval()
    return save_classifier(model, directory, k, window)


def write_genome(directory: Path, seqs: dict[str, str], bgzip: bool = True) -> Path:
    """An indexed FASTA of ``seqs`` (bgzip + .fai/.gzi, or plain + .fai)."""
    plain = directory / "genome.fa"
    plain.write_text("".join(f">{c}\n" + "\n".join(s[i:i + 60] for i in range(0, len(s), 60)) + "\n"
                             for c, s in seqs.items()))
    if not bgzip:
        pysam.faidx(str(plain))
        return plain
    gz = directory / "genome.fa.gz"
    pysam.tabix_compress(str(plain), str(gz), force=True)
    pysam.faidx(str(gz))
    return gz
