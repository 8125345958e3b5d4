"""Fine-tune one model on one task: a pretrained k-mer BERT, its random-init twin, or a baseline.

One training loop serves every neural model (BERT, long-input BERT, CNN/CNN+LSTM/CNN+GRU, and a
DNAGPT-style GPT when ``lm_dir`` is a GPT language model, :mod:`dnalm.gpt.classify`):
AdamW (no decay on biases and LayerNorm), linear warm-up then linear decay to 0, gradient
clipping, length-bucketed padded batches, dev evaluation several times per epoch, the best
checkpoint by dev MCC (ties: lower dev loss) and early stopping after ``patience`` epochs
in which neither dev MCC nor dev loss improved, counted only once the dev MCC has been above
0 (so a slow start on a loss plateau, common for small and randomly initialised models, is
not cut short). Constant predictions (collapse to one class, DNABERT issue #10) are
logged as a warning and flagged in ``metrics.json``.

With ``ckpt_dir`` the loop is resumable (:mod:`dnalm.finetune_state`): step checkpoints every
``checkpoint_every`` steps and on SIGUSR1/SIGTERM (then :class:`~dnalm.pretrain.PreemptedError`,
exit status 1 from the command line, as for pretraining); a rerun with the same settings, data
and language model resumes from the newest one and ends exactly as an uninterrupted run on the
CPU. The command line is :func:`main` (``python -m dnalm.finetune --help``).

Outputs in ``out_dir`` (written atomically): ``metrics.json``, ``predictions.tsv.gz``,
``train_log.tsv`` and ``model/`` (every model: BERT, long-input BERT and the baselines), a
standalone directory with ``id2label``, ``card.json`` and a ``README.md`` model card
(:func:`dnalm.modeling.save_classifier_dir`), readable by :func:`dnalm.predict.load_model_dir`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import math
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from dnalm import atomic, kmers
from dnalm import checkpoint as ckpt
from dnalm._compat import autocast, resolve_device
from dnalm.baselines import NEURAL_BASELINES, build_baseline, fit_kmer_lr
from dnalm.dataset import Card, read_card, read_split
from dnalm.finetune_loop import Checkpointing, StepPlan, run_loop
from dnalm.finetune_state import LoopState, finetune_fingerprint
from dnalm.longseq import POOLINGS, LongSeqClassifier, n_pieces
from dnalm.metrics import bootstrap_ci, classification_metrics
from dnalm.model_card import (
    class_names,
    model_readme,
    model_task_card,
    split_counts,
    training_hash,
)
from dnalm.modeling import save_classifier_dir
from dnalm.predict import _encode_inputs, _logits, predict_proba
from dnalm.pretrain.check import CHECK_FILE, check_summary, read_learning_check

if TYPE_CHECKING:  # imported when a GPT LM is fine-tuned: baselines start without transformers
    from dnalm.gpt.classify import GptClassifier

__all__ = ["finetune", "finetune_kwargs", "main", "LOG_COLUMNS"]

log = logging.getLogger("dnalm.finetune")

LOG_COLUMNS = ("epoch", "step", "train_loss", "dev_loss", "dev_mcc", "lr")
_METRIC_KEYS = ("accuracy", "precision", "recall", "f1", "mcc", "auroc", "auprc")


def finetune_kwargs(
    ft_config: Mapping[str, Any], model_name: str, long_input: str | None = None,
    gpt: bool = False, min_steps: int | None = None,
) -> dict[str, Any]:
    """Keyword arguments of :func:`finetune` from the config's ``finetune:`` section.

    :meth:`dnalm.settings.Finetune.recipe` (where ``lr``, ``patience``, ``min_steps`` and
    ``long_input`` are resolved per model family), with ``long_input`` for every model: the
    command line's form. The workflow passes each rule the recipe itself
    (:func:`dnalm.paths.finetune_params`).
    """
    from dnalm.settings import Finetune

    ft = Finetune.model_validate(dict(ft_config))
    out = ft.recipe(model_name, gpt=gpt, long_input=long_input, min_steps=min_steps)
    out.setdefault("long_input", long_input or ft.long_input)
    return out


def _as_frame(x: pd.DataFrame | str | Path, name: str) -> pd.DataFrame:
    if isinstance(x, pd.DataFrame):
        for col in ("sequence", "label"):
            if col not in x.columns:
                raise ValueError(f"`{name}` lacks column {col!r}")
        df = x.reset_index(drop=True).copy()
        df["sequence"] = df["sequence"].astype(str).str.upper()
        df["label"] = df["label"].astype("int64")
        return df
    return read_split(x)


def _bucketed_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator, chunk: int = 50
) -> list[np.ndarray]:
    """Shuffle, sort by length within chunks of ``chunk`` batches, then shuffle batch order."""
    perm = rng.permutation(len(lengths))
    batches: list[np.ndarray] = []
    for c in range(0, len(perm), batch_size * chunk):
        part = perm[c : c + batch_size * chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    decay, no_decay = [], []
    for _, p in model.named_parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8)


def _linear_schedule(total: int, warmup: int) -> Callable[[int], float]:
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return f


def _cross_entropy(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, None))))


def _train(
    model: torch.nn.Module,
    k: int | None,
    train_seqs: list[str],
    train_y: np.ndarray,
    dev_seqs: list[str],
    dev_y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    warmup_fraction: float,
    weight_decay: float,
    patience: int,
    seed: int,
    device: torch.device,
    evals_per_epoch: int | None,
    max_grad_norm: float,
    verbose: bool,
    min_steps: int = 0,
    checkpointing: Checkpointing | None = None,
) -> tuple[list[dict], dict] | None:
    """Train in place, restore the best dev checkpoint; return the log rows and the best row.

    The loop is :func:`dnalm.finetune_loop.run_loop` (resume, step checkpoints, SIGUSR1/SIGTERM);
    this adds the cross-entropy of the class logits and the dev evaluation by MCC. Returns None
    after ``checkpointing.stop_at`` steps.
    """
    lengths = np.array([len(s) for s in train_seqs])
    plan = StepPlan.make(len(train_seqs), batch_size, epochs, min_steps, evals_per_epoch)
    max_bad = patience * plan.evals_per_epoch
    opt = _optimizer(model, lr, weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, _linear_schedule(plan.total, round(warmup_fraction * plan.total))
    )
    model.to(device)

    def batch_loss(idx: np.ndarray) -> torch.Tensor:
        inputs = _encode_inputs(model, [train_seqs[i] for i in idx], k)
        y = torch.from_numpy(train_y[idx]).to(device)
        with autocast(device):
            logits = _logits(model, {n: t.to(device) for n, t in inputs.items()})
        return torch.nn.functional.cross_entropy(logits.float(), y)

    def evaluate(st: LoopState, epoch: float, cur_lr: float) -> dict[str, str]:
        return _evaluate(model, k, dev_seqs, dev_y, st, epoch, cur_lr, batch_size, device, max_bad)

    st = run_loop(model, opt, sched, plan, lambda rng: _bucketed_batches(lengths, batch_size, rng),
                  batch_loss, evaluate, seed=seed, max_grad_norm=max_grad_norm,
                  checkpointing=checkpointing, verbose=verbose)  # fmt: skip
    if st is None:
        return None
    model.eval()
    return st.rows, st.best_row


def _evaluate(
    model: torch.nn.Module,
    k: int | None,
    dev_seqs: list[str],
    dev_y: np.ndarray,
    st: LoopState,
    epoch: float,
    cur_lr: float,
    batch_size: int,
    device: torch.device,
    max_bad: int,
) -> dict[str, str]:
    """One dev evaluation: log row, best-so-far weights and the early-stopping counter.

    Returns the progress bar's postfix.
    """
    probs = predict_proba(model, dev_seqs, k, batch_size=max(batch_size, 64), device=device)
    dev_mcc = classification_metrics(dev_y, probs)["mcc"]
    row = {
        "epoch": round(epoch, 4),
        "step": st.step,
        "train_loss": float(np.mean(st.losses)),
        "dev_loss": _cross_entropy(probs, dev_y),
        "dev_mcc": dev_mcc,
        "lr": cur_lr,
    }
    st.rows.append(row)
    st.losses = []
    key = [round(dev_mcc, 10), -row["dev_loss"]]
    improved = row["dev_loss"] < st.best_loss - 1e-4  # still learning (e.g. a plateau)
    st.best_loss = min(st.best_loss, row["dev_loss"])
    if st.best_key is None or key > st.best_key:
        st.best_key, st.best_row, st.bad = key, row, 0
        st.best_state = {n: t.detach().cpu().clone() for n, t in model.state_dict().items()}
    elif improved or st.best_key[0] <= 0:  # learning, or not yet above chance
        st.bad = 0
    else:
        st.bad += 1
        if st.bad >= max_bad:
            log.info("early stop at step %d (no dev improvement in %d evals)", st.step, st.bad)
            st.stopped = True
    return {"dev_mcc": f"{dev_mcc:.3f}", "dev_loss": f"{row['dev_loss']:.3f}"}


def _build_bert(
    lm_dir: Path,
    scratch: bool,
    n_classes: int,
    dropout: float,
    long_pieces: int,
    long_input: str,
):
    from transformers import BertConfig, BertForSequenceClassification, BertModel

    from dnalm.modeling import from_pretrained_strict

    cfg = BertConfig.from_pretrained(str(lm_dir))
    kw = {"attn_implementation": "sdpa"}
    if long_pieces > 1:
        if scratch:
            cfg._attn_implementation = "sdpa"
            bert = BertModel(cfg, add_pooling_layer=True)
        else:
            bert = from_pretrained_strict(
                BertModel, lm_dir, may_miss=("pooler.",), may_skip=("cls.",),
                add_pooling_layer=True, dtype=torch.float32, **kw
            )
        return LongSeqClassifier(bert, n_classes, long_input, long_pieces, dropout)
    if scratch:
        cfg.num_labels = n_classes
        cfg.classifier_dropout = dropout
        cfg._attn_implementation = "sdpa"
        return BertForSequenceClassification(cfg)
    # The masked LM brings no classifier (and, unless imported from DNABERT, no pooler).
    return from_pretrained_strict(
        BertForSequenceClassification, lm_dir, may_miss=("classifier.", "bert.pooler."),
        may_skip=("cls.",), num_labels=n_classes, classifier_dropout=dropout,
        dtype=torch.float32, **kw
    )


def _atomic_text(path: Path, text: str) -> None:
    atomic.write_text(path, text)


def _atomic_gzip_tsv(path: Path, df: pd.DataFrame) -> None:
    text = df.to_csv(sep="\t", index=False, float_format="%.8g").encode()
    atomic.write_bytes(path, gzip.compress(text, mtime=0))


def _save_model_dir(
    model: torch.nn.Module,
    k: int | None,
    target: Path,
    *,
    task_card: Card | None,
    train: Any,
    train_rows: tuple[list[str], np.ndarray],
    labels: dict[str, np.ndarray],
    metrics: dict[str, Any],
    test_probs: np.ndarray,
    model_name: str,
    lm_dir: str | Path | None,
) -> None:
    """``target`` as a standalone model directory: weights, labels, card.json, README.md
    (test metrics with bootstrap CIs)."""
    from dnalm.baselines import KmerLRClassifier, OneHotClassifier

    n_classes = int(metrics["n_classes"])
    names = class_names(task_card, n_classes)
    lengths = {len(s) for s in train_rows[0]}
    training = training_hash(train if isinstance(train, str | Path)
                             else zip(train_rows[0], train_rows[1].tolist(), strict=True))  # fmt: skip
    kind = ("longseq" if isinstance(model, LongSeqClassifier)
            else "gpt" if getattr(model, "input_kind", None) == "gpt"
            else "baseline" if isinstance(model, OneHotClassifier | KmerLRClassifier) else "bert")  # fmt: skip
    card = model_task_card(
        task_card, task=metrics.get("task"), n_classes=n_classes,
        k=k if kind != "baseline" else None, counts=split_counts(labels),
        window_length=lengths.pop() if len(lengths) == 1 else None, training=training,
    )  # fmt: skip
    try:
        ci = bootstrap_ci(labels["test"], test_probs)
    except ValueError:  # e.g. one test row
        ci = None
    readme = model_readme(card, metrics, model_name=model_name, kind=kind, lm_dir=lm_dir, ci=ci)
    save_classifier_dir(model, target, k=k, labels=names, card=card, readme=readme,
                        name=model_name if kind == "baseline" else None)  # fmt: skip


def _check_gpt_lengths(model: GptClassifier, seqs: Mapping[str, list[str]]) -> None:
    """Refuse, before training, splits with a sequence longer than a GPT model's positions."""
    for split, rows in seqs.items():
        longest = max((len(s) for s in rows), default=0)
        if longest > model.max_bases:
            raise ValueError(f"{split}: a {longest}-bp sequence does not fit the GPT model's "
                             f"{model.max_positions} positions (at most {model.max_bases} bp)")


def _json_safe(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def _lm_verdict(lm_dir: Path, model_name: str) -> str:
    """The LM's learning verdict (:func:`dnalm.pretrain.read_learning_check`), logged; a WARNING
    when it does not beat the k-mer baseline, ``unchecked`` when it has no check (imported)."""
    check = read_learning_check(lm_dir)
    if check is None:
        log.info("%s: language model %s is %s", model_name, lm_dir, check_summary(None))
        return "unchecked"
    if check["verdict"] != "learns":
        log.warning("%s starts from a language model that does not beat the k-mer frequency "
                    "baseline (%s): %s", model_name, lm_dir / CHECK_FILE, check.get("reason", ""))
    else:
        log.info("%s: language model %s %s", model_name, lm_dir, check_summary(check))
    return str(check["verdict"])


def finetune(
    train: pd.DataFrame | str | Path,
    dev: pd.DataFrame | str | Path,
    test: pd.DataFrame | str | Path,
    out_dir: str | Path,
    model_name: str,
    lm_dir: str | Path | None = None,
    scratch: bool = False,
    k: int | None = None,
    n_classes: int | None = None,
    epochs: int = 3,
    batch_size: int = 32,
    lr: float = 3e-5,
    warmup_fraction: float = 0.1,
    weight_decay: float = 0.01,
    dropout: float = 0.1,
    patience: int = 2,
    seed: int = 1,
    long_input: str = "mean",
    device: str | torch.device | None = None,
    verbose: bool = False,
    task: str | None = None,
    evals_per_epoch: int | None = None,
    max_grad_norm: float = 1.0,
    num_threads: int | None = None,
    min_steps: int = 0,
    ckpt_dir: str | Path | None = None,
    checkpoint_every: int = 2000,
    keep_checkpoints: int = 1,
    stop_at: int | None = None,
    on_step: Callable[[int], None] | None = None,
    card: str | Path | Card | None = None,
) -> dict[str, Any]:
    """Fine-tune and evaluate one model on one task; write its outputs to ``out_dir``.

    Parameters
    ----------
    train, dev, test : pandas.DataFrame or path
        Splits with ``sequence`` and ``label`` columns (paths are read by
        :func:`dnalm.dataset.read_split`). Test row i is ``index`` i of ``predictions.tsv.gz``.
    out_dir : str or pathlib.Path
    model_name : str
        ``<lm>``, ``<lm>-scratch``, ``cnn``, ``cnn_lstm``, ``cnn_gru`` or ``kmer_lr``.
    lm_dir : str or pathlib.Path, optional
        Pretrained ``BertForMaskedLM`` directory with k-mer tokenizer files (BERT models;
        for ``scratch`` only its config and vocabulary are used), or a GPT language-model
        directory (:func:`dnalm.gpt.classify.build_gpt_classifier`). Default is None.
    scratch : bool, optional
        Random initialisation with the LM's architecture (the paper's Fig. 6d control).
        Default is False.
    k : int, optional
        k-mer size. BERT models take it from ``lm_dir`` (a different value raises);
        ``kmer_lr`` uses it (Default is 4 there); one-hot baselines ignore it.
    n_classes : int, optional
        Default is 1 + the largest label (at least 2).
    epochs, batch_size, lr, warmup_fraction, weight_decay, dropout, patience : optional
        Training settings; ``patience`` counts epochs without a better dev MCC.
        Defaults are 3, 32, 3e-5, 0.1, 0.01, 0.1, 2.
    seed : int, optional
        Seeds Python, NumPy and torch; same seed on CPU, same outputs. Default is 1.
    long_input : {"mean", "max", "concat"}, optional
        How pieces of inputs longer than the LM's positions are combined. Default is "mean".
    device : str or torch.device, optional
        Default is cuda if available, else cpu.
    verbose : bool, optional
        tqdm progress. Default is False.
    task : str, optional
        Task name stored in ``metrics.json``. Default is None.
    evals_per_epoch : int, optional
        Dev evaluations per epoch. Default is about 20 over the run (at most one per step).
    max_grad_norm : float, optional
        Default is 1.0.
    num_threads : int, optional
        ``torch.set_num_threads``. Default is None (unchanged).
    min_steps : int, optional
        Train at least this many optimizer steps: a small training set gets extra epochs
        (``max(epochs, ceil(min_steps / steps_per_epoch))``). Default is 0.
    ckpt_dir : str or pathlib.Path, optional
        Step checkpoints of the neural models (:mod:`dnalm.finetune_state`): a rerun resumes
        from the newest one written with the same settings, data and language model (others
        are moved into ``stale-*`` subfolders); SIGUSR1/SIGTERM write one and raise
        :class:`~dnalm.pretrain.PreemptedError`. Removed once the outputs are written.
        Default is None (no checkpoints; signals are left alone).
    checkpoint_every : int, optional
        Optimizer steps between checkpoints. Default is 2000.
    keep_checkpoints : int, optional
        Newest checkpoints kept while training. Default is 1.
    stop_at : int, optional
        With ``ckpt_dir``: checkpoint after this step and return ``{"status": "stopped",
        "step": stop_at}`` without writing outputs (a controlled interruption). Default is None.
    on_step : callable, optional
        With ``ckpt_dir``: called with the step number after each optimizer step (tests send
        signals from it). Default is None.
    card : str or pathlib.Path or dnalm.dataset.Card, optional
        The task card (``results/datasets/{task}/card.json``), copied into ``model/card.json``
        with the training split's SHA-256; it names the classes. Default is None (a card is
        made from the splits).

    Returns
    -------
    metrics : dict
        The content of ``metrics.json``: test ``accuracy``, ``precision``, ``recall``,
        ``f1``, ``mcc``, ``auroc``, ``auprc`` plus ``task``, ``model``, ``seed``,
        ``n_train``/``n_dev``/``n_test``, ``best_epoch``, ``best_step``, ``dev_mcc``,
        ``constant_prediction``, ``note``, ``lm_verdict`` and ``runtime_s``. ``lm_verdict`` is
        the pretrained LM's learning check (``learns`` / ``does_not_beat_baseline``; a
        WARNING is logged for the latter), ``unchecked`` for an LM without one (imported),
        ``not_used`` for ``-scratch`` models and None for baselines.

    Raises
    ------
    PreemptedError
        After SIGUSR1/SIGTERM (with ``ckpt_dir``), once the checkpoint is written.
    """
    t0 = time.perf_counter()
    if long_input not in POOLINGS:
        raise ValueError(f"`long_input` must be one of {POOLINGS}, got {long_input!r}")
    for name, v in (("epochs", epochs), ("batch_size", batch_size), ("patience", patience),
                    ("checkpoint_every", checkpoint_every), ("keep_checkpoints", keep_checkpoints)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"`{name}` must be a positive integer, got {v!r}")
    if num_threads:
        torch.set_num_threads(int(num_threads))
    task_card = card if isinstance(card, Card) or card is None else read_card(card)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dfs = {n: _as_frame(x, n) for n, x in (("train", train), ("dev", dev), ("test", test))}
    max_label = max(int(d["label"].max()) for d in dfs.values())
    n_classes = max(2, max_label + 1) if n_classes is None else int(n_classes)
    if max_label >= n_classes:
        raise ValueError(f"`n_classes`={n_classes} but a label is {max_label}")
    seqs = {n: d["sequence"].tolist() for n, d in dfs.items()}
    ys = {n: d["label"].to_numpy(np.int64) for n, d in dfs.items()}
    dev_ = resolve_device(device)
    random.seed(seed)
    torch.manual_seed(seed)

    model: torch.nn.Module | None = None
    lm_verdict: str | None = None  # the LM's learning check (BERT models only)
    if model_name == "kmer_lr":
        k = 4 if k is None else k
        model, rows, best = fit_kmer_lr(
            seqs["train"], ys["train"], seqs["dev"], ys["dev"], n_classes, k=k, seed=seed
        )
        rows = [{"epoch": j + 1, "step": j + 1, **r, "lr": math.nan} for j, r in enumerate(rows)]
        best_row = rows[best]
        test_probs = predict_proba(model, seqs["test"], k, batch_size=max(batch_size, 64),
                                   device="cpu")  # fmt: skip
        init = "none"
    else:
        if lm_dir is not None:  # dnalm.gpt pulls in transformers (~3 s of CPU): LM runs only
            from dnalm.gpt.classify import build_gpt_classifier, is_gpt_dir
            from dnalm.gpt.tokenizer import K as GPT_K
        if lm_dir is not None and is_gpt_dir(lm_dir):  # a DNAGPT-style LM (dnalm.gpt.classify)
            model, k = build_gpt_classifier(lm_dir, n_classes, scratch=scratch, seed=seed), GPT_K
            _check_gpt_lengths(model, seqs)
            init = "scratch" if scratch else "pretrained"
            lm_verdict = "not_used" if scratch else _lm_verdict(Path(lm_dir), model_name)
        elif model_name in NEURAL_BASELINES:
            model = build_baseline(model_name, n_classes, dropout=dropout)
            init = "none"
        else:
            if lm_dir is None:
                raise ValueError(f"`lm_dir` is required for BERT model {model_name!r}")
            lm_k = kmers.load_tokenizer(lm_dir).k
            if k is not None and int(k) != lm_k:
                raise ValueError(
                    f"`k`={k} but {Path(lm_dir) / 'vocab.txt'} is a k={lm_k} vocabulary"
                )
            k = lm_k
            from transformers import BertConfig

            max_pos = int(BertConfig.from_pretrained(str(lm_dir)).max_position_embeddings)
            longest = max(max(len(s) for s in v) for v in seqs.values())
            pieces = n_pieces(longest, k, max_pos)
            if pieces > 1:
                log.info(
                    "inputs up to %d bp need %d pieces: long-input model (%s)",
                    longest,
                    pieces,
                    long_input,
                )
            model = _build_bert(Path(lm_dir), scratch, n_classes, dropout, pieces, long_input)
            init = "scratch" if scratch else "pretrained"
            lm_verdict = "not_used" if scratch else _lm_verdict(Path(lm_dir), model_name)
        n_params = sum(p.numel() for p in model.parameters())
        log.info(
            "%s: %d parameters, %s init, %d/%d/%d train/dev/test, device %s",
            model_name,
            n_params,
            init,
            len(seqs["train"]),
            len(seqs["dev"]),
            len(seqs["test"]),
            dev_,
        )
        settings = {"epochs": epochs, "batch_size": batch_size, "lr": lr,
                    "warmup_fraction": warmup_fraction, "weight_decay": weight_decay,
                    "dropout": dropout, "patience": patience, "seed": seed,
                    "long_input": long_input, "evals_per_epoch": evals_per_epoch,
                    "max_grad_norm": max_grad_norm, "min_steps": min_steps}  # fmt: skip
        cp = None
        if ckpt_dir is not None:
            fp = finetune_fingerprint(model_name, init, lm_dir, k, n_classes, settings,
                                      (seqs["train"], ys["train"]), (seqs["dev"], ys["dev"]))
            cp = Checkpointing(Path(ckpt_dir), int(checkpoint_every), int(keep_checkpoints),
                               fp, stop_at, on_step)
        trained = _train(
            model, k, seqs["train"], ys["train"], seqs["dev"], ys["dev"],
            epochs=epochs, batch_size=batch_size, lr=lr, warmup_fraction=warmup_fraction,
            weight_decay=weight_decay, patience=patience, seed=seed, device=dev_,
            evals_per_epoch=evals_per_epoch, max_grad_norm=max_grad_norm, verbose=verbose,
            min_steps=min_steps, checkpointing=cp,
        )  # fmt: skip
        if trained is None:
            log.info("stopped after step %d (checkpoint in %s)", stop_at, ckpt_dir)
            return {"status": "stopped", "step": stop_at}
        rows, best_row = trained
        test_probs = predict_proba(
            model, seqs["test"], k, batch_size=max(batch_size, 64), device=dev_
        )

    m = classification_metrics(ys["test"], test_probs)
    if m["constant_prediction"]:
        log.warning(
            "%s collapsed: every test sequence predicted class %d (MCC %.3f); try a lower lr "
            "or more epochs", model_name, int(test_probs.argmax(1)[0]), m["mcc"],
        )  # fmt: skip
    if m["note"]:
        log.info("metrics note: %s", m["note"])
    metrics = {
        "task": task,
        "model": model_name,
        "seed": int(seed),
        "init": init,
        "n_classes": n_classes,
        "n_train": len(seqs["train"]),
        "n_dev": len(seqs["dev"]),
        "n_test": len(seqs["test"]),
        **{key: m[key] for key in _METRIC_KEYS},
        "best_epoch": best_row.get("epoch"),
        "best_step": best_row.get("step"),
        "dev_mcc": best_row.get("dev_mcc"),
        "constant_prediction": m["constant_prediction"],
        "note": m["note"],
        "lm_verdict": lm_verdict,
    }
    pred = pd.DataFrame(
        {"split": "test", "index": np.arange(len(ys["test"])), "label": ys["test"],
         "pred": test_probs.argmax(1)}
    )  # fmt: skip
    for c in range(n_classes):
        pred[f"p{c}"] = test_probs[:, c]
    train_log = pd.DataFrame(rows)
    cols = list(LOG_COLUMNS) + [c for c in train_log.columns if c not in LOG_COLUMNS]
    if model is not None:
        _save_model_dir(model, k, out / "model", task_card=task_card, train=train,
                        train_rows=(seqs["train"], ys["train"]), labels=ys, metrics=metrics,
                        test_probs=test_probs, model_name=model_name, lm_dir=lm_dir)  # fmt: skip
    _atomic_gzip_tsv(out / "predictions.tsv.gz", pred)
    _atomic_text(out / "train_log.tsv", train_log[cols].to_csv(sep="\t", index=False))
    metrics["runtime_s"] = round(time.perf_counter() - t0, 3)
    _atomic_text(out / "metrics.json", json.dumps(_json_safe(metrics), indent=2) + "\n")
    if ckpt_dir is not None and ckpt.remove_checkpoints(ckpt_dir):
        log.info("outputs written; removed the step checkpoints in %s", ckpt_dir)
    log.info("%s on %s seed %d: test MCC %.4f, AUROC %s (best dev MCC %.4f at epoch %s)",
             model_name, task, seed, m["mcc"], m["auroc"], best_row.get("dev_mcc", math.nan),
             best_row.get("epoch"))  # fmt: skip
    return metrics


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m dnalm.finetune --train T --dev D --test E --out-dir O --model M``.

    ``--settings`` is the config's ``finetune:`` section as JSON (or a JSON file); it gives
    every training setting, as for the workflow's rules. Exits 1 (a traceback) after
    SIGUSR1/SIGTERM once the checkpoint is written, so a requeued or retried job resumes.
    """
    from dnalm.settings import is_scratch

    ap = argparse.ArgumentParser(description="Fine-tune and evaluate one model on one task.")
    for split in ("train", "dev", "test"):
        ap.add_argument(f"--{split}", required=True, help=f"{split} split (.tsv or .tsv.gz)")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--model", required=True, help="<lm>, <lm>-scratch, cnn, cnn_lstm, cnn_gru, kmer_lr")
    ap.add_argument("--lm-dir", default=None, help="language-model directory (BERT models)")
    ap.add_argument("--ckpt-dir", default=None, help="step checkpoints (resumed when present)")
    ap.add_argument("--card", default=None, help="task card.json (copied into model/)")
    ap.add_argument("--settings", default="{}", help="the finetune: config section, JSON or a file")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--task", default=None)
    ap.add_argument("--device", default=None)
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args(argv)
    text = Path(a.settings).read_text() if Path(a.settings).is_file() else a.settings
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    gpt = False
    if a.lm_dir is not None:
        from dnalm.gpt.classify import is_gpt_dir

        gpt = is_gpt_dir(a.lm_dir)
    metrics = finetune(a.train, a.dev, a.test, a.out_dir, a.model, lm_dir=a.lm_dir,
                       scratch=is_scratch(a.model), seed=a.seed, task=a.task,
                       device=a.device, num_threads=a.threads, ckpt_dir=a.ckpt_dir, card=a.card,
                       **finetune_kwargs(json.loads(text), a.model, gpt=gpt))  # fmt: skip
    print(json.dumps(_json_safe(metrics)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
