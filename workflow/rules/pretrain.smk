# pretrain stage rules (see docs/ARCHITECTURE.md; logic in dnalm.pretrain, dnalm.modeling)


# Masked-LM pretraining. Checkpoints go to an undeclared directory (Snakemake deletes declared
# outputs before a rerun); a retry or requeue resumes from the newest one when its training
# fingerprint (preset, architecture, corpus) is unchanged, and sets it aside in
# checkpoints/stale-*/ otherwise. resources.gpu > 1 re-launches the script under torchrun
# (DDP, one process per GPU); the preset's global_batch stays the same for any GPU count (the
# per-GPU batch and gradient accumulation are derived from it and logged, dnalm.pretrain.batch_plan).
rule bert_pretrain:
    input:
        stats=lambda wc: P.pretrain_corpus_stats(CFG, wc.lm),
    output:
        model=directory("results/pretrain/{lm}/model"),
        log_tsv=report(
            "results/pretrain/{lm}/train_log.tsv",
            caption="../report/pretrain_log.rst",
            category="6 Pretraining benefit and transfer (Fig. 6)",
        ),
        curves=report(
            "results/pretrain/{lm}/curves.png",
            caption="../report/pretrain_curves.rst",
            category="6 Pretraining benefit and transfer (Fig. 6)",
        ),
    log:
        "logs/bert_pretrain/{lm}.log",
    benchmark:
        "benchmarks/bert_pretrain/{lm}.tsv"
    wildcard_constraints:
        lm=P.alternation(CFG.trained_lms()),
    # Before other ready jobs: every BERT fine-tuning and the attention, variant, motif and
    # attribution stages wait for it (on 2 cores it otherwise starts after the baselines and GPT).
    priority: 50
    retries: 2
    conda:
        "../envs/ml.yaml"
    threads: 4
    resources:
        mem_mb=8000,
        runtime=720,
        gpu=0,
    params:
        ckpt_dir="results/pretrain/{lm}/checkpoints",
        run=lambda wc: P.pretrain_params(CFG, wc.lm),
    script:
        "../scripts/bert_pretrain.py"


# A `pretrained:` DNABERT-format checkpoint directory re-saved as a dnalm model directory.
rule lm_import:
    input:
        src=lambda wc: CFG.language_models[wc.lm].pretrained,
    output:
        model=directory("results/pretrain/{lm}/model"),
    log:
        "logs/lm_import/{lm}.log",
    wildcard_constraints:
        lm=P.alternation(CFG.imported_lms()),
    conda:
        "../envs/ml.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/lm_import.py"
