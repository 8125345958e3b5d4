"""Masked-LM pretraining of a k-mer BERT on corpus shards (DNABERT section 2.2, made resumable).

What it does, top to bottom:

- reads corpus shards (``{chrom}.seq.npy`` base codes + ``{chrom}.idx.npy`` pieces, see
  docs/ARCHITECTURE.md) through memory maps and tokenizes pieces on the fly as
  ``[CLS] k-mers [SEP]``;
- batches pieces of similar length (a random pool of ``pool_batches`` batches is sorted by
  length, cut into batches, and the batches are shuffled), so padding stays a few percent
  where DNABERT padded every row to 512 tokens;
- masks DNABERT-style contiguous k-token spans (:mod:`dnalm.mask`) at the rate given by
  ``mask_schedule`` and evaluates the vocabulary head on masked positions only;
- AdamW (no decay on biases and LayerNorm weights), linear warm-up then linear decay to 0,
  gradient clipping, bf16 autocast on CUDA, SDPA attention, optional ``torch.compile``;
  on the CPU, attention and hidden dropout draw exact-rate masks from packed random bytes
  (:func:`dnalm.attention_cpu.cpu_training`; same p, far fewer random draws);
- DDP when launched by torchrun (``RANK``/``WORLD_SIZE``): gloo on CPU, nccl on CUDA, each
  rank takes every ``world_size``-th batch, gradients synchronise on the last micro-step,
  only rank 0 writes files;
- complete atomic checkpoints (:mod:`dnalm.checkpoint`) every ``checkpoint_every`` steps;
  a rerun resumes from the newest one (SLURM requeue, Snakemake retries, kill -9), and
  SIGUSR1/SIGTERM checkpoint and exit non-zero.

Randomness is derived from ``(seed, rank, step)`` at every step (masks, dropout) and from
``(seed, epoch)`` for the data order, so a resumed run repeats the uninterrupted one.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from dnalm import checkpoint as ckpt
from dnalm import kmers
from dnalm._compat import autocast, resolve_device
from dnalm._validate import validate_k
from dnalm.attention_cpu import cpu_training
from dnalm.mask import centre_prob_for_rate, mask_tokens
from dnalm.modeling import SIZES, bert_config

__all__ = [
    "PretrainConfig",
    "PreemptedError",
    "Corpus",
    "find_shards",
    "epoch_batches",
    "mask_rate_at",
    "lr_factor",
    "pretrain",
    "torchrun_command",
    "main",
]

log = logging.getLogger("dnalm.pretrain")

LOG_COLUMNS = (
    "step", "loss", "mlm_acc", "perplexity", "lr", "mask_rate",
    "tokens_per_s", "padding_waste", "mfu", "split",
)

# Dense bf16 peak FLOP/s by GPU name fragment (for MFU; CPU rows leave mfu empty).
_PEAK_BF16 = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "L40": 181e12,
              "A10": 125e12, "4090": 165e12, "3090": 71e12, "A6000": 155e12}


@dataclass
class PretrainConfig:
    """Pretraining recipe (``pretrain_presets.<name>`` of the config; stored in checkpoints).

    ``batch_size`` is sequences per process per micro-step; the global batch is
    ``batch_size * grad_accum * world_size`` (DNABERT: 10 x 25 x 8 = 2000).
    """

    steps: int
    batch_size: int
    lr: float
    warmup_steps: int = 0
    grad_accum: int = 1
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-6
    max_grad_norm: float = 1.0
    mask_schedule: list[list[float]] = field(default_factory=lambda: [[0, 0.15]])
    checkpoint_every: int = 1000
    keep_checkpoints: int = 2
    log_every: int = 50
    num_workers: int = 0
    compile: bool = False
    seed: int = 42
    # Not in the config schema: programmatic knobs with sensible defaults.
    pool_batches: int = 50
    val_batches: int = 20
    max_tokens: int = 512

    @classmethod
    def from_dict(cls, d: dict[str, Any], name: str = "preset") -> PretrainConfig:
        """Build from a mapping, rejecting unknown keys and checking types and ranges."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"`{name}`: unknown key(s) {unknown}; known: {sorted(known)}")
        for req in ("steps", "batch_size", "lr"):
            if req not in d:
                raise ValueError(f"`{name}.{req}` is required")
        cfg = cls(**dict(d))
        cfg.validate(name)
        return cfg

    def validate(self, name: str = "preset") -> None:
        ints = ("steps", "batch_size", "grad_accum", "checkpoint_every", "keep_checkpoints",
                "log_every", "pool_batches", "max_tokens")
        for key in ints:
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"`{name}.{key}` must be a positive integer, got {v!r}")
        for key in ("warmup_steps", "num_workers", "val_batches"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"`{name}.{key}` must be a non-negative integer, got {v!r}")
        if not self.lr > 0:
            raise ValueError(f"`{name}.lr` must be > 0, got {self.lr!r}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"`{name}.betas` must be two numbers in [0, 1), got {self.betas!r}")
        self.betas = (float(self.betas[0]), float(self.betas[1]))
        sched = [list(x) for x in self.mask_schedule]
        if not sched or any(len(x) != 2 for x in sched):
            raise ValueError(f"`{name}.mask_schedule` must be [[from_step, rate], ...], got {sched!r}")
        if sched[0][0] != 0:
            raise ValueError(f"`{name}.mask_schedule` must start at step 0, got {sched[0]!r}")
        if any(b[0] <= a[0] for a, b in zip(sched, sched[1:], strict=False)):
            raise ValueError(f"`{name}.mask_schedule` steps must increase, got {sched!r}")
        if any(not 0 < x[1] < 1 for x in sched):
            raise ValueError(f"`{name}.mask_schedule` rates must be in (0, 1), got {sched!r}")
        self.mask_schedule = [[int(a), float(b)] for a, b in sched]
        if self.max_tokens < 3:
            raise ValueError(f"`{name}.max_tokens` must be >= 3, got {self.max_tokens}")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        return d


class PreemptedError(RuntimeError):
    """Raised after SIGUSR1/SIGTERM once the checkpoint is on disk (the job exits non-zero)."""


# --------------------------------------------------------------------------- data


def find_shards(shards: str | Path | Sequence[str | Path]) -> list[Path]:
    """``*.seq.npy`` shard files: a directory is globbed, a list is taken as given (sorted)."""
    if isinstance(shards, str | Path):
        p = Path(shards)
        if p.is_dir():
            paths = sorted(p.glob("*.seq.npy"))
            if not paths:
                raise ValueError(f"{p}: no *.seq.npy corpus shards in directory")
            return paths
        shards = [p]
    paths = sorted(Path(s) for s in shards)
    if not paths:
        raise ValueError("`shard_paths` is empty")
    for p in paths:
        if not p.name.endswith(".seq.npy"):
            raise ValueError(f"{p}: corpus shard names end with .seq.npy")
    return paths


class Corpus:
    """Pieces of a set of corpus shards, tokenized on demand.

    Parameters
    ----------
    shard_paths : sequence of Path
        ``{chrom}.seq.npy`` files; each needs its ``{chrom}.idx.npy`` next to it.
    k : int
    max_tokens : int, optional
        Rows are cropped to this many tokens including ``[CLS]``/``[SEP]``. Default is 512.

    Attributes
    ----------
    n_tokens : numpy.ndarray, shape=(n_pieces,), dtype=int64
        Tokens per piece including specials.
    split : numpy.ndarray, shape=(n_pieces,), dtype=int8
        0 train, 1 validation.
    """

    def __init__(self, shard_paths: Sequence[Path], k: int, max_tokens: int = 512) -> None:
        self.k = validate_k(k)
        self.max_tokens = int(max_tokens)
        self.paths = [Path(p) for p in shard_paths]
        shard, offset, length, split = [], [], [], []
        for i, sp in enumerate(self.paths):
            ip = sp.with_name(sp.name[: -len(".seq.npy")] + ".idx.npy")
            if not sp.is_file():
                raise ValueError(f"{sp}: corpus shard does not exist")
            if not ip.is_file():
                raise ValueError(f"{ip}: index of shard {sp.name} does not exist")
            seq = np.load(sp, mmap_mode="r")
            idx = np.load(ip, mmap_mode="r")
            if seq.dtype != np.uint8 or seq.ndim != 1:
                raise ValueError(f"{sp}: expected 1-D uint8 base codes, got {seq.dtype} {seq.shape}")
            if idx.ndim != 2 or idx.shape[1] != 3 or not np.issubdtype(idx.dtype, np.integer):
                raise ValueError(f"{ip}: expected an (n, 3) integer array, got {idx.dtype} {idx.shape}")
            idx = np.asarray(idx, dtype=np.int64)
            if len(idx):
                bad = np.flatnonzero((idx[:, 0] < 0) | (idx[:, 1] < 0) | (idx[:, 0] + idx[:, 1] > len(seq)))
                if len(bad):
                    raise ValueError(f"{ip}: row {bad[0]} {idx[bad[0]].tolist()} lies outside {sp.name} ({len(seq)} bases)")
                bad = np.flatnonzero(~np.isin(idx[:, 2], (0, 1)))
                if len(bad):
                    raise ValueError(f"{ip}: row {bad[0]} has split {idx[bad[0], 2]}, expected 0 or 1")
            keep = idx[:, 1] >= k  # a piece shorter than k has no k-mer
            shard.append(np.full(int(keep.sum()), i, dtype=np.int32))
            offset.append(idx[keep, 0])
            length.append(idx[keep, 1])
            split.append(idx[keep, 2].astype(np.int8))
        self.shard = np.concatenate(shard) if shard else np.empty(0, np.int32)
        self.offset = np.concatenate(offset) if offset else np.empty(0, np.int64)
        self.length = np.concatenate(length) if length else np.empty(0, np.int64)
        self.split = np.concatenate(split) if split else np.empty(0, np.int8)
        self.n_tokens = np.minimum(self.length - k + 1, self.max_tokens - 2) + 2
        self._seqs: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.length)

    def __getstate__(self) -> dict[str, Any]:  # DataLoader workers re-open the memory maps
        d = dict(self.__dict__)
        d["_seqs"] = {}
        return d

    def _seq(self, i: int) -> np.ndarray:
        if i not in self._seqs:
            self._seqs[i] = np.load(self.paths[i], mmap_mode="r")
        return self._seqs[i]

    def tokens(self, piece: int) -> np.ndarray:
        """``[CLS] k-mers [SEP]`` ids of one piece, shape=(n_tokens[piece],), dtype=int64."""
        off, n = int(self.offset[piece]), int(self.length[piece])
        n = min(n, self.max_tokens - 2 + self.k - 1)  # crop like DNABERT's block_size
        codes = np.asarray(self._seq(int(self.shard[piece]))[off : off + n])
        ids = kmers.codes_to_ids(codes, self.k)
        return np.concatenate([[kmers.CLS_ID], ids, [kmers.SEP_ID]]).astype(np.int64)

    def collate(self, pieces: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded ``(input_ids, attention_mask)``, both shape=(len(pieces), T), int64."""
        rows = [self.tokens(int(p)) for p in pieces]
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), kmers.PAD_ID, dtype=np.int64)
        att = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            att[i, : len(r)] = 1
        return torch.from_numpy(ids), torch.from_numpy(att)


def epoch_batches(
    n_tokens: np.ndarray, batch_size: int, seed: int, epoch: int, pool_batches: int = 50
) -> np.ndarray:
    """Length-bucketed batches of one epoch, in random order.

    A random permutation is cut into pools of ``batch_size * pool_batches`` pieces; each
    pool is sorted by length and cut into batches, and the batches of all pools are shuffled.

    Parameters
    ----------
    n_tokens : numpy.ndarray, shape=(n,)
        Tokens per piece.
    batch_size, seed, epoch, pool_batches : int

    Returns
    -------
    batches : numpy.ndarray, shape=(n_batches, batch_size), dtype=int64
        Piece indices (into ``n_tokens``). A trailing incomplete batch is dropped unless
        there are fewer than ``batch_size`` pieces (then one batch of all of them).
    """
    n = len(n_tokens)
    if n == 0:
        raise ValueError("`n_tokens` is empty: no corpus pieces to train on")
    rng = np.random.default_rng([int(seed), int(epoch)])
    perm = rng.permutation(n)
    if n < batch_size:
        return perm[np.argsort(n_tokens[perm], kind="stable")][None, :]
    pool = batch_size * pool_batches
    chunks = []
    for s in range(0, n, pool):
        c = perm[s : s + pool]
        c = c[np.argsort(n_tokens[c], kind="stable")]
        nb = len(c) // batch_size
        chunks.append(c[: nb * batch_size].reshape(nb, batch_size))
    batches = np.concatenate(chunks)
    return batches[rng.permutation(len(batches))]


class _BatchSet(torch.utils.data.Dataset):
    def __init__(self, corpus: Corpus, pieces: np.ndarray, batches: np.ndarray) -> None:
        self.corpus, self.pieces, self.batches = corpus, pieces, batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.corpus.collate(self.pieces[self.batches[i]])


class _Stream:
    """Endless per-rank batch stream with a resumable position ``(epoch, cursor)``."""

    def __init__(self, corpus, pieces, cfg: PretrainConfig, rank: int, world: int,
                 epoch: int = 0, cursor: int = 0, pin: bool = False) -> None:
        self.corpus, self.pieces, self.cfg = corpus, pieces, cfg
        self.rank, self.world, self.pin = rank, world, pin
        self.epoch, self.cursor = epoch, cursor
        self._it = None

    def _open(self) -> None:
        b = epoch_batches(self.corpus.n_tokens[self.pieces], self.cfg.batch_size, self.cfg.seed,
                          self.epoch, self.cfg.pool_batches)
        if self.world > 1:
            b = b[: (len(b) // self.world) * self.world][self.rank :: self.world]
            if len(b) == 0:
                raise ValueError(f"corpus has fewer batches than the {self.world} processes")
        self.n = len(b)
        if self.cursor >= self.n:
            self.cursor = 0
            self.epoch += 1
            return self._open()
        ds = _BatchSet(self.corpus, self.pieces, b)
        sampler = range(self.cursor, self.n)
        self._it = iter(torch.utils.data.DataLoader(
            ds, batch_size=None, sampler=sampler, num_workers=self.cfg.num_workers,
            pin_memory=self.pin, persistent_workers=False,
            # its own generator: opening an iterator must not consume the global torch RNG
            # (dropout), or a resumed run would diverge from an uninterrupted one
            generator=torch.Generator().manual_seed(_seed(self.cfg.seed, self.rank, self.epoch)),
        ))

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._it is None:
            self._open()
        try:
            batch = next(self._it)
        except StopIteration:
            self.epoch, self.cursor, self._it = self.epoch + 1, 0, None
            return self.next()
        self.cursor += 1
        if self.cursor >= self.n:  # the next call opens the next epoch
            self.epoch, self.cursor, self._it = self.epoch + 1, 0, None
        return batch


# --------------------------------------------------------------------------- schedule


def mask_rate_at(schedule: list[list[float]], step: int) -> float:
    """Target masked fraction at ``step``: the rate of the last entry with ``from_step <= step``."""
    rate = schedule[0][1]
    for start, r in schedule:
        if step >= start:
            rate = r
    return float(rate)


def lr_factor(step: int, warmup_steps: int, total_steps: int) -> float:
    """Multiplier of the peak lr for update ``step`` (0-based): linear warm-up, then linear decay to 0."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1, np.uint64)[0] >> 1)


# --------------------------------------------------------------------------- model


class _MLMLoss(torch.nn.Module):
    """Masked-LM loss with the vocabulary head evaluated on masked positions only."""

    def __init__(self, lm: torch.nn.Module) -> None:
        super().__init__()
        self.lm = lm

    def forward(self, input_ids, attention_mask, labels):  # (B, T) each
        h = self.lm.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        sel = labels != -100  # (B, T)
        target = labels[sel]  # (M,)
        if target.numel() == 0:  # keep every parameter in the graph (DDP needs it)
            z = self.lm.cls(h[:, :1]).sum() * 0.0
            return z, torch.zeros((), device=h.device), torch.zeros((), device=h.device)
        logits = self.lm.cls(h[sel])  # (M, V)
        loss = F.cross_entropy(logits.float(), target)
        correct = (logits.argmax(-1) == target).sum()
        return loss, correct, torch.tensor(float(target.numel()), device=h.device)


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if name.endswith("bias") or "LayerNorm" in name else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _flops_per_token(cfg, mean_tokens: float, mask_rate: float) -> float:
    """Training FLOPs per real token (6 x weights, attention scores, head on masked tokens)."""
    h, n_layers, inter, v = cfg.hidden_size, cfg.num_hidden_layers, cfg.intermediate_size, cfg.vocab_size
    enc = n_layers * (4 * h * h + 2 * h * inter)
    attn = 2 * n_layers * h * mean_tokens  # QK^T and AV, multiply-adds
    head = mask_rate * (h * h + h * v)
    return 6.0 * (enc + attn + head)


def _peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for frag, peak in _PEAK_BF16.items():
        if frag in name:
            return peak
    return None


# --------------------------------------------------------------------------- outputs


def _write_tsv(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        fh.write("\t".join(LOG_COLUMNS) + "\n")
        for r in rows:
            vals = []
            for c in LOG_COLUMNS:
                v = r.get(c)
                vals.append("" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v)))
            fh.write("\t".join(vals) + "\n")
    os.replace(tmp, path)


def _plot_curves(rows: list[dict[str, Any]], path: Path, title: str,
                 schedule: list[list[float]] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tr = [r for r in rows if r["split"] == "train"]
    va = [r for r in rows if r["split"] == "val"]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    panels = [("loss", "MLM loss"), ("mlm_acc", "masked-token accuracy"), ("lr", "learning rate"),
              ("mask_rate", "realised mask rate")]
    for ax, (key, label) in zip(axes, panels, strict=True):
        ax.plot([r["step"] for r in tr], [r[key] for r in tr], label="train", lw=1.2)
        if key in ("loss", "mlm_acc", "mask_rate") and va:
            ax.plot([r["step"] for r in va], [r[key] for r in va], "o-", label="validation", ms=3)
        ax.set_xlabel("step")
        ax.set_title(label, fontsize=10)
        if key == "mask_rate" and schedule and tr:
            xs = [r["step"] for r in tr]
            ax.step(xs, [mask_rate_at(schedule, x - 1) for x in xs], "k--", where="post",
                    lw=0.8, label="target")
            ax.legend(fontsize=8)
        if key == "loss":
            ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def _save_model_dir(lm: torch.nn.Module, k: int, out_dir: Path) -> None:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        lm.config.architectures = ["BertForMaskedLM"]
        lm.save_pretrained(tmp, safe_serialization=True)
        kmers.write_tokenizer_files(tmp, k, max_len=int(lm.config.max_position_embeddings))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# --------------------------------------------------------------------------- training


@contextlib.contextmanager
def _stop_signals():
    """Turn SIGUSR1/SIGTERM into a flag checked after each step (main thread only)."""
    flag = {"signum": 0}

    def handler(signum, frame):  # noqa: ARG001
        flag["signum"] = signum

    old = {}
    for s in (signal.SIGUSR1, signal.SIGTERM):
        try:
            old[s] = signal.signal(s, handler)
        except ValueError:  # not the main thread: leave signals alone
            pass
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _evaluate(loss_mod, corpus: Corpus, batches, k, p, vocab, seed, device) -> dict[str, float]:
    loss_mod.eval()
    gen = torch.Generator().manual_seed(_seed(seed, 7919))  # the same masks at every evaluation
    tot_loss = tot_correct = tot_masked = tot_real = tot_all = 0.0
    with torch.no_grad():
        for b in batches:
            ids, att = corpus.collate(b)
            mb = mask_tokens(ids, att, k, p, vocab, gen)
            with autocast(device):
                loss, correct, n = loss_mod(mb.input_ids.to(device), att.to(device), mb.labels.to(device))
            tot_loss += float(loss) * float(n)
            tot_correct += float(correct)
            tot_masked += float(n)
            tot_real += float(mb.mask_rate) * float((ids >= kmers.N_SPECIAL).sum())
            tot_all += float((ids >= kmers.N_SPECIAL).sum())
    loss_mod.train()
    loss = tot_loss / max(tot_masked, 1.0)
    return {"loss": loss, "mlm_acc": tot_correct / max(tot_masked, 1.0),
            "perplexity": math.exp(min(loss, 50.0)), "mask_rate": tot_real / max(tot_all, 1.0)}


def pretrain(
    shard_paths: str | Path | Sequence[str | Path],
    out_dir: str | Path,
    ckpt_dir: str | Path,
    log_tsv: str | Path,
    curves_png: str | Path,
    k: int,
    size: str,
    preset: dict[str, Any] | PretrainConfig,
    device: str | torch.device | None = None,
    threads: int | None = None,
    stop_at: int | None = None,
    verbose: bool = True,
    on_step: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Pretrain a k-mer BERT masked LM; resume from ``ckpt_dir`` when it holds a checkpoint.

    Parameters
    ----------
    shard_paths : directory, path or sequence of paths
        Corpus shards (``*.seq.npy``, each with its ``*.idx.npy``); a directory is globbed.
    out_dir : str or Path
        Final model directory (``BertForMaskedLM.save_pretrained`` + tokenizer files).
    ckpt_dir : str or Path
        Checkpoint directory (not a Snakemake output, so it survives reruns).
    log_tsv, curves_png : str or Path
        ``train_log.tsv`` (columns :data:`LOG_COLUMNS`) and the training-curve figure.
    k : int
    size : {"tiny", "small", "base"}
    preset : dict or PretrainConfig
        ``pretrain_presets.<name>`` (see :class:`PretrainConfig`).
    device : str or torch.device, optional
        Default is cuda if available, else cpu (under DDP, ``cuda:LOCAL_RANK``).
    threads : int, optional
        ``torch.set_num_threads`` for CPU runs. Default is None (unchanged).
    stop_at : int, optional
        Checkpoint and return after this step without writing final outputs (a controlled
        interruption). Default is None.
    verbose : bool, optional
        tqdm progress bar on rank 0. Default is True.
    on_step : callable, optional
        Called with the step number after each optimizer step (tests send signals from it).

    Returns
    -------
    dict
        ``{"step", "status" ("done" / "stopped"), "resumed_from", "train_loss", "val_loss"}``.

    Raises
    ------
    PreemptedError
        After SIGUSR1/SIGTERM, once the checkpoint is written.
    """
    k = validate_k(k)
    if size not in SIZES:
        raise ValueError(f"`size` must be one of {sorted(SIZES)}, got {size!r}")
    cfg = preset if isinstance(preset, PretrainConfig) else PretrainConfig.from_dict(dict(preset))
    cfg.validate()
    out_dir, ckpt_dir, log_tsv, curves_png = map(Path, (out_dir, ckpt_dir, log_tsv, curves_png))
    if threads:
        torch.set_num_threads(int(threads))

    world = int(os.environ.get("WORLD_SIZE", "1"))
    ddp = "RANK" in os.environ and world > 1
    rank = int(os.environ.get("RANK", "0")) if ddp else 0
    dev = resolve_device(device)
    if ddp:
        import torch.distributed as dist

        if dev.type == "cuda":
            dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(dev)
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    master = rank == 0
    try:
        return _train(shard_paths, out_dir, ckpt_dir, log_tsv, curves_png, k, size, cfg, dev,
                      rank, world, ddp, master, stop_at, verbose, on_step)
    finally:
        if ddp:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()


def _train(shard_paths, out_dir, ckpt_dir, log_tsv, curves_png, k, size, cfg, dev, rank, world,
           ddp, master, stop_at, verbose, on_step) -> dict[str, Any]:
    if ddp:
        import torch.distributed as dist
    corpus = Corpus(find_shards(shard_paths), k, cfg.max_tokens)
    train_pieces = np.flatnonzero(corpus.split == 0)
    val_pieces = np.flatnonzero(corpus.split == 1)
    if len(train_pieces) == 0:
        raise ValueError(f"{corpus.paths[0].parent}: corpus has no training pieces (split 0)")
    vocab = kmers.vocab_size(k)

    from transformers import BertForMaskedLM

    torch.manual_seed(cfg.seed)  # identical initial weights on every rank
    lm = BertForMaskedLM(bert_config(k, size, max_positions=cfg.max_tokens))
    loss_mod = _MLMLoss(lm).to(dev)
    # Fused AdamW: one kernel per parameter on CUDA, and on the CPU about 3x faster than the
    # default single-tensor loop (foreach is slower there); the same AdamW update.
    opt = torch.optim.AdamW(_param_groups(lm, cfg.weight_decay), lr=cfg.lr, betas=cfg.betas,
                            eps=cfg.eps, fused=dev.type in ("cuda", "cpu"))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_factor(s, cfg.warmup_steps, cfg.steps))
    scaler = None  # bf16 autocast (or fp32) needs no loss scaling

    step, epoch, cursor, rows, resumed_from = 0, 0, 0, [], None
    found = ckpt.latest_checkpoint(ckpt_dir)
    if found is not None:
        path, state = found
        if state.get("k") != k or state.get("size") != size:
            raise ValueError(
                f"{path}: checkpoint is for k={state.get('k')} size={state.get('size')!r}, not "
                f"k={k} size={size!r}; delete {ckpt_dir} to start afresh")
        lm.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        step, epoch, cursor = int(state["step"]), int(state["epoch"]), int(state["cursor"])
        rows = [r for r in state["log_rows"] if r["step"] <= step]
        rng = state.get("rng", [])
        if state.get("world_size") == world and rank < len(rng):
            ckpt.restore_rng(rng[rank])
        elif state.get("world_size") != world:
            log.warning("%s was written by %s processes, now %d: data order differs from an "
                        "uninterrupted run", path, state.get("world_size"), world)
        resumed_from = step
        if master:
            log.info("resumed from %s (step %d)", path, step)
    if master:
        n_params = sum(p.numel() for p in lm.parameters())
        log.info("k=%d size=%s params=%.2fM world=%d device=%s global batch=%d x %d x %d; "
                 "%d train / %d val pieces in %d shards", k, size, n_params / 1e6, world, dev,
                 cfg.batch_size, cfg.grad_accum, world, len(train_pieces), len(val_pieces),
                 len(corpus.paths))
        log.info("preset: %s", json.dumps(cfg.to_dict()))

    model: torch.nn.Module = loss_mod
    if ddp:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(loss_mod, device_ids=[dev.index] if dev.type == "cuda" else None)
    if cfg.compile:
        model = torch.compile(model)
    stream = _Stream(corpus, train_pieces, cfg, rank, world, epoch, cursor, pin=dev.type == "cuda")
    val_batches = []
    if len(val_pieces) and cfg.val_batches and master:
        vb = epoch_batches(corpus.n_tokens[val_pieces], cfg.batch_size, cfg.seed, -1 % 2**31,
                           cfg.pool_batches)[: cfg.val_batches]
        val_batches = [val_pieces[b] for b in vb]
    peak = _peak_flops(dev)

    def checkpoint_now() -> None:
        rng_all = [ckpt.capture_rng()]
        if ddp:
            rng_all = [None] * world
            dist.all_gather_object(rng_all, ckpt.capture_rng())
        if master:
            state = {
                "model": lm.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "scaler": scaler,
                "epoch": stream.epoch, "cursor": stream.cursor, "rng": rng_all,
                "log_rows": rows, "k": k, "size": size, "world_size": world,
                "preset": cfg.to_dict(), "model_config": lm.config.to_dict(),
            }
            state["model_config"] = json.loads(json.dumps(state["model_config"], default=str))
            ckpt.save_checkpoint(ckpt_dir, step, state, keep=cfg.keep_checkpoints)
        if ddp:
            dist.barrier()

    def validate() -> dict[str, float] | None:
        if not (master and val_batches):
            return None
        p = centre_prob_for_rate(mask_rate_at(cfg.mask_schedule, step), k)
        v = _evaluate(loss_mod, corpus, val_batches, k, p, vocab, cfg.seed, dev)
        rows.append({"step": step, **v, "lr": float(sched.get_last_lr()[0]), "tokens_per_s": None,
                     "padding_waste": None, "mfu": None, "split": "val"})
        return v

    # Window sums. On the device (no host sync per step): loss, correct, masked tokens.
    # On the host: real tokens, padded tokens, realised mask rate.
    acc_dev = torch.zeros(3, dtype=torch.float32, device=dev)
    acc_host = np.zeros(3, dtype=np.float64)
    n_acc, t0 = 0, time.perf_counter()
    gen = torch.Generator()
    lm.train()
    bar = tqdm(total=cfg.steps, initial=step, disable=not (verbose and master), desc="pretrain",
               mininterval=5)
    status = "done"
    # CPU training without torch.compile: exact-rate dropout masks from packed random bytes
    # (attention and hidden dropout, same p); CUDA, compile and evaluation use the stock path.
    cheap_dropout = (cpu_training(lm) if dev.type == "cpu" and not cfg.compile
                     else contextlib.nullcontext())
    with _stop_signals() as sig, cheap_dropout:
        while step < cfg.steps:
            p = centre_prob_for_rate(mask_rate_at(cfg.mask_schedule, step), k)
            torch.manual_seed(_seed(cfg.seed, rank, step, 1))  # dropout
            gen.manual_seed(_seed(cfg.seed, rank, step, 2))  # masks
            for micro in range(cfg.grad_accum):
                ids, att = stream.next()
                mb = mask_tokens(ids, att, k, p, vocab, gen)
                sync = (model.no_sync() if ddp and micro < cfg.grad_accum - 1
                        else contextlib.nullcontext())
                with sync, autocast(dev):
                    loss, correct, n = model(mb.input_ids.to(dev, non_blocking=True),
                                             att.to(dev, non_blocking=True),
                                             mb.labels.to(dev, non_blocking=True))
                    (loss / cfg.grad_accum).backward()
                acc_dev += torch.stack([loss.detach().float() / cfg.grad_accum, correct.float(),
                                        n.float()])
                acc_host += (float(att.sum()), float(att.numel()), mb.mask_rate / cfg.grad_accum)
            if cfg.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(lm.parameters(), cfg.max_grad_norm)
            lr_now = float(sched.get_last_lr()[0])
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            n_acc += 1
            bar.update(1)
            if on_step is not None:
                on_step(step)

            if step % cfg.log_every == 0 or step == cfg.steps:
                if dev.type == "cuda":
                    torch.cuda.synchronize(dev)
                tot = torch.cat([acc_dev.double().cpu(), torch.from_numpy(acc_host)])
                if ddp:
                    tot = tot.to(dev)
                    dist.all_reduce(tot)
                    tot = tot.cpu()
                    tot[0] /= world
                    tot[5] /= world
                dt = time.perf_counter() - t0
                loss_avg = float(tot[0]) / n_acc
                tps = float(tot[3]) / dt
                mrate = float(tot[5]) / n_acc
                mfu = None
                if peak:
                    mean_t = float(tot[3]) / max(1.0, n_acc * cfg.grad_accum * cfg.batch_size * world)
                    mfu = _flops_per_token(lm.config, mean_t, mrate) * tps / (peak * world)
                rows.append({
                    "step": step, "loss": loss_avg, "mlm_acc": float(tot[1]) / max(float(tot[2]), 1.0),
                    "perplexity": math.exp(min(loss_avg, 50.0)), "lr": lr_now, "mask_rate": mrate,
                    "tokens_per_s": tps, "padding_waste": 1.0 - float(tot[3]) / float(tot[4]),
                    "mfu": mfu, "split": "train",
                })
                if master:
                    bar.set_postfix(loss=f"{loss_avg:.3f}", acc=f"{rows[-1]['mlm_acc']:.3f}")
                    log.info("step %d loss %.4f acc %.4f lr %.3g mask %.4f tok/s %.0f pad %.3f%s",
                             step, loss_avg, rows[-1]["mlm_acc"], lr_now, mrate, tps,
                             rows[-1]["padding_waste"], f" mfu {mfu:.3f}" if mfu else "")
                acc_dev.zero_()
                acc_host[:] = 0.0
                n_acc, t0 = 0, time.perf_counter()

            stop = sig["signum"]
            if ddp:
                flag = torch.tensor([float(stop)], device=dev if dev.type == "cuda" else "cpu")
                dist.all_reduce(flag, op=dist.ReduceOp.MAX)
                stop = int(flag.item())
            final = step == cfg.steps
            t_pause = time.perf_counter()  # validation and checkpoints do not count in tokens/s
            if final or step % cfg.checkpoint_every == 0:
                validate()
            if final or stop or step % cfg.checkpoint_every == 0 or step == stop_at:
                checkpoint_now()
                if master:
                    _write_tsv(rows, ckpt_dir / "train_log.live.tsv")
            t0 += time.perf_counter() - t_pause
            if stop:
                bar.close()
                raise PreemptedError(f"received signal {stop}; checkpoint for step {step} saved "
                                     f"in {ckpt_dir}, rerun to resume")
            if stop_at is not None and step >= stop_at and not final:
                status = "stopped"
                break
    bar.close()
    if status == "done" and master:
        if not any(r["split"] == "val" and r["step"] == step for r in rows):
            validate()  # resumed from the final checkpoint of a run that died before its outputs
        _save_model_dir(lm, k, out_dir)
        _write_tsv(rows, log_tsv)
        _plot_curves(rows, curves_png, f"{out_dir.parent.name}: k={k}, size={size}",
                     cfg.mask_schedule)
        log.info("wrote %s, %s, %s", out_dir, log_tsv, curves_png)
    train = [r for r in rows if r["split"] == "train"]
    val = [r for r in rows if r["split"] == "val"]
    return {"step": step, "status": status, "resumed_from": resumed_from,
            "train_loss": train[-1]["loss"] if train else None,
            "val_loss": val[-1]["loss"] if val else None}


# --------------------------------------------------------------------------- launching


def torchrun_command(nproc: int, script: str | Path, args: Sequence[str] = ()) -> list[str]:
    """``python -m torch.distributed.run --standalone --nproc_per_node=N script args...``."""
    if int(nproc) < 1:
        raise ValueError(f"`nproc` must be >= 1, got {nproc}")
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={int(nproc)}", str(script), *map(str, args)]


def relaunch(nproc: int, script: str | Path, args: Sequence[str] = (),
             log_path: str | Path | None = None) -> None:
    """Re-execute ``script`` under torchrun with ``nproc`` processes; raise if it fails.

    SIGUSR1/SIGTERM received meanwhile are forwarded to torchrun as SIGTERM (torchrun passes
    it to every worker, which checkpoints and exits), so a SLURM pre-timeout signal reaches
    the training processes.
    """
    cmd = torchrun_command(nproc, script, args)
    log.info("launching DDP: %s", " ".join(cmd))
    env = dict(os.environ)
    scripts_dir = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(x for x in (scripts_dir, env.get("PYTHONPATH")) if x)
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(log_path, "a")) if log_path else None  # noqa: SIM115
        proc = subprocess.Popen(cmd, env=env, stdout=out,
                                stderr=subprocess.STDOUT if out else None)

        def forward(signum, frame):  # noqa: ARG001
            log.warning("signal %d: asking the DDP workers to checkpoint and stop", signum)
            proc.send_signal(signal.SIGTERM)

        old = {}
        for sig in (signal.SIGUSR1, signal.SIGTERM):
            with contextlib.suppress(ValueError):
                old[sig] = signal.signal(sig, forward)
        try:
            rc = proc.wait()
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)
    if rc != 0:
        raise RuntimeError(f"torchrun exited with status {rc}")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python bert_pretrain.py --shards DIR --out-dir ... --preset JSON``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shards", required=True, nargs="+", help="shard directory or *.seq.npy files")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--ckpt-dir", required=True)
    ap.add_argument("--log-tsv", required=True)
    ap.add_argument("--curves-png", required=True)
    ap.add_argument("--k", type=int, default=6)
    ap.add_argument("--size", default="tiny", choices=sorted(SIZES))
    ap.add_argument("--preset", required=True, help="JSON object or path to a JSON file")
    ap.add_argument("--device", default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--stop-at", type=int, default=None)
    a = ap.parse_args(argv)
    preset = json.loads(Path(a.preset).read_text() if Path(a.preset).is_file() else a.preset)
    shards = a.shards[0] if len(a.shards) == 1 else a.shards
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    res = pretrain(shards, a.out_dir, a.ckpt_dir, a.log_tsv, a.curves_png, a.k, a.size, preset,
                   device=a.device, threads=a.threads, stop_at=a.stop_at, verbose=False)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
