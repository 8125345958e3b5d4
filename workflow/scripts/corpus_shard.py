"""Rule corpus_shard: cut one chromosome into a corpus shard (dnalm.corpus.build_corpus_shard)."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.corpus import build_corpus_shard  # noqa: E402

sm = snakemake  # noqa: F821
build_corpus_shard(
    sm.input.fasta,
    sm.wildcards.chrom,
    sm.output.seq,
    sm.output.idx,
    **sm.params.corpus,  # min_len, max_len, coverage, seed, val_fraction (dnalm.settings)
    out_meta=sm.output.meta,
    verbose=True,
)
