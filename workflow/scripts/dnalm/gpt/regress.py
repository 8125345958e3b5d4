"""Expression regression with a DNAGPT-style model: promoter tokens plus numbers in, a number out.

Each example becomes DNAGPT's regression row (reference ``scripts/regression.sh``)::

    <R> t_1 ... t_n <+> <M>*F <=> <M>

- ``t_i`` are the promoter's non-overlapping 6-mers; a promoter longer than the model's
  positions allow is cut to its centred part (the task's window is centred on the TSS);
- each of the F numeric features (Xpresso's 8 half-life features) replaces the token
  embedding of one ``<M>`` slot through the model's number embedding (``num_embed``), after
  standardisation with the training split's mean and s.d.;
- the regression head (``reg_head``) read at the last ``<M>`` predicts the standardised target;
  the loss is the MSE.

Training: AdamW and the linear warm-up/decay of :mod:`dnalm.finetune`, length-bucketed batches,
dev evaluation several times per epoch, the best checkpoint by dev Pearson r and early stopping
after ``patience`` epochs without a better one, never before ``min_steps`` steps (reading the
numbers takes about a hundred steps to start; the dev r is flat until then). The loop is the
fine-tuning one (:func:`dnalm.finetune_loop.run_loop`), so with ``ckpt_dir`` a run is resumable
as classification fine-tuning is: step checkpoints every ``checkpoint_every`` steps and on
SIGUSR1/SIGTERM (then :class:`~dnalm.pretrain.PreemptedError`), each with the optimizer,
scheduler, RNG, data position and best-so-far state, loaded without unpickling; a rerun with the
same settings, data and language model (:func:`dnalm.finetune_state.regression_fingerprint`)
resumes and ends exactly as an uninterrupted run on the CPU. Outputs in the fine-tuning layout beside the
k-mer ridge (:mod:`dnalm.kmer_ridge`): ``metrics.json`` (test Pearson r, r², R², MSE with 95%
bootstrap CIs), ``predictions.tsv.gz`` (``source_id split value prediction``), ``train_log.tsv``
and ``model/`` (a GPT model directory whose ``config.json`` holds ``dnalm_regression``: the
feature names and scalings, and the row template).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from dnalm import atomic
from dnalm import checkpoint as ckpt
from dnalm._compat import resolve_device
from dnalm.expression import Row, read_regression_split
from dnalm.finetune_loop import Checkpointing, StepPlan, run_loop
from dnalm.finetune_state import LoopState, regression_fingerprint
from dnalm.gpt.classify import CLASSIFIER_KEY, is_gpt_dir
from dnalm.gpt.model import DnaGptModel, build_gpt, load_gpt_dir, save_gpt_dir
from dnalm.gpt.tokenizer import NUM_ID, PAD_ID, RESERVED, SPECIES_ID, GptTokenizer, K
from dnalm.metrics import regression_metrics

__all__ = ["REGRESSION_KEY", "GptRegressor", "fit_gpt_regression", "load_gpt_regressor", "regression_rows"]

log = logging.getLogger(__name__)

#: ``config.json`` key of a fine-tuned GPT regression model.
REGRESSION_KEY = "dnalm_regression"
_PLUS_ID = RESERVED.index("<+>")
_ANSWER_ID = RESERVED.index("<=>")
_TEMPLATE = "<R> SEQ <+> <M>*F <=> <M>"
LOG_COLUMNS = ("epoch", "step", "train_loss", "dev_mse", "dev_pearson_r", "lr")


def regression_rows(seqs: Sequence[str], n_features: int, max_positions: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Token rows ``<R> 6-mers <+> <M>*F <=> <M>``, right-padded with ``<P>``.

    Sequences too long for ``max_positions`` are cut to their centred part.

    Returns
    -------
    input_ids : numpy.ndarray, shape=(B, T), dtype=int64
    number_pos : numpy.ndarray, shape=(B, F), dtype=int64
        Positions of the F number slots of each row.
    query_pos : numpy.ndarray, shape=(B,), dtype=int64
        Position of the final ``<M>`` (the regression query).
    """
    room = max_positions - n_features - 4
    if room < 1:
        raise ValueError(f"{n_features} features leave no room for a sequence in {max_positions} positions")
    toks = []
    for s in seqs:
        t = GptTokenizer.encode(s)
        if len(t) > room:
            a = (len(s) - room * K) // 2
            t = GptTokenizer.encode(s[a : a + room * K])
        toks.append(t)
    lens = np.array([len(t) + n_features + 4 for t in toks], dtype=np.int64)
    ids = np.full((len(toks), int(lens.max())), PAD_ID, dtype=np.int64)
    num_pos = np.zeros((len(toks), n_features), dtype=np.int64)
    for r, t in enumerate(toks):
        n = len(t)
        ids[r, 0] = SPECIES_ID
        ids[r, 1 : n + 1] = t
        ids[r, n + 1] = _PLUS_ID
        num_pos[r] = np.arange(n + 2, n + 2 + n_features)
        ids[r, num_pos[r]] = NUM_ID
        ids[r, n + 2 + n_features] = _ANSWER_ID
        ids[r, n + 3 + n_features] = NUM_ID
    return ids, num_pos, lens - 1


class GptRegressor(torch.nn.Module):
    """A :class:`DnaGptModel` read as a regression: numbers in at ``<M>`` slots, out at the last ``<M>``.

    Parameters
    ----------
    gpt : DnaGptModel
    n_features : int
        Number slots per row (0: sequence only).
    """

    def __init__(self, gpt: DnaGptModel, n_features: int) -> None:
        super().__init__()
        self.gpt = gpt
        self.n_features = int(n_features)
        gpt.lm_head.requires_grad_(False)  # not read here
        gpt.transformer.wte.requires_grad_(False)  # as dnalm.gpt.classify: 2.5 M rows, few seen

    def encode(self, seqs: Sequence[str], features: np.ndarray) -> dict[str, torch.Tensor]:
        """CPU inputs of a batch; ``features`` shape=(B, F), already standardised."""
        ids, num_pos, q = regression_rows(seqs, self.n_features, int(self.gpt.config.n_positions))
        feats = np.asarray(features, dtype=np.float32).reshape(len(seqs), self.n_features)
        return {"input_ids": torch.from_numpy(ids), "numbers": torch.from_numpy(feats),
                "number_pos": torch.from_numpy(num_pos), "query_pos": torch.from_numpy(q)}

    def forward(self, input_ids: torch.Tensor, numbers: torch.Tensor, number_pos: torch.Tensor,
                query_pos: torch.Tensor) -> torch.Tensor:
        """Standardised predictions, shape=(B,)."""
        emb = self.gpt.transformer.wte(input_ids)
        if self.n_features:
            vec = self.gpt.num_embed(numbers.to(emb.dtype).reshape(-1, 1)).reshape(*numbers.shape, -1)
            b = torch.arange(input_ids.shape[0], device=input_ids.device)[:, None].expand_as(number_pos)
            emb = emb.index_put((b, number_pos), vec.to(emb.dtype))
        h = self.gpt.transformer(inputs_embeds=emb, use_cache=False).last_hidden_state
        return self.gpt.regress(h[torch.arange(h.shape[0], device=h.device), query_pos])


def _scaling(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu, sd = x.mean(0), x.std(0)
    return mu, np.where(sd > 0, sd, 1.0)


@torch.no_grad()
def _predict(model: GptRegressor, seqs: list[str], feats: np.ndarray, batch_size: int,
             device: torch.device) -> np.ndarray:
    was = model.training
    model.eval()
    out = np.zeros(len(seqs))
    order = np.argsort([len(s) for s in seqs], kind="stable")
    for i in range(0, len(seqs), batch_size):
        idx = order[i : i + batch_size]
        inp = model.encode([seqs[j] for j in idx], feats[idx])
        out[idx] = model(**{k: v.to(device) for k, v in inp.items()}).float().cpu().numpy()
    model.train(was)
    return out


def _pearson(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.corrcoef(y, p)[0, 1]) if np.std(p) > 0 and np.std(y) > 0 else 0.0


def fit_gpt_regression(
    splits: Mapping[str, str | Path],
    out_dir: str | Path,
    lm_dir: str | Path,
    model_name: str,
    scratch: bool = False,
    task: str | None = None,
    epochs: int = 3,
    batch_size: int = 32,
    lr: float = 3e-5,
    warmup_fraction: float = 0.1,
    weight_decay: float = 0.01,
    patience: int = 2,
    min_steps: int = 0,
    seed: int = 1,
    n_boot: int = 1000,
    max_grad_norm: float = 1.0,
    device: str | torch.device | None = None,
    num_threads: int | None = None,
    ckpt_dir: str | Path | None = None,
    checkpoint_every: int = 2000,
    keep_checkpoints: int = 1,
    stop_at: int | None = None,
    on_step: Callable[[int], None] | None = None,
    verbose: bool = False,
    **_: Any,
) -> dict[str, Any]:
    """Fine-tune a GPT language model as an expression regression and write its outputs.

    Parameters
    ----------
    splits : mapping
        ``train``, ``dev``, ``test``: regression split TSVs (:mod:`dnalm.expression`).
    out_dir : str or Path
        ``results/finetune/{task}/{model}/seed{seed}``: ``metrics.json``,
        ``predictions.tsv.gz``, ``train_log.tsv`` and ``model/`` are written there.
    lm_dir : str or Path
        A GPT language-model directory (``results/pretrain/<lm>/model``).
    model_name : str
        ``<lm>`` or ``<lm>-scratch``.
    scratch : bool, optional
        Random initialisation with the LM's size. Default is False.
    task : str, optional
        Stored in ``metrics.json``. Default is None.
    epochs, batch_size, lr, warmup_fraction, weight_decay, patience, min_steps : optional
        As :func:`dnalm.finetune.finetune` (``patience`` in epochs without a better dev r).
        Defaults are 3, 32, 3e-5, 0.1, 0.01, 2, 0.
    seed : int, optional
        Seeds the initialisation, batch order and the bootstrap. Default is 1.
    n_boot : int, optional
        Bootstrap resamples of the test CIs. Default is 1000.
    max_grad_norm : float, optional
        Default is 1.0.
    device : str or torch.device, optional
        Default is cuda if available, else cpu.
    num_threads : int, optional
        ``torch.set_num_threads``. Default is None (unchanged).
    ckpt_dir : str or Path, optional
        Step checkpoints, as :func:`dnalm.finetune.finetune`: a rerun resumes from the newest
        one of the same settings, data and language model (others are moved into ``stale-*``);
        SIGUSR1/SIGTERM write one and raise :class:`~dnalm.pretrain.PreemptedError`. Removed
        once the outputs are written. Default is None (no checkpoints; signals left alone).
    checkpoint_every, keep_checkpoints : int, optional
        Steps between checkpoints; newest kept. Defaults are 2000, 1.
    stop_at : int, optional
        With ``ckpt_dir``: checkpoint after this step and return ``{"status": "stopped",
        "step": stop_at}`` without writing outputs. Default is None.
    on_step : callable, optional
        With ``ckpt_dir``: called with the step number after each step. Default is None.
    verbose : bool, optional
        tqdm progress. Default is False.
    **_
        Other ``finetune:`` settings (dropout, long_input) do not apply and are ignored.

    Returns
    -------
    metrics : dict
        ``model``, ``task_type`` (``regression``), test ``n``, ``pearson_r``, ``r2``,
        ``r2_score``, ``mse``, ``ci``, ``dev`` metrics, ``best_step``, ``runtime_s``, ...

    Raises
    ------
    ValueError
        Naming the file: splits with differing features, fewer than 3 rows, or an ``lm_dir``
        that is not a GPT language model.
    PreemptedError
        After SIGUSR1/SIGTERM (with ``ckpt_dir``), once the checkpoint is written.
    """
    from dnalm.finetune import _bucketed_batches, _linear_schedule, _optimizer

    t0 = time.perf_counter()
    if num_threads:
        torch.set_num_threads(int(num_threads))
    for name, v in (("epochs", epochs), ("batch_size", batch_size), ("patience", patience),
                    ("checkpoint_every", checkpoint_every), ("keep_checkpoints", keep_checkpoints)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"`{name}` must be a positive integer, got {v!r}")
    d = Path(lm_dir)
    if not is_gpt_dir(d):
        raise ValueError(f"{d / 'config.json'}: not a dnalm GPT language model (DnaGptModel)")
    cfg = json.loads((d / "config.json").read_text())
    if CLASSIFIER_KEY in cfg or REGRESSION_KEY in cfg:
        raise ValueError(f"{d / 'config.json'}: is a fine-tuned GPT model, not a language model")
    data = {s: read_regression_split(splits[s]) for s in ("train", "dev", "test")}
    names = data["train"][1]
    for s in ("dev", "test"):
        if data[s][1] != names:
            raise ValueError(f"{splits[s]}:1: features {data[s][1]} differ from train's {names}")
    rows: dict[str, list[Row]] = {s: v[0] for s, v in data.items()}
    if min(len(v) for v in rows.values()) < 3:
        raise ValueError(f"every split needs >= 3 rows, got { {s: len(v) for s, v in rows.items()} }")
    seqs = {s: [r.sequence for r in v] for s, v in rows.items()}
    y = {s: np.array([r.value for r in v], dtype=np.float64) for s, v in rows.items()}
    x = {s: np.array([r.features for r in v], dtype=np.float64).reshape(len(v), len(names))
         for s, v in rows.items()}  # fmt: skip
    f_mu, f_sd = _scaling(x["train"]) if names else (np.zeros(0), np.ones(0))
    y_mu, y_sd = float(y["train"].mean()), float(y["train"].std() or 1.0)
    z = {s: ((v - f_mu) / f_sd).astype(np.float32) for s, v in x.items()}

    random.seed(seed)
    torch.manual_seed(seed)
    dev_ = resolve_device(device)
    if scratch:
        gpt = build_gpt(cfg["dnagpt"]["size"], n_positions=int(cfg["n_positions"]), seed=seed)
    else:
        gpt = load_gpt_dir(d)[0]
    model = GptRegressor(gpt.float().train(), len(names)).to(dev_)
    log.info("%s: %d trainable parameters, %s init, %d/%d/%d train/dev/test, %d features",
             model_name, sum(p.numel() for p in model.parameters() if p.requires_grad),
             "scratch" if scratch else "pretrained", *(len(rows[s]) for s in ("train", "dev", "test")),
             len(names))  # fmt: skip

    lengths = np.array([len(s) for s in seqs["train"]])
    plan = StepPlan.make(len(lengths), batch_size, epochs, min_steps)
    max_bad = patience * plan.evals_per_epoch
    opt = _optimizer(model, lr, weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, _linear_schedule(plan.total, round(warmup_fraction * plan.total)))
    yz = ((y["train"] - y_mu) / y_sd).astype(np.float32)

    def batch_loss(idx: np.ndarray) -> torch.Tensor:
        inp = model.encode([seqs["train"][i] for i in idx], z["train"][idx])
        pred = model(**{k: v.to(dev_) for k, v in inp.items()})
        return F.mse_loss(pred.float(), torch.from_numpy(yz[idx]).to(dev_))

    def evaluate(st: LoopState, epoch: float, cur_lr: float) -> dict[str, str]:
        p = _predict(model, seqs["dev"], z["dev"], max(batch_size, 64), dev_) * y_sd + y_mu
        r = _pearson(y["dev"], p)
        row = {"epoch": round(epoch, 4), "step": st.step, "train_loss": float(np.mean(st.losses)),
               "dev_mse": float(np.mean((p - y["dev"]) ** 2)), "dev_pearson_r": r, "lr": cur_lr}  # fmt: skip
        st.rows.append(row)
        st.losses = []
        st.best_loss = min(st.best_loss, row["dev_mse"])
        if st.best_key is None or r > st.best_key[0] + 1e-6:
            st.best_key, st.best_row, st.bad = [r], row, 0
            st.best_state = {n: t.detach().cpu().clone() for n, t in model.state_dict().items()}
        else:
            st.bad += 1
            if st.bad >= max_bad and st.step >= min_steps:  # the number path needs ~100 steps
                log.info("early stop at step %d (no better dev r in %d evals)", st.step, st.bad)
                st.stopped = True
        return {"dev_r": f"{r:.3f}"}

    cp = None
    if ckpt_dir is not None:
        settings = {"epochs": epochs, "batch_size": batch_size, "lr": lr,
                    "warmup_fraction": warmup_fraction, "weight_decay": weight_decay,
                    "patience": patience, "min_steps": min_steps, "seed": seed,
                    "max_grad_norm": max_grad_norm}  # fmt: skip
        fp = regression_fingerprint(model_name, "scratch" if scratch else "pretrained", d, names,
                                    settings, (seqs["train"], y["train"], x["train"]),
                                    (seqs["dev"], y["dev"], x["dev"]))  # fmt: skip
        cp = Checkpointing(Path(ckpt_dir), int(checkpoint_every), int(keep_checkpoints), fp,
                           stop_at, on_step)  # fmt: skip
    st = run_loop(model, opt, sched, plan, lambda g: _bucketed_batches(lengths, batch_size, g),
                  batch_loss, evaluate, seed=seed, max_grad_norm=max_grad_norm, checkpointing=cp,
                  verbose=verbose, desc="regress")  # fmt: skip
    if st is None:
        log.info("stopped after step %d (checkpoint in %s)", stop_at, ckpt_dir)
        return {"status": "stopped", "step": stop_at}
    best_r, best_row = st.best_key[0], st.best_row
    pred = {s: _predict(model, seqs[s], z[s], max(batch_size, 64), dev_) * y_sd + y_mu for s in ("dev", "test")}
    test = regression_metrics(y["test"], pred["test"], n_boot=n_boot, random_state=seed)
    dev_m = regression_metrics(y["dev"], pred["dev"], n_boot=n_boot, random_state=seed)
    keys = ("n", "pearson_r", "r2", "r2_score", "mse")
    metrics = {
        "task": task, "model": model_name, "task_type": "regression",
        "init": "scratch" if scratch else "pretrained", "features": names,
        "n_train": len(rows["train"]), **{k: test[k] for k in keys}, "ci": test["ci"],
        "dev": {k: dev_m[k] for k in keys}, "best_step": best_row["step"], "best_epoch": best_row["epoch"],
        "seed": int(seed), "steps": st.step,
    }  # fmt: skip
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    setattr(gpt.config, REGRESSION_KEY, {
        "template": _TEMPLATE, "features": names, "feature_mean": f_mu.tolist(),
        "feature_sd": f_sd.tolist(), "target_mean": y_mu, "target_sd": y_sd})  # fmt: skip
    model.to("cpu")
    save_gpt_dir(gpt, out / "model")
    with atomic.open_gzip(out / "predictions.tsv.gz") as gz:
        gz.write(b"source_id\tsplit\tvalue\tprediction\n")
        for s in ("dev", "test"):
            for r_, p_ in zip(rows[s], pred[s], strict=True):
                gz.write(f"{r_.source_id}\t{s}\t{r_.value:.9g}\t{p_:.9g}\n".encode())
    atomic.write_text(out / "train_log.tsv", pd.DataFrame(st.rows, columns=list(LOG_COLUMNS))
                      .to_csv(sep="\t", index=False))  # fmt: skip
    metrics["runtime_s"] = round(time.perf_counter() - t0, 3)
    atomic.write_json(out / "metrics.json", metrics)
    if ckpt_dir is not None and ckpt.remove_checkpoints(ckpt_dir):
        log.info("outputs written; removed the step checkpoints in %s", ckpt_dir)
    log.info("%s on %s seed %d: test pearson r %.3f [%.3f, %.3f], r2 %.3f (best dev r %.3f at step %d)",
             model_name, task, seed, metrics["pearson_r"], *metrics["ci"]["pearson_r"], metrics["r2"],
             best_r, best_row["step"])  # fmt: skip
    return metrics


def load_gpt_regressor(directory: str | Path) -> tuple[GptRegressor, dict[str, Any]]:
    """Load a model directory written by :func:`fit_gpt_regression`: (regressor, its scalings).

    Raises
    ------
    ValueError
        Naming the file, for a directory that is not a GPT regression model.
    """
    d = Path(directory)
    if not is_gpt_dir(d):
        raise ValueError(f"{d / 'config.json'}: not a dnalm GPT model directory")
    spec = json.loads((d / "config.json").read_text()).get(REGRESSION_KEY)
    if not isinstance(spec, dict):
        raise ValueError(f"{d / 'config.json'}: no {REGRESSION_KEY} (not a GPT regression model)")
    gpt, _ = load_gpt_dir(d)
    return GptRegressor(gpt, len(spec["features"])).eval(), spec
