"""The paper's non-pretrained baselines: CNN, CNN+LSTM, CNN+GRU on one-hot DNA, and k-mer LR.

The neural baselines are trained by :func:`dnalm.finetune.finetune` with the same loop as
the BERT models (early stopping on dev MCC); this module only defines the networks, the
one-hot encoding and the k-mer logistic-regression baseline.

Padding never changes a prediction: convolutions use zero ("same") padding, which is what a
zero one-hot column looks like, positions past a sequence's end are zeroed after every pooling
step, recurrent layers run on packed sequences and global pooling is masked.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from dnalm import kmers
from dnalm.metrics import classification_metrics

__all__ = [
    "NEURAL_BASELINES",
    "KmerLRClassifier",
    "OneHotClassifier",
    "build_baseline",
    "fit_kmer_lr",
    "kmer_frequencies",
    "one_hot",
]

NEURAL_BASELINES = ("cnn", "cnn_lstm", "cnn_gru")
# kmers codes are A=0, T=1, C=2, G=3 (DNABERT order); one-hot channels are A, C, G, T.
_CODE_TO_CHANNEL = np.array([0, 3, 1, 2], dtype=np.int64)


def one_hot(seqs: Sequence[str], length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One-hot encode sequences, right-padded with zero columns.

    Parameters
    ----------
    seqs : sequence of str, length n
    length : int, optional
        Width of the output. Default is the longest sequence.

    Returns
    -------
    x : numpy.ndarray, shape=(n, 4, length), dtype=float32
        Channels A, C, G, T; N and padding are all-zero columns.
    lengths : numpy.ndarray, shape=(n,), dtype=int64
    """
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    width = int(lengths.max(initial=0)) if length is None else int(length)
    x = np.zeros((len(seqs), 4, width), dtype=np.float32)
    for i, s in enumerate(seqs):
        codes = kmers.seq_to_codes(s).astype(np.int64)
        pos = np.nonzero(codes < 4)[0]
        x[i, _CODE_TO_CHANNEL[codes[pos]], pos] = 1.0
    return x, lengths


class OneHotClassifier(nn.Module):
    """Two convolution blocks, optionally a bidirectional LSTM/GRU, masked pooling, MLP head.

    Parameters
    ----------
    n_classes : int
    rnn : {None, "lstm", "gru"}, optional
        Recurrent layer after the convolutions. Default is None (plain CNN).
    channels : tuple of int, optional
        Filters of the two convolution blocks. Default is (64, 128).
    kernel_sizes : tuple of int, optional
        Odd kernel widths. Default is (11, 7).
    pool : int, optional
        Max-pool width and stride after each block. Default is 3.
    rnn_hidden : int, optional
        Hidden units per direction. Default is 64.
    dropout : float, optional
        Default is 0.2.

    Notes
    -----
    ``forward(x, lengths)`` takes ``x`` of shape (B, 4, L) and ``lengths`` (B,) and returns
    logits of shape (B, n_classes). ``hparams`` holds the constructor's arguments, so
    ``OneHotClassifier(**m.hparams)`` rebuilds the architecture (model directories store it).
    """

    input_kind = "onehot"

    def __init__(
        self,
        n_classes: int,
        rnn: str | None = None,
        channels: tuple[int, int] = (64, 128),
        kernel_sizes: tuple[int, int] = (11, 7),
        pool: int = 3,
        rnn_hidden: int = 64,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self.hparams = {"n_classes": int(n_classes), "rnn": rnn, "channels": list(channels),
                        "kernel_sizes": list(kernel_sizes), "pool": int(pool),
                        "rnn_hidden": int(rnn_hidden), "dropout": float(dropout)}  # fmt: skip
        self.n_classes = int(n_classes)
        if rnn not in (None, "lstm", "gru"):
            raise ValueError(f"`rnn` must be None, 'lstm' or 'gru', got {rnn!r}")
        if any(ks % 2 == 0 for ks in kernel_sizes):
            raise ValueError(f"`kernel_sizes` must be odd, got {kernel_sizes}")
        self.pool = pool
        self.convs = nn.ModuleList(
            [
                nn.Conv1d(4, channels[0], kernel_sizes[0], padding=kernel_sizes[0] // 2),
                nn.Conv1d(channels[0], channels[1], kernel_sizes[1], padding=kernel_sizes[1] // 2),
            ]
        )
        self.drop = nn.Dropout(dropout)
        self.rnn = None
        feat = channels[1]
        if rnn is not None:
            cls = nn.LSTM if rnn == "lstm" else nn.GRU
            self.rnn = cls(channels[1], rnn_hidden, batch_first=True, bidirectional=True)
            feat = 2 * rnn_hidden
        self.head = nn.Sequential(
            nn.Linear(2 * feat, 64), nn.ReLU(), nn.Dropout(dropout), nn.Linear(64, n_classes)
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.to(x.device)
        h = x
        for conv in self.convs:
            h = torch.relu(conv(h))
            h = nn.functional.max_pool1d(h, self.pool, self.pool)
            lengths = torch.clamp(lengths // self.pool, min=1)
            if h.shape[-1] == 0:  # input shorter than the pool: keep one (empty) column
                h = torch.zeros(*h.shape[:2], 1, device=h.device, dtype=h.dtype)
            mask = torch.arange(h.shape[-1], device=h.device)[None, :] < lengths[:, None]
            h = h * mask[:, None, :]
        h = self.drop(h).transpose(1, 2)  # (B, T, C)
        if self.rnn is not None:
            packed = pack_padded_sequence(h, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = self.rnn(packed)
            h, _ = pad_packed_sequence(out, batch_first=True, total_length=h.shape[1])
        mask = (torch.arange(h.shape[1], device=h.device)[None, :] < lengths[:, None])[..., None]
        mean = (h * mask).sum(1) / lengths[:, None].to(h.dtype)
        mx = h.masked_fill(~mask, float("-inf")).max(1).values
        return self.head(torch.cat([mean, mx], dim=1))


def build_baseline(name: str, n_classes: int, dropout: float = 0.2) -> OneHotClassifier:
    """The network for a baseline name (``cnn``, ``cnn_lstm`` or ``cnn_gru``)."""
    rnn = {"cnn": None, "cnn_lstm": "lstm", "cnn_gru": "gru"}.get(name, "bad")
    if rnn == "bad":
        raise ValueError(f"`name` must be one of {NEURAL_BASELINES}, got {name!r}")
    return OneHotClassifier(n_classes, rnn=rnn, dropout=dropout)


def kmer_frequencies(seqs: Sequence[str], k: int):  # -> scipy.sparse.csr_matrix
    """k-mer frequencies per sequence (k-mers holding N skipped), shape (n, 4**k), rows sum to 1."""
    from scipy.sparse import csr_matrix

    rows, cols = [], []
    for i, s in enumerate(seqs):
        ids = kmers.encode(s, k) - kmers.N_SPECIAL
        ids = ids[ids >= 0]  # k-mers with N map to [UNK]: skipped
        rows.append(np.full(len(ids), i))
        cols.append(ids)
    r = np.concatenate(rows) if rows else np.empty(0, np.int64)
    c = np.concatenate(cols) if cols else np.empty(0, np.int64)
    m = csr_matrix((np.ones(len(r)), (r, c)), shape=(len(seqs), 4**k))
    m.sum_duplicates()
    tot = np.asarray(m.sum(axis=1)).ravel()
    tot[tot == 0] = 1
    return csr_matrix(m.multiply(1.0 / tot[:, None]))


def fit_kmer_lr(
    train_seqs: Sequence[str],
    train_y: np.ndarray,
    dev_seqs: Sequence[str],
    dev_y: np.ndarray,
    n_classes: int,
    k: int = 4,
    Cs: Sequence[float] = (0.1, 1.0, 10.0, 100.0),
    seed: int = 1,
):
    """Logistic regression on k-mer frequencies; C chosen by dev MCC.

    Parameters
    ----------
    train_seqs, dev_seqs : sequence of str
    train_y, dev_y : numpy.ndarray of int, shape=(n,)
    n_classes : int
    k : int, optional
        Default is 4.
    Cs : sequence of float, optional
        Inverse regularisation strengths tried. Default is (0.1, 1, 10, 100).
    seed : int, optional
        Default is 1.

    Returns
    -------
    model : KmerLRClassifier
        The selected model as a torch module (its probabilities are scikit-learn's).
    log : list of dict
        One row per C: ``C``, ``train_loss``, ``dev_loss``, ``dev_mcc``.
    best_index : int
        Index into ``Cs`` of the selected model.
    """
    from sklearn.linear_model import LogisticRegression

    xtr, xdv = kmer_frequencies(train_seqs, k), kmer_frequencies(dev_seqs, k)
    train_y, dev_y = np.asarray(train_y), np.asarray(dev_y)
    models, log = [], []
    best, best_key = 0, None

    def full_probs(model, x):
        p = np.zeros((x.shape[0], n_classes))
        p[:, model.classes_] = model.predict_proba(x)
        return p

    for j, c in enumerate(Cs):
        m = LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(xtr, train_y)
        ptr, pdv = full_probs(m, xtr), full_probs(m, xdv)
        tl = float(-np.mean(np.log(np.clip(ptr[np.arange(len(train_y)), train_y], 1e-12, 1))))
        dl = float(-np.mean(np.log(np.clip(pdv[np.arange(len(dev_y)), dev_y], 1e-12, 1))))
        mcc = classification_metrics(dev_y, pdv)["mcc"]
        log.append({"C": float(c), "train_loss": tl, "dev_loss": dl, "dev_mcc": mcc})
        models.append(m)
        key = (mcc, -dl)
        if best_key is None or key > best_key:
            best, best_key = j, key
    return KmerLRClassifier.from_sklearn(models[best], n_classes, k), log, best


class KmerLRClassifier(nn.Module):
    """A fitted k-mer logistic regression as a torch module (saved like the other models).

    ``forward(x)`` takes k-mer frequencies (B, 4**k) (:func:`kmer_frequencies`) and returns
    logits (B, n_classes) whose softmax equals scikit-learn's ``predict_proba``: binary models
    put 0 on class 0 and the decision value on class 1; classes absent from training get
    probability 0.

    Parameters
    ----------
    n_classes : int
    k : int
    """

    input_kind = "kmer_freq"

    def __init__(self, n_classes: int, k: int) -> None:
        super().__init__()
        self.n_classes, self.k = int(n_classes), int(k)
        self.hparams = {"n_classes": self.n_classes, "k": self.k}
        self.weight = nn.Parameter(torch.zeros(self.n_classes, 4**self.k))
        self.bias = nn.Parameter(torch.full((self.n_classes,), -1e4))

    @classmethod
    def from_sklearn(cls, model, n_classes: int, k: int) -> KmerLRClassifier:
        """Copy a fitted ``sklearn.linear_model.LogisticRegression``."""
        out = cls(n_classes, k)
        coef = np.asarray(model.coef_, dtype=np.float32)
        icpt = np.asarray(model.intercept_, dtype=np.float32)
        classes = [int(c) for c in model.classes_]
        with torch.no_grad():
            if coef.shape[0] == 1:  # binary: p(classes[1]) = sigmoid(z)
                out.bias[classes[0]] = 0.0
                out.weight[classes[1]] = torch.from_numpy(coef[0])
                out.bias[classes[1]] = float(icpt[0])
            else:
                for row, c in enumerate(classes):
                    out.weight[c] = torch.from_numpy(coef[row])
                    out.bias[c] = float(icpt[row])
        return out.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.weight.dtype) @ self.weight.T + self.bias
