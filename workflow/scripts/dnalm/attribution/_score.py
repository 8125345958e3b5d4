"""The score every attribution explains: the positive-class log-odds of a classifier.

``score = logit(p_pos) = z_pos - logsumexp(z_other)`` (``z1 - z0`` for a binary model): unlike a
single raw logit it does not change when a constant is added to all logits, and unlike the
probability it does not saturate, so ISM deltas and gradients stay informative on confident
windows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from dnalm._compat import resolve_device
from dnalm._validate import validate_k
from dnalm.attribution._encode import N_CODE, onehot_nl4, seqs_to_codes, token_ids
from dnalm.attribution._gpt import GptLayout, gpt_layout, gpt_logits, gpt_token_ids
from dnalm.attribution.result import Attribution

#: Model kinds the attribution methods accept (``model.input_kind``; BERT models have none).
KINDS = ("bert", "onehot", "gpt")


def model_kind(model: torch.nn.Module) -> str:
    """``"bert"`` (k-mer tokens), ``"onehot"`` (dnalm.baselines) or ``"gpt"`` (dnalm.gpt.classify);
    other kinds raise."""
    kind = getattr(model, "input_kind", "bert")
    if kind not in KINDS:
        raise ValueError(
            f"attribution supports k-mer BERT classifiers, one-hot baselines and GPT classifiers, "
            f"got a {type(model).__name__} with input_kind={kind!r}"
        )
    return kind


def n_classes(model: torch.nn.Module) -> int:
    if hasattr(model, "n_classes"):
        return int(model.n_classes)
    if hasattr(model, "config"):
        return int(model.config.num_labels)
    return int(model.head[-1].out_features)


@contextlib.contextmanager
def evaluating(model: torch.nn.Module, device: torch.device) -> Iterator[None]:
    """Run ``model`` in eval mode on ``device``; restore its mode and device afterwards."""
    was_training = model.training
    try:
        before = next(model.parameters()).device
    except StopIteration:  # pragma: no cover - every classifier has parameters
        before = device
    model.to(device)
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)
        model.to(before)


class Scorer:
    """Positive-class log-odds of a classifier, from base-code matrices or differentiable inputs.

    Parameters
    ----------
    model : transformers.BertForSequenceClassification, dnalm.baselines.OneHotClassifier or dnalm.gpt.classify.GptClassifier
    k : int or None
        k-mer size of a BERT model; ignored (may be None) for one-hot and GPT models.
    positive_class : int, optional
        Default is 1.
    device : str or torch.device, optional
        Default is cuda if available, else cpu.
    """

    def __init__(self, model: torch.nn.Module, k: int | None, positive_class: int = 1,
                 device: str | torch.device | None = None) -> None:
        self.model = model
        self.kind = model_kind(model)
        self.k = validate_k(k) if self.kind == "bert" else None
        self.layout: GptLayout | None = None  # GPT: set by check_length
        nc = n_classes(model)
        if isinstance(positive_class, bool) or not 0 <= int(positive_class) < nc or nc < 2:
            raise ValueError(f"`positive_class` must be in 0..{nc - 1} of a {nc}-class model, "
                             f"got {positive_class!r}")
        self.positive_class = int(positive_class)
        self.device = resolve_device(device)

    def check_length(self, L: int) -> None:
        """Raise when windows of ``L`` bp do not fit the model's positions (GPT: find its layout)."""
        if self.kind == "gpt":
            self.layout = gpt_layout(self.model, L)
        elif self.kind == "bert":
            need = L - self.k + 3
            have = int(self.model.config.max_position_embeddings)
            if need > have:
                raise ValueError(f"{L} bp windows need {need} tokens with k={self.k}, more than "
                                 f"the model's {have} positions")

    def word_embeddings(self) -> torch.nn.Embedding:
        if self.kind == "gpt":
            return self.model.gpt.transformer.get_input_embeddings()
        return self.model.get_input_embeddings()

    def _gpt_layout(self) -> GptLayout:
        if self.layout is None:
            raise RuntimeError("call Scorer.check_length(L) before scoring a GPT classifier")
        return self.layout

    def inputs(self, codes: np.ndarray) -> torch.Tensor:
        """The input attributions are taken on, on the scorer's device.

        Returns
        -------
        torch.Tensor
            BERT: word embeddings of ``[CLS] k-mers [SEP]``, shape (B, T, H); GPT: token
            embeddings of the classifier's input rows, shape (B, T, H); one-hot models:
            shape (B, 4, L).
        """
        if self.kind == "gpt":
            self._gpt_layout()
            ids = torch.from_numpy(gpt_token_ids(self.model, codes)[0]).to(self.device)
            return self.word_embeddings()(ids).detach()
        if self.kind == "bert":
            ids = torch.from_numpy(token_ids(codes, self.k)).to(self.device)
            return self.word_embeddings()(ids).detach()
        return torch.from_numpy(onehot_nl4(codes).transpose(0, 2, 1).copy()).to(self.device)

    def log_odds(self, x: torch.Tensor) -> torch.Tensor:
        """Positive-class log-odds (B,) of inputs from :meth:`inputs` (differentiable)."""
        if self.kind == "bert":
            mask = torch.ones(x.shape[:2], dtype=torch.long, device=x.device)
            z = self.model(inputs_embeds=x, attention_mask=mask).logits
        elif self.kind == "gpt":
            z = gpt_logits(self.model, x, self._gpt_layout())
        else:
            lengths = torch.full((x.shape[0],), x.shape[-1], dtype=torch.long)
            z = self.model(x, lengths)
        return self.logits_to_log_odds(z)

    def logits_to_log_odds(self, z: torch.Tensor) -> torch.Tensor:
        """Positive-class log-odds (B,) of class logits (B, n_classes)."""
        z = z.float()
        pos = z[:, self.positive_class]
        other = torch.cat([z[:, : self.positive_class], z[:, self.positive_class + 1 :]], dim=1)
        return pos - torch.logsumexp(other, dim=1)

    @torch.no_grad()
    def score(self, codes: np.ndarray) -> np.ndarray:
        """Log-odds (B,) float64 of a code matrix (B, L), one forward pass."""
        return self.log_odds(self.inputs(codes)).double().cpu().numpy()


def check_batch_size(batch_size: int) -> int:
    """``batch_size`` as an int; anything but a positive integer raises ValueError."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def prepare(model: torch.nn.Module, seqs: Sequence[str], k: int | None, batch_size: int,
            positive_class: int, device: str | torch.device | None) -> tuple[Scorer, np.ndarray, int]:
    """What every method starts with: a scorer fit for the windows, their codes, the batch size.

    Returns
    -------
    scorer : Scorer
        :meth:`Scorer.check_length` already passed for the windows' length.
    codes : numpy.ndarray, shape=(n, L), dtype=uint8
    batch_size : int
        Checked by :func:`check_batch_size`.
    """
    batch_size = check_batch_size(batch_size)
    codes = seqs_to_codes(seqs)
    scorer = Scorer(model, k, positive_class, device)
    scorer.check_length(codes.shape[1])
    return scorer, codes, batch_size


def to_attribution(hyp: np.ndarray, codes: np.ndarray, score: np.ndarray,
                   ref_score: np.ndarray | None = None) -> Attribution:
    """What every method returns: ``hyp`` (n, L, 4) with N positions set to 0 (in place), the
    contribution of the base that is there, the one-hot windows and their scores."""
    hyp[codes == N_CODE] = 0.0
    onehot = onehot_nl4(codes)
    attr = (hyp * onehot).sum(axis=2)
    return Attribution(hyp=hyp, attr=attr, onehot=onehot, score=score, prob=sigmoid(score),
                       ref_score=ref_score)


def batched_scores(
    scorer: Scorer,
    n_rows: int,
    rows: Callable[[slice], np.ndarray],
    batch_size: int,
    verbose: bool = False,
    desc: str = "score",
) -> np.ndarray:
    """Log-odds of ``n_rows`` code rows, scored ``batch_size`` rows per forward pass.

    Parameters
    ----------
    scorer : Scorer
    n_rows : int
    rows : callable
        ``rows(slice)`` gives the code matrix (B, L) of the rows in that slice, so callers can
        build rows lazily (ISM's mutants) or slice a matrix (``lambda sl: codes[sl]``).
    batch_size : int
    verbose : bool, optional
        Progress bar. Default is False.
    desc : str, optional
        Its label. Default is "score".

    Returns
    -------
    numpy.ndarray, shape=(n_rows,), dtype=float64
    """
    out = np.empty(n_rows, dtype=np.float64)
    starts = range(0, n_rows, batch_size)
    for s in tqdm(starts, disable=not verbose, total=len(starts), desc=desc):
        sl = slice(s, min(s + batch_size, n_rows))
        out[sl] = scorer.score(rows(sl))
    return out


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Probability from log-odds."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))
