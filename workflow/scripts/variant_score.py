"""Rule variant_score: gather a task's variant shards; null, p-values, ClinVar statistics, figures."""

import torch
from dnalm._log import setup_script_logging
from dnalm.variants import summarise_variants

log = setup_script_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
sm = snakemake  # noqa: F821
torch.set_num_threads(sm.threads)

summarise_variants(
    shard_tables=list(sm.input.shards),
    shard_meta=list(sm.input.shard_meta),
    genome_fasta=sm.input.fasta,
    datasets=[sm.input.test, sm.input.train, sm.input.dev],
    card=sm.input.card,
    classifier_dir=sm.input.classifier,
    outputs={k: sm.output[k] for k in
             ("scores", "null", "clinvar", "summary", "fig_scores", "fig_top", "fig_maps")},
    normalise_counts={s: sm.input.get(f"{s}_counts") for s in ("dbsnp", "clinvar")},
    **sm.params.variants,  # context, batch_size, null_size, pvalue_null, tail_size, top_mutation_maps, seed
    labels={"task": sm.wildcards.task, "model": sm.wildcards.model,
            "classifier": sm.params.classifier},
    verbose=True,
)
