# Use a trained model on your own data: the `dnalm` subcommands as rules, one job per run of the
# predict / embed / scan / score config blocks (README, "Use a trained model on your own data").
# dnalm.usemodel builds the command line from the run's settings and runs `dnalm <command>` in the
# job's process, so a rule writes exactly what the command writes on the same inputs.
# `model:` is <task>/<model>/seed<s> (a fine-tuning run of this config, read with its task card)
# or a project-relative model directory; `genome:` is a genome id; other inputs are project paths.


# The sequences of a dataset split as FASTA (record <split>:<row>), e.g. to run `dnalm predict`
# on a task's test split and compare with the fine-tuning run's predictions.tsv.gz.
rule dataset_fasta:
    input:
        "results/datasets/{task}/{split}.tsv.gz",
    output:
        "results/datasets/{task}/{split}.fa",
    log:
        "logs/dataset_fasta/{task}/{split}.log",
    wildcard_constraints:
        split="train|dev|test",
    conda:
        "../envs/ml.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/dataset_fasta.py"


# `dnalm predict`: class probabilities of a FASTA's records or of BED windows in a genome.
rule dnalm_predict:
    input:
        unpack(lambda wc: P.usemodel_inputs(CFG, "predict", wc.name)),
    output:
        **P.usemodel_outputs("predict", "{name}"),
    log:
        "logs/dnalm_predict/{name}.log",
    benchmark:
        "benchmarks/dnalm_predict/{name}.tsv"
    wildcard_constraints:
        name=P.alternation(CFG.predict),
    conda:
        "../envs/ml.yaml"
    # as dnalm_score: a 2nd thread gains a tiny model little; --set-threads dnalm_predict=N
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=0,
    params:
        section="predict",
        settings=lambda wc: P.usemodel_params(CFG, "predict", wc.name),
    script:
        "../scripts/dnalm_command.py"


# `dnalm embed`: [CLS] or mean-pooled vectors of a chosen layer (.npy + index TSV).
rule dnalm_embed:
    input:
        unpack(lambda wc: P.usemodel_inputs(CFG, "embed", wc.name)),
    output:
        **P.usemodel_outputs("embed", "{name}"),
    log:
        "logs/dnalm_embed/{name}.log",
    benchmark:
        "benchmarks/dnalm_embed/{name}.tsv"
    wildcard_constraints:
        name=P.alternation(CFG.embed),
    conda:
        "../envs/ml.yaml"
    # as dnalm_score: a 2nd thread gains a tiny model little; --set-threads dnalm_embed=N
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=0,
    params:
        section="embed",
        settings=lambda wc: P.usemodel_params(CFG, "embed", wc.name),
    script:
        "../scripts/dnalm_command.py"


# `dnalm scan` (Prom-scan): strided windows over contigs or BED regions, streamed per contig;
# bedGraph + BigWig of the class probability, called regions (BED), counts (JSON).
rule dnalm_scan:
    input:
        unpack(lambda wc: P.usemodel_inputs(CFG, "scan", wc.name)),
    output:
        **P.usemodel_outputs("scan", "{name}"),
    log:
        "logs/dnalm_scan/{name}.log",
    benchmark:
        "benchmarks/dnalm_scan/{name}.tsv"
    wildcard_constraints:
        name=P.alternation(CFG.scan),
    conda:
        "../envs/ml.yaml"
    # as dnalm_score: a 2nd thread gains a tiny model little; --set-threads dnalm_scan=N
    threads: 1
    resources:
        mem_mb=4000,
        runtime=720,
        gpu=0,
    params:
        section="scan",
        settings=lambda wc: P.usemodel_params(CFG, "scan", wc.name),
    script:
        "../scripts/dnalm_command.py"


# `dnalm score-variants`: every allele of a VCF (SNVs, MNVs, indels left-normalised against the
# genome) scored ref vs alt (diff, logOR; zero-shot LLR of SNVs with `lm:`); VCF + TSV + counts.
rule dnalm_score:
    input:
        unpack(lambda wc: P.usemodel_inputs(CFG, "score", wc.name)),
    output:
        **P.usemodel_outputs("score", "{name}"),
    log:
        "logs/dnalm_score/{name}.log",
    benchmark:
        "benchmarks/dnalm_score/{name}.tsv"
    wildcard_constraints:
        name=P.alternation(CFG.score),
    conda:
        "../envs/ml.yaml"
    # one thread (a second adds ~0.25 of a core on the demo), so the job runs beside another;
    # a large VCF on the CPU: --set-threads dnalm_score=N
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=0,
    params:
        section="score",
        settings=lambda wc: P.usemodel_params(CFG, "score", wc.name),
    script:
        "../scripts/dnalm_command.py"
