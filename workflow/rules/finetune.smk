# finetune stage: one model x task x seed per job, then the benchmark summary (docs/ARCHITECTURE.md).
# Rerun one benchmark:
#   snakemake results/finetune/<task>/<model>/seed<s>/metrics.json --forcerun bert_finetune
# (baselines cnn, cnn_lstm, cnn_gru, kmer_lr: --forcerun baseline_finetune)
# Step checkpoints go to the undeclared {FT_DIR}/checkpoints (finetune.checkpoint_every); a
# retry or requeue resumes from the newest one when settings, data and LM are unchanged, and
# sets it aside in checkpoints/stale-*/ otherwise. SIGUSR1/SIGTERM (SLURM's pre-timeout
# signal, requeue) checkpoint and exit 1. The checkpoints are removed once outputs are written.
# Every model (BERT, long-input BERT, cnn, cnn_lstm, cnn_gru, kmer_lr) writes {FT_DIR}/model: a
# standalone directory with id2label, the task card (+ training split SHA-256) and a README.md
# model card, loaded by dnalm.predict.load_model_dir and `dnalm predict`.
FT_SPLITS = {s: f"results/datasets/{{task}}/{s}.tsv.gz" for s in ("train", "dev", "test")}
FT_SPLITS["card"] = "results/datasets/{task}/card.json"
FT_DIR = "results/finetune/{task}/{model}/seed{seed}"
# Summary inputs: the three files of every run (task x model x seed).
FT_RUNS = {
    name: P.finetune_outputs(CFG, name)
    for name in ("metrics.json", "predictions.tsv.gz", "train_log.tsv")
}


rule bert_finetune:
    input:
        **FT_SPLITS,
        lm=lm_input,
    output:
        metrics=f"{FT_DIR}/metrics.json",
        predictions=f"{FT_DIR}/predictions.tsv.gz",
        train_log=f"{FT_DIR}/train_log.tsv",
        model=directory(f"{FT_DIR}/model"),
    log:
        "logs/bert_finetune/{task}/{model}/seed{seed}.log",
    benchmark:
        "benchmarks/bert_finetune/{task}/{model}/seed{seed}.tsv"
    wildcard_constraints:
        model=P.alternation(P.bert_models(CFG)),
    # Ahead of the baselines (leaves, mostly): the attention, variant, motif and attribution
    # stages hang off these runs, and the 300-bp ones are the longest jobs after gpt_regress.
    priority: 10
    retries: 2
    conda:
        "../envs/ml.yaml"
    # One torch thread: the small demo models gain nothing from a second (their ops are below
    # torch's parallel grain; CPU time ~1.1x wall at 2 threads), so two runs share 2 cores
    # side by side. Larger CPU runs: --set-threads bert_finetune=N.
    threads: 1
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=0,
    params:
        ft=lambda wc: P.finetune_params(CFG, "bert_finetune", wc.task, wc.model),
        scratch=lambda wc: P.scratch_params(CFG, wc.model),
        ckpt_dir=lambda wc: P.finetune_ckpt_dir(wc.task, wc.model, wc.seed),
    script:
        "../scripts/finetune_model.py"


rule baseline_finetune:
    input:
        **FT_SPLITS,
    output:
        metrics=f"{FT_DIR}/metrics.json",
        predictions=f"{FT_DIR}/predictions.tsv.gz",
        train_log=f"{FT_DIR}/train_log.tsv",
        model=directory(f"{FT_DIR}/model"),
    log:
        "logs/baseline_finetune/{task}/{model}/seed{seed}.log",
    benchmark:
        "benchmarks/baseline_finetune/{task}/{model}/seed{seed}.tsv"
    wildcard_constraints:
        model=P.alternation(P.baseline_models()),
    retries: 2
    conda:
        "../envs/ml.yaml"
    threads: 1  # as bert_finetune: two runs side by side on 2 cores
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=0,
    params:
        ft=lambda wc: P.finetune_params(CFG, "baseline_finetune", wc.task, wc.model),
        ckpt_dir=lambda wc: P.finetune_ckpt_dir(wc.task, wc.model, wc.seed),
    script:
        "../scripts/finetune_model.py"


rule summary_build:
    input:
        metrics=FT_RUNS["metrics.json"],
        predictions=FT_RUNS["predictions.tsv.gz"],
        train_logs=FT_RUNS["train_log.tsv"],
    output:
        tsv=report(
            "results/summary/benchmarks.tsv",
            caption="../report/summary_benchmarks.rst",
            category="0 Overview",
            labels={"table": "benchmarks: every metric with 95% CI and n"},
        ),
        mcc="results/summary/mcc.png",
        mcc_svg=report(
            "results/summary/mcc.svg",
            caption="../report/summary_mcc.rst",
            category="0 Overview",
            labels={"figure": "test MCC of every task"},
        ),
        roc_pr="results/summary/roc_pr.png",
        roc_pr_svg="results/summary/roc_pr.svg",
        curves="results/summary/curves.png",
        curves_svg=report(
            "results/summary/curves.svg",
            caption="../report/summary_curves.rst",
            category="6 Pretraining benefit and transfer (Fig. 6)",
            labels={"figure": "fine-tuning curves, pretrained vs scratch"},
        ),
        comparisons=report(
            "results/summary/comparisons.tsv",
            caption="../report/summary_comparisons.rst",
            category="0 Overview",
            labels={"table": "paired comparisons of test MCC"},
        ),
    log:
        "logs/summary_build/summary_build.log",
    conda:
        "../envs/ml.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/summary_build.py"


# Fig. 6d analogue: pretrained vs scratch on the data-scarce tasks (tasks.<t>.max_train).
rule pretraining_benefit:
    input:
        metrics=P.benefit_outputs(CFG, "metrics.json"),
        predictions=P.benefit_outputs(CFG, "predictions.tsv.gz"),
        train_logs=P.benefit_outputs(CFG, "train_log.tsv"),
    output:
        tsv=report(
            "results/summary/pretraining_benefit.tsv",
            caption="../report/benefit_table.rst",
            category="6 Pretraining benefit and transfer (Fig. 6)",
        ),
        png=report(
            "results/summary/pretraining_benefit.png",
            caption="../report/benefit_curves.rst",
            category="6 Pretraining benefit and transfer (Fig. 6)",
        ),
    log:
        "logs/pretraining_benefit/pretraining_benefit.log",
    conda:
        "../envs/ml.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/pretraining_benefit.py"


# DNAGPT-style models (language_models.<lm>.arch: gpt): a classifier whose class is a vocabulary
# token read at <B> (dnalm.gpt.classify), trained by the same loop as BERT (dnalm.finetune):
# same outputs, checkpoints and resume, so its rows join results/summary/benchmarks.tsv. Rerun one:
#   snakemake results/finetune/<task>/<gpt lm>/seed<s>/metrics.json --forcerun gpt_finetune
rule gpt_finetune:
    input:
        **FT_SPLITS,
        lm=lm_input,
    output:
        metrics=f"{FT_DIR}/metrics.json",
        predictions=f"{FT_DIR}/predictions.tsv.gz",
        train_log=f"{FT_DIR}/train_log.tsv",
        model=directory(f"{FT_DIR}/model"),
    log:
        "logs/gpt_finetune/{task}/{model}/seed{seed}.log",
    benchmark:
        "benchmarks/gpt_finetune/{task}/{model}/seed{seed}.tsv"
    wildcard_constraints:
        model=P.alternation(P.gpt_models(CFG)),
        task=P.alternation([t for t in CFG.tasks if t not in P.expression_tasks(CFG)] or ["none"]),
    retries: 2
    conda:
        "../envs/ml.yaml"
    threads: 1  # as bert_finetune: two runs side by side on 2 cores
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=0,
    params:
        ft=lambda wc: P.finetune_params(CFG, "gpt_finetune", wc.task, wc.model),
        scratch=lambda wc: P.scratch_params(CFG, wc.model),
        ckpt_dir=lambda wc: P.finetune_ckpt_dir(wc.task, wc.model, wc.seed),
    script:
        "../scripts/finetune_model.py"


# Expression regression with a GPT LM (tasks.<t>.models of a kind: expression task): promoter tokens
# + the numeric features through the number embedding, regression head read at the last <M>, MSE
# (dnalm.gpt.regress), in the fine-tuning loop: the same step checkpoints, resume and requeue. Rerun one:
#   snakemake results/finetune/<task>/<gpt lm>/seed<s>/metrics.json --forcerun gpt_regress
rule gpt_regress:
    input:
        train="results/datasets/{task}/train.tsv.gz",
        dev="results/datasets/{task}/dev.tsv.gz",
        test="results/datasets/{task}/test.tsv.gz",
        lm=lm_input,
    output:
        metrics=f"{FT_DIR}/metrics.json",
        predictions=f"{FT_DIR}/predictions.tsv.gz",
        train_log=f"{FT_DIR}/train_log.tsv",
        model=directory(f"{FT_DIR}/model"),
    log:
        "logs/gpt_regress/{task}/{model}/seed{seed}.log",
    benchmark:
        "benchmarks/gpt_regress/{task}/{model}/seed{seed}.tsv"
    wildcard_constraints:
        task=P.alternation(P.expression_tasks(CFG)),
        model=P.alternation(P.gpt_models(CFG)),
    priority: 30  # the demo's longest single job: started early, it does not end the run alone
    retries: 2
    conda:
        "../envs/ml.yaml"
    threads: 1  # as bert_finetune: two runs side by side on 2 cores
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=0,
    params:
        ft=lambda wc: P.finetune_params(CFG, "gpt_regress", wc.task, wc.model),
        scratch=lambda wc: P.scratch_params(CFG, wc.model),
        ckpt_dir=lambda wc: P.finetune_ckpt_dir(wc.task, wc.model, wc.seed),
    script:
        "../scripts/gpt_regress.py"


# Expression regression: the k-mer ridge and the GPT regressions of every expression task, one row
# per run (test Pearson r, r², R² with 95% bootstrap CIs; dnalm.regression_summary).
rule regression_summary:
    input:
        metrics=P.regression_outputs(CFG) + P.gpt_regression_outputs(CFG),
    output:
        tsv=report(
            P.regression_table(),
            caption="../report/summary_regression.rst",
            category="0 Overview",
            labels={"table": "expression regression: ridge and GPT, Pearson r, r² (95% CI)"},
        ),
    log:
        "logs/regression_summary/regression_summary.log",
    localrule: True
    conda:
        "../envs/ml.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/regression_summary.py"
