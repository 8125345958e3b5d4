# Hard-negative rounds of splice tasks (tasks.<t>.hard_negatives; logic in dnalm.splice_loop).
# Round 0 is the ordinary dataset (results/datasets/{task}/rounds/r0); round r >= 1 adds the
# false positives of the model trained on round r - 1 to train; the last round is copied to
# results/datasets/{task}/, so fine-tuning and every later stage read it unchanged.
from dnalm import reporting

LOOP = P.alternation(P.splice_loop_tasks(CFG))
LOOP_R = P.splice_loop_dir("{task}", "{r}")


rule splice_round0:
    input:
        unpack(lambda wc: P.dataset_inputs(CFG, wc.task)),
    output:
        **P.splice_round_files("{task}", 0),
    log:
        "logs/splice_round0/{task}.log",
    benchmark:
        "benchmarks/splice_round0/{task}.tsv"
    wildcard_constraints:
        task=LOOP,
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        spec=lambda wc: P.task_params(CFG, wc.task),
        splits=P.rule_params(CFG, "splits"),
    script:
        "../scripts/dataset_build.py"


rule splice_loop_heldout:
    input:
        unpack(lambda wc: P.dataset_inputs(CFG, wc.task)),
        **{f"r0_{k}": v for k, v in P.splice_round_files("{task}", 0).items()},
    output:
        P.splice_loop_heldout("{task}"),
    log:
        "logs/splice_loop_heldout/{task}.log",
    wildcard_constraints:
        task=LOOP,
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        spec=lambda wc: P.task_params(CFG, wc.task),
        seed=CFG.splits.seed,
    script:
        "../scripts/splice_loop.py"


rule splice_loop_train:
    input:
        unpack(lambda wc: P.splice_train_inputs(CFG, wc.task, wc.r)),
    output:
        round=f"{LOOP_R}/round.json",
        metrics=f"{LOOP_R}/metrics.json",
        model=directory(f"{LOOP_R}/model"),
    log:
        "logs/splice_loop_train/{task}/r{r}.log",
    benchmark:
        "benchmarks/splice_loop_train/{task}/r{r}.tsv"
    wildcard_constraints:
        task=LOOP,
        r=r"\d+",
    conda:
        "../envs/ml.yaml"
    threads: 1  # small CPU models gain little from a 2nd thread; two jobs share 2 cores (--set-threads to raise)
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=0,
    params:
        spec=lambda wc: P.task_params(CFG, wc.task),
        ft=P.rule_params(CFG, "finetune"),
        min_steps=lambda wc: CFG.task_min_steps(wc.task),  # hard_negatives.min_steps wins
        seed=lambda wc: P.splice_loop_seed(CFG, wc.task),
    script:
        "../scripts/splice_loop.py"


rule splice_loop_mine:
    input:
        unpack(lambda wc: P.splice_mine_inputs(CFG, wc.task, wc.r)),
    output:
        **P.splice_round_files("{task}", "{r}"),
        added=f"{LOOP_R}/added.tsv.gz",
    log:
        "logs/splice_loop_mine/{task}/r{r}.log",
    benchmark:
        "benchmarks/splice_loop_mine/{task}/r{r}.tsv"
    wildcard_constraints:
        task=LOOP,
        r=r"[1-9]\d*",
    conda:
        "../envs/ml.yaml"
    threads: 1  # small CPU models gain little from a 2nd thread; two jobs share 2 cores (--set-threads to raise)
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=0,
    params:
        spec=lambda wc: P.task_params(CFG, wc.task),
        seed=CFG.splits.seed,
    script:
        "../scripts/splice_loop.py"


# The last round is the task's dataset.
rule splice_loop_final:
    input:
        unpack(lambda wc: P.splice_round_files(wc.task, P.splice_loop_rounds(CFG, wc.task))),
    output:
        **P.dataset_files("{task}"),
    log:
        "logs/splice_loop_final/{task}.log",
    wildcard_constraints:
        task=LOOP,
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    shell:
        "(cp {input.train} {output.train} && cp {input.dev} {output.dev}"
        " && cp {input.test} {output.test} && cp {input.card} {output.card}) > {log} 2>&1"


rule splice_loop_table:
    input:
        lambda wc: P.splice_round_jsons(CFG, wc.task),
    output:
        report(
            P.splice_loop_table("{task}"),
            caption="../report/splice_loop_rounds.rst",
            category=reporting.category("splice"),
            subcategory="{task}",
            labels={"table": "hard-negative rounds"},
        ),
    log:
        "logs/splice_loop_table/{task}.log",
    wildcard_constraints:
        task=LOOP,
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    script:
        "../scripts/splice_loop.py"
