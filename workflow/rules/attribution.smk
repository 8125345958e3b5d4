# attribution stage rules (logic in the dnalm.attribution package).
ATTR_DIR = "results/attribution/{task}/{model}/seed{seed}"
ATTR_METHODS = CFG.attribution.methods


# Per-base attribution maps of a task's test positives (attribution.max_sequences of them,
# seeded) for one fine-tuned model (BERT, one-hot baseline or GPT), every configured method in one job
# (the model is loaded once): ism (in-silico saturation mutagenesis) and/or ig (integrated
# gradients from dinucleotide-shuffled references). {method}.npz is the file contract of
# dnalm.attribution.npz; {method}.json its summary. One thread: on the 2-core demo two jobs
# run side by side (torch's 2-thread kernels gain little on these small batches).
rule attribution_maps:
    input:
        metrics="results/finetune/{task}/{model}/seed{seed}/metrics.json",
        test="results/datasets/{task}/test.tsv.gz",
        card="results/datasets/{task}/card.json",
    output:
        npz=[f"{ATTR_DIR}/{m}.npz" for m in ATTR_METHODS],
        summary=[f"{ATTR_DIR}/{m}.json" for m in ATTR_METHODS],
    log:
        "logs/attribution_maps/{task}/{model}/seed{seed}.log",
    benchmark:
        "benchmarks/attribution_maps/{task}/{model}/seed{seed}.tsv"
    wildcard_constraints:
        model=r"[^/]+",
    conda:
        "../envs/ml.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=0,
    params:
        model_dir="results/finetune/{task}/{model}/seed{seed}/model",
        out_dir=ATTR_DIR,
        methods=ATTR_METHODS,
        attribution=P.rule_params(CFG, "attribution"),
    script:
        "../scripts/attribution_maps.py"


# The mean attribution of every genomic base covered by an attributed window, per method (tasks
# with genome coordinates; contig sizes from the genome's .fai).
rule attribution_bigwig:
    input:
        npz=[f"{ATTR_DIR}/{m}.npz" for m in ATTR_METHODS],
        fai=lambda wc: P.attribution_fai(CFG, wc.task),
    output:
        bw=[f"{ATTR_DIR}/{m}.bw" for m in ATTR_METHODS],
    log:
        "logs/attribution_bigwig/{task}/{model}/seed{seed}.log",
    benchmark:
        "benchmarks/attribution_bigwig/{task}/{model}/seed{seed}.tsv"
    wildcard_constraints:
        model=r"[^/]+",
    conda:
        "../envs/ml.yaml"
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/attribution_bigwig.py"


# ISM variant effects (attribution.variants: clinvar | all): the variants stage's variants read off
# their windows' ISM maps under this model, with pathogenic-vs-benign AUROCs (tasks also in
# variants.tasks; dnalm.attribution.variant_effects).
rule attribution_variants:
    input:
        unpack(lambda wc: P.attribution_variant_inputs(CFG, wc.task, wc.model, wc.seed)),
    output:
        table="results/attribution/{task}/{model}/seed{seed}/variants_ism.tsv.gz",
        summary="results/attribution/{task}/{model}/seed{seed}/variants_ism.json",
    log:
        "logs/attribution_variants/{task}/{model}/seed{seed}.log",
    benchmark:
        "benchmarks/attribution_variants/{task}/{model}/seed{seed}.tsv"
    wildcard_constraints:
        model=r"[^/]+",
    conda:
        "../envs/ml.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=0,
    params:
        model_dir="results/finetune/{task}/{model}/seed{seed}/model",
        sources=CFG.attribution.variants,
        batch_size=CFG.attribution.batch_size,
    script:
        "../scripts/attribution_variants.py"
