"""DNAGPT-style models: 6-mer tokenizer, GPT-2 model with number heads, three-objective pretraining.

- :mod:`dnalm.gpt.tokenizer`: non-overlapping 6-mers and DNAGPT's reserved tokens;
- :mod:`dnalm.gpt.model`: :class:`DnaGptModel` (GPT-2 backbone, token/regression heads,
  number embedding), size presets, model directories;
- :mod:`dnalm.gpt.data`: corpus pieces as rows ``<R> 6-mers <=> <M> <B>`` (half reversed);
- :mod:`dnalm.gpt.objectives`: the three losses (next token, GC MSE x ``gc_weight``, order);
- :mod:`dnalm.gpt.check`: validation and the learning verdict against a unigram baseline;
- :mod:`dnalm.gpt.outputs`: ``train_log.tsv`` and ``curves.png``;
- :mod:`dnalm.gpt.train`: :func:`pretrain_gpt`, resumable (checkpoints, fingerprints, signals
  and batch plan from :mod:`dnalm.pretrain`).
"""

from dnalm.gpt.model import (
    GPT_SIZES,
    DnaGptModel,
    build_gpt,
    gpt_config,
    load_gpt_dir,
    save_gpt_dir,
)
from dnalm.gpt.tokenizer import VOCAB_SIZE, GptTokenizer, load_gpt_tokenizer
from dnalm.gpt.train import pretrain_gpt

__all__ = [
    "GPT_SIZES",
    "VOCAB_SIZE",
    "DnaGptModel",
    "GptTokenizer",
    "build_gpt",
    "gpt_config",
    "load_gpt_dir",
    "load_gpt_tokenizer",
    "pretrain_gpt",
    "save_gpt_dir",
]
