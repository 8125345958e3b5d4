"""dnalm: DNABERT rebuilt end to end (tokenizer, corpus, datasets, models, interpretation, variants).

Each module exports one verb; the Snakemake rules call these functions through thin scripts.
"""

__version__ = "0.1.0"
