"""Rule corpus_stats: summarise the shards of one corpus (dnalm.corpus.gather_stats)."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.corpus import gather_stats  # noqa: E402

seqs = [p for p in snakemake.input if p.endswith(".seq.npy")]  # noqa: F821
gather_stats(seqs, snakemake.output.stats, snakemake.output.png)  # noqa: F821
