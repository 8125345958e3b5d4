# TF ChIP-seq collections (collections.<c>; docs/collections.md; logic in dnalm.tf_collections).
# A published metadata table (UCSC files.txt, ENCODE metadata.tsv) becomes one tfbs task per peak
# file, <c>__<id>, through checkpoint collection_manifest; each download is checked against the
# md5 of its table row. The tasks reuse rules dataset_build, bert_finetune and baseline_finetune;
# collection_summary compares the models across all experiments (the paper's Fig. 3 analogue).
# Table and peak downloads are local rules (they run where Snakemake runs, which on a cluster is
# usually the host with network access); on SLURM the datasets and fine-tuning runs are batched
# into group jobs (profiles/slurm-gpu).
from dnalm import reporting


# The simulator's experiments listed as a UCSC files.txt (real md5s), for the demo collection.
rule demo_files_txt:
    input:
        peaks=lambda wc: P.demo_peak_files(CFG, wc.world),
    output:
        "resources/demo/{world}/peaks/files.txt",
    log:
        "logs/demo_files_txt/{world}.log",
    localrule: True
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/demo_files_txt.py"


rule collection_table:
    input:
        lambda wc: P.collection_table_inputs(CFG, wc.collection),
    output:
        P.collection_table("{collection}"),
    log:
        "logs/collection_table/{collection}.log",
    wildcard_constraints:
        collection=P.alternation(CFG.collections),
    localrule: True
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        source=lambda wc: settings.canonical(CFG.collections[wc.collection].table),
    script:
        "../scripts/collection_table.py"


checkpoint collection_manifest:
    input:
        table=P.collection_table("{collection}"),
    output:
        P.collection_manifest("{collection}"),
    log:
        "logs/collection_manifest/{collection}.log",
    wildcard_constraints:
        collection=P.alternation(CFG.collections),
    localrule: True
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        spec=lambda wc: P.collection_manifest_params(CFG, wc.collection),
    script:
        "../scripts/collection_manifest.py"


# One experiment: download, md5 from the table row, contigs renamed to the genome's names.
rule collection_peaks:
    input:
        unpack(lambda wc: P.genome_files(CFG.collections[wc.collection].genome)),
        # A plain input, no checkpoint lookup per experiment (that costs seconds per 1000 jobs in
        # the dry run); these jobs exist only once collection_summary has read the manifest.
        # ancient: a regenerated manifest reruns only the experiments whose row (params.row) changed.
        manifest=ancient(P.collection_manifest("{collection}")),
    output:
        P.collection_peaks("{collection}", "{experiment}"),
    log:
        "logs/collection_peaks/{collection}/{experiment}.log",
    wildcard_constraints:
        collection=P.alternation(CFG.collections),
        experiment=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    localrule: True
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        row=lambda wc: P.collection_row(wc.collection, wc.experiment),
    script:
        "../scripts/collection_peaks.py"


rule collection_summary:
    input:
        unpack(collection_summary_inputs),
    output:
        tsv=report(
            P.collection_summary_files("{collection}")["tsv"],
            caption="../report/collection_table.rst",
            category=reporting.category("tf_sites"),
            subcategory=lambda wc: f"collection {wc.collection}",
            labels={"table": "MCC and AUROC per experiment"},
        ),
        wilcoxon=report(
            P.collection_summary_files("{collection}")["wilcoxon"],
            caption="../report/collection_wilcoxon.rst",
            category=reporting.category("tf_sites"),
            subcategory=lambda wc: f"collection {wc.collection}",
            labels={"table": "paired Wilcoxon tests"},
        ),
        png=P.collection_summary_files("{collection}")["png"],
        svg=report(
            P.collection_summary_files("{collection}")["svg"],
            caption="../report/collection_figure.rst",
            category=reporting.category("tf_sites"),
            subcategory=lambda wc: f"collection {wc.collection}",
            labels={"figure": "MCC and AUROC over all experiments"},
        ),
    log:
        "logs/collection_summary/{collection}.log",
    wildcard_constraints:
        collection=P.alternation(CFG.collections),
    conda:
        "../envs/ml.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        models=lambda wc: CFG.collection_models(wc.collection),
    script:
        "../scripts/collection_summary.py"
