"""A fine-tuned classifier and its task card, checked for attribution."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import torch

from dnalm.attribution._score import model_kind, n_classes
from dnalm.dataset import Card, read_card

__all__ = ["LoadedClassifier", "load_for_attribution"]


class LoadedClassifier(NamedTuple):
    """Output of :func:`load_for_attribution`."""

    model: torch.nn.Module
    k: int | None  # None for one-hot models
    kind: str  # "bert", "onehot" or "gpt"
    card: Card


def _load(directory: Path) -> tuple[torch.nn.Module, int | None]:
    from dnalm import predict

    loader: Any = getattr(predict, "load_model_dir", None)  # one loader for every model kind
    try:
        if loader is not None:
            out = loader(directory)
            return out.model, out.k
        return predict.load_classifier(directory)
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"{directory}: cannot load a fine-tuned classifier ({e})") from None


def load_for_attribution(model_dir: str | Path, card: str | Path | None = None) -> LoadedClassifier:
    """Load a fine-tuned model directory and the card of the task it was trained on.

    Parameters
    ----------
    model_dir : str or pathlib.Path
        ``results/finetune/{task}/{model}/seed{s}/model``.
    card : str or pathlib.Path, optional
        The task's dataset card (``results/datasets/{task}/card.json``). Default is the model
        directory's own ``card.json``.

    Returns
    -------
    LoadedClassifier

    Raises
    ------
    ValueError
        Naming the directory when it is missing, holds no task card (and none is given), does
        not load, is of an unsupported kind, or its k differs from the card's.
    """
    d = Path(model_dir)
    if not d.is_dir():
        raise ValueError(f"{d}: model directory not found")
    card_path = Path(card) if card is not None else d / "card.json"
    if card is None and not card_path.is_file():
        raise ValueError(f"{d}: no task card: the model directory has no card.json and no "
                         "dataset card (results/datasets/<task>/card.json) was given")
    task_card = read_card(card_path)
    model, k = _load(d)
    try:
        kind = model_kind(model)
    except ValueError as e:
        raise ValueError(f"{d}: {e}") from None
    nc = n_classes(model)
    if nc != task_card.n_classes:
        raise ValueError(f"{d}: the model has {nc} classes but {card_path} lists "
                         f"{task_card.n_classes} labels {list(task_card.labels)}")
    return LoadedClassifier(model, None if kind == "onehot" else int(k), kind, task_card)
