"""Rule attribution_variants: ISM effects of the variants stage's variants, with ClinVar AUROCs."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

import torch  # noqa: E402
from dnalm.attribution.variant_effects import ism_variant_effects  # noqa: E402

sm = snakemake  # noqa: F821
torch.set_num_threads(sm.threads)
ism_variant_effects(
    scores=sm.input.scores,
    genome_fasta=sm.input.fasta,
    model_dir=sm.params.model_dir,
    card=sm.input.card,
    table_out=sm.output.table,
    summary_out=sm.output.summary,
    sources=sm.params.sources,
    batch_size=sm.params.batch_size,
)
