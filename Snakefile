# dnalm: DNABERT rebuilt end to end. `snakemake --cores 2` runs the embedded demo (config/config.yaml).
from snakemake.utils import min_version

min_version("9.24")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/genome.smk"
include: "workflow/rules/annotations.smk"
include: "workflow/rules/corpus.smk"
include: "workflow/rules/collections.smk"
include: "workflow/rules/datasets.smk"
include: "workflow/rules/splice_loop.smk"
include: "workflow/rules/expression.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/gpt.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/long_input.smk"
include: "workflow/rules/attention.smk"
include: "workflow/rules/motifs.smk"
include: "workflow/rules/variants.smk"
include: "workflow/rules/attribution.smk"
include: "workflow/rules/attribution_motifs.smk"
include: "workflow/rules/usemodel.smk"
include: "workflow/rules/haplotypes.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/plan.smk"


rule all:
    default_target: True
    input:
        get_final_outputs(),
