"""Per-base attribution maps of any fine-tuned classifier: ISM and integrated gradients.

Both methods explain the positive-class log-odds of fixed-length windows and return an
:class:`~dnalm.attribution.result.Attribution` (hypothetical contributions ``hyp`` (n, L, 4),
``attr = (hyp * onehot).sum(-1)``) for k-mer BERT classifiers, the one-hot baselines and GPT
classifiers (:mod:`dnalm.gpt.classify`; non-overlapping 6-mer tokens, each token's IG split evenly
over its bases, :mod:`._gpt`) alike.

Modules (one verb each): :mod:`.saturation` (in-silico saturation mutagenesis, :func:`ism`), :mod:`.ig` (integrated
gradients from dinucleotide-shuffled references, :mod:`.reference`), :mod:`.load` (model dir
+ task card), :mod:`.task` (a task's test positives, rule attribution_maps), :mod:`.npz` (the
file contract), :mod:`.bigwig` (genome tracks), :mod:`.variant_effects` (ISM at variant sites).
Both methods start from :func:`._score.prepare`, score their rows through one batching loop,
:func:`._score.batched_scores`, and end in :func:`._score.to_attribution`.

The gradient route is integrated gradients; DeepLIFT / DeepSHAP (issue 16 names them as
alternatives) are not implemented: IG from the same shuffled references already gives
hypothetical contributions with completeness, which is what TF-MoDISco reads.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Attribution", "integrated_gradients", "ism", "read_attribution", "write_attribution"]

# Lazy: the bigWig and npz readers must not pay for importing torch.
_WHERE = {"Attribution": "result", "integrated_gradients": "ig", "ism": "saturation",
          "read_attribution": "npz", "write_attribution": "npz"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        obj = getattr(importlib.import_module(f"dnalm.attribution.{_WHERE[name]}"), name)
        globals()[name] = obj  # the function, not the submodule of the same name (ism)
        return obj
    raise AttributeError(f"module 'dnalm.attribution' has no attribute {name!r}")
