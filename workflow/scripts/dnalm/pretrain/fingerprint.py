"""What determines a pretrained model, so a checkpoint is resumed only by the run that wrote it.

Every checkpoint carries a *training fingerprint*: the architecture, k, size, the full preset
(seed included) and the identity of each corpus shard. A rerun resumes only from a
checkpoint with an equal fingerprint. Otherwise (a changed preset or corpus, or a checkpoint
written before fingerprints existed) the old checkpoints are moved, not deleted, into
``<ckpt_dir>/stale-<UTC time>-<old fingerprint hash>/`` and training starts afresh, so a
changed config can never reproduce the old model. The final model directory gets the
fingerprint as ``training_fingerprint.json``.

Preset keys that do not change the result (:data:`NOT_IN_FINGERPRINT`) are left out.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dnalm.corpus.shard import idx_path, meta_path
from dnalm.pretrain.config import PretrainConfig

__all__ = [
    "FINGERPRINT_FILE",
    "NOT_IN_FINGERPRINT",
    "GPT_ONLY_KEYS",
    "training_fingerprint",
    "corpus_identity",
    "fingerprint_hash",
    "fingerprint_changes",
    "set_aside_checkpoints",
]

#: Name of the fingerprint file in the model directory.
FINGERPRINT_FILE = "training_fingerprint.json"

#: Preset keys that only affect housekeeping or speed, never the weights or the log.
NOT_IN_FINGERPRINT = ("keep_checkpoints", "num_workers")

#: Preset keys that only GPT models use; left out of BERT fingerprints (so BERT checkpoints
#: written before these keys existed still resume).
GPT_ONLY_KEYS = ("gc_weight", "token_head_eps")

#: ``transformers.BertConfig`` keys that define the architecture and initialisation.
_ARCH_KEYS = (
    "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
    "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob",
    "max_position_embeddings", "type_vocab_size", "initializer_range", "layer_norm_eps",
    "pad_token_id", "position_embedding_type",
)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def corpus_identity(shard_paths: Sequence[Path]) -> dict[str, str]:
    """Content identity of each corpus shard, by file name.

    A shard's ``{chrom}.meta.json`` (parameters, bases kept, base counts, written by
    :func:`dnalm.corpus.build_corpus_shard`) identifies it; shards without one are identified
    by the sha256 of their ``{chrom}.idx.npy`` and the size of their ``{chrom}.seq.npy``.

    Parameters
    ----------
    shard_paths : sequence of Path
        ``{chrom}.seq.npy`` files.

    Returns
    -------
    dict of str to str
        ``{"chr1.seq.npy": "meta.json sha256:...", ...}``.
    """
    out = {}
    for seq in shard_paths:
        seq = Path(seq)
        meta, idx = meta_path(seq), idx_path(seq)
        if meta.is_file():
            out[seq.name] = f"meta.json sha256:{_sha256(meta)}"
        else:
            out[seq.name] = f"idx.npy sha256:{_sha256(idx)} seq.npy bytes:{seq.stat().st_size}"
    return out


def training_fingerprint(
    k: int, size: str, cfg: PretrainConfig, model_config: Mapping[str, Any], shard_paths: Sequence[Path],
    arch: str = "bert",
) -> dict[str, Any]:
    """Everything that determines a pretraining run's result, as plain JSON types.

    Parameters
    ----------
    k : int
    size : str
    cfg : PretrainConfig
    model_config : mapping
        ``BertConfig.to_dict()`` of the model being trained.
    shard_paths : sequence of Path
        The corpus shards (see :func:`corpus_identity`).
    arch : {"bert", "gpt"}, optional
        BERT fingerprints leave out :data:`GPT_ONLY_KEYS`. Default is "bert".

    Returns
    -------
    dict
        ``{"k", "size", "architecture", "preset", "corpus"}``.
    """
    skip = NOT_IN_FINGERPRINT + (GPT_ONLY_KEYS if arch == "bert" else ())
    preset = {key: v for key, v in cfg.to_dict().items() if key not in skip}
    arch = {key: model_config.get(key) for key in _ARCH_KEYS}
    fp = {"k": int(k), "size": str(size), "architecture": arch, "preset": preset,
          "corpus": corpus_identity(shard_paths)}
    return json.loads(json.dumps(fp))  # plain types, as they come back from a checkpoint


def fingerprint_hash(fp: Mapping[str, Any] | None) -> str:
    """First 12 hex digits of the sha256 of the canonical JSON (``"none"`` for None)."""
    if fp is None:
        return "none"
    return hashlib.sha256(json.dumps(fp, sort_keys=True).encode()).hexdigest()[:12]


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, Mapping):
        out: dict[str, Any] = {}
        for key, v in d.items():
            out.update(_flatten(v, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: d}


def fingerprint_changes(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """Differences between two fingerprints, one ``"key: old -> new"`` per changed key.

    Parameters
    ----------
    old : mapping or None
        The checkpoint's fingerprint; None for a checkpoint written without one.
    new : mapping

    Returns
    -------
    list of str
        E.g. ``["preset.lr: 0.0004 -> 0.001"]``; empty when the fingerprints are equal.
    """
    if old is None:
        return ["fingerprint: none (checkpoint written before training fingerprints) -> "
                + fingerprint_hash(new)]
    a, b = _flatten(old), _flatten(new)
    missing = "(absent)"
    return [f"{key}: {a.get(key, missing)} -> {b.get(key, missing)}"
            for key in sorted(set(a) | set(b)) if a.get(key, missing) != b.get(key, missing)]


def set_aside_checkpoints(ckpt_dir: str | Path, old: Mapping[str, Any] | None) -> Path:
    """Move every checkpoint and the live log of ``ckpt_dir`` into a new ``stale-*`` subfolder.

    Parameters
    ----------
    ckpt_dir : str or Path
    old : mapping or None
        The fingerprint of those checkpoints (its hash names the folder).

    Returns
    -------
    Path
        ``<ckpt_dir>/stale-<YYYYmmddTHHMMSSZ>-<fingerprint hash>/``.
    """
    d = Path(ckpt_dir)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    dest = d / f"stale-{stamp}-{fingerprint_hash(old)}"
    n = 1
    while dest.exists():
        n += 1
        dest = d / f"stale-{stamp}-{fingerprint_hash(old)}-{n}"
    dest.mkdir(parents=True)
    for p in sorted(d.iterdir()):
        if p.is_file() and (p.name.startswith("step") or p.name.startswith("train_log")):
            p.rename(dest / p.name)
    return dest
