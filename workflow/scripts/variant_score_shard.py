"""Rule variant_score_shard: select and score the variants on one contig shard of a task."""

import torch
from dnalm._log import setup_script_logging
from dnalm.variants import score_variant_shard

log = setup_script_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
sm = snakemake  # noqa: F821
torch.set_num_threads(sm.threads)

score_variant_shard(
    genome_fasta=sm.input.fasta,
    regions_bed=sm.input.regions,
    datasets=[sm.input.test, sm.input.train, sm.input.dev],
    card=sm.input.card,
    classifier_dir=sm.input.classifier,
    output_table=sm.output.table,
    output_meta=sm.output.meta,
    shard=int(sm.wildcards.shard),
    n_shards=int(sm.wildcards.n),
    dbsnp_vcf=sm.input.get("dbsnp"),
    clinvar_vcf=sm.input.get("clinvar"),
    lm_dir=sm.input.lm,
    context=sm.params.context,
    batch_size=sm.params.batch_size,
    verbose=True,
)
