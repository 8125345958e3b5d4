# pretrain stage rules (see docs/ARCHITECTURE.md; logic in dnalm.pretrain, dnalm.modeling)


# Masked-LM pretraining. Checkpoints go to an undeclared directory (Snakemake deletes declared
# outputs before a rerun); a retry or requeue resumes from the newest one when its training
# fingerprint (preset, architecture, corpus) is unchanged, and sets it aside in
# checkpoints/stale-*/ otherwise. resources.gpu > 1 re-launches the script under torchrun
# (DDP, one process per GPU).
rule bert_pretrain:
    input:
        stats=lambda wc: dcfg.pretrain_corpus_stats(config, wc.lm),
    output:
        model=directory("results/pretrain/{lm}/model"),
        log_tsv=report(
            "results/pretrain/{lm}/train_log.tsv",
            caption="../report/pretrain_log.rst",
            category="Pretraining",
        ),
        curves=report(
            "results/pretrain/{lm}/curves.png",
            caption="../report/pretrain_curves.rst",
            category="Pretraining",
        ),
    log:
        "logs/bert_pretrain/{lm}.log",
    benchmark:
        "benchmarks/bert_pretrain/{lm}.tsv"
    wildcard_constraints:
        lm=dcfg.alternation(dcfg.trained_lms(config)),
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
        k=lambda wc: config["language_models"][wc.lm].get("k", 6),
        size=lambda wc: config["language_models"][wc.lm].get("size", "tiny"),
        preset=lambda wc: dcfg.pretrain_preset(config, wc.lm),
        preset_name=lambda wc: config["language_models"][wc.lm].get("preset", "demo"),
    script:
        "../scripts/bert_pretrain.py"


# A `pretrained:` DNABERT-format checkpoint directory re-saved as a dnalm model directory.
rule lm_import:
    input:
        src=lambda wc: config["language_models"][wc.lm]["pretrained"],
    output:
        model=directory("results/pretrain/{lm}/model"),
    log:
        "logs/lm_import/{lm}.log",
    wildcard_constraints:
        lm=dcfg.alternation(dcfg.imported_lms(config)),
    conda:
        "../envs/ml.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/lm_import.py"
