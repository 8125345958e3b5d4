"""Rule variant_score: select, score and summarise a task's functional variants."""

import torch
from dnalm._log import setup_script_logging
from dnalm.variants import score_variants

log = setup_script_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
sm = snakemake  # noqa: F821
torch.set_num_threads(sm.threads)

score_variants(
    genome_fasta=sm.input.fasta,
    regions_bed=sm.input.regions,
    datasets=[sm.input.test, sm.input.train, sm.input.dev],
    classifier_dir=sm.input.classifier,
    outputs={k: sm.output[k] for k in
             ("scores", "clinvar", "summary", "fig_scores", "fig_top", "fig_maps")},
    dbsnp_vcf=sm.input.get("dbsnp"),
    clinvar_vcf=sm.input.get("clinvar"),
    lm_dir=sm.input.lm,
    normalise_counts={s: sm.input.get(f"{s}_counts") for s in ("dbsnp", "clinvar")},
    batch_size=sm.params.batch_size,
    null_size=sm.params.null_size,
    top_mutation_maps=sm.params.top_mutation_maps,
    seed=sm.params.seed,
    labels={"task": sm.wildcards.task, "model": sm.wildcards.model},
    verbose=True,
)
