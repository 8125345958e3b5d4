# expression regression (docs/ARCHITECTURE.md, "Expression tasks"): an Xpresso-format table per
# task (rule expression_download for a remote one; the demo's comes from the simulator), built by
# rule dataset_build (dnalm.expression), and a k-mer ridge baseline whose numbers sit in the
# fine-tuning layout. Rerun one:
#   snakemake results/finetune/<task>/kmer_ridge/seed<s>/metrics.json --forcerun expression_ridge


rule expression_download:
    output:
        "resources/expression/{task}/table.txt.gz",
    log:
        "logs/expression_download/{task}.log",
    wildcard_constraints:
        task=P.alternation(P.expression_tasks(CFG, remote=True)),
    retries: 2
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        src=lambda wc: P.expression_source(CFG, wc.task),
    script:
        "../scripts/expression_download.py"


rule expression_ridge:
    input:
        train="results/datasets/{task}/train.tsv.gz",
        dev="results/datasets/{task}/dev.tsv.gz",
        test="results/datasets/{task}/test.tsv.gz",
    output:
        metrics="results/finetune/{task}/kmer_ridge/seed{seed}/metrics.json",
        predictions="results/finetune/{task}/kmer_ridge/seed{seed}/predictions.tsv.gz",
    log:
        "logs/expression_ridge/{task}/seed{seed}.log",
    benchmark:
        "benchmarks/expression_ridge/{task}/seed{seed}.tsv"
    wildcard_constraints:
        task=P.alternation(P.expression_tasks(CFG)),
    conda:
        "../envs/ml.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    script:
        "../scripts/expression_ridge.py"
