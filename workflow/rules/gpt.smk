# GPT pretraining rules (see docs/ARCHITECTURE.md; logic in dnalm.gpt)


# DNAGPT-style pretraining (next token, GC content, order) on the same corpus shards as BERT.
# Checkpoints go to an undeclared directory; a retry or requeue resumes from the newest one when
# its training fingerprint is unchanged (dnalm.gpt.train, built on dnalm.pretrain's checkpoint,
# batch-plan and signal handling). resources.gpu > 1 re-launches the script under torchrun.
rule gpt_pretrain:
    input:
        stats=lambda wc: P.pretrain_corpus_stats(CFG, wc.lm),
    output:
        model=directory("results/pretrain/{lm}/model"),
        log_tsv=report(
            "results/pretrain/{lm}/train_log.tsv",
            caption="../report/gpt_pretrain_log.rst",
            category="6 Pretraining benefit and transfer (Fig. 6)",
        ),
        curves=report(
            "results/pretrain/{lm}/curves.png",
            caption="../report/gpt_pretrain_curves.rst",
            category="6 Pretraining benefit and transfer (Fig. 6)",
        ),
    log:
        "logs/gpt_pretrain/{lm}.log",
    benchmark:
        "benchmarks/gpt_pretrain/{lm}.tsv"
    wildcard_constraints:
        lm=P.alternation(CFG.gpt_lms()),
    priority: 40  # after bert_pretrain, before the leaves: gpt_regress (the longest job) needs it
    retries: 2
    conda:
        "../envs/ml.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=720,
        gpu=0,
    params:
        ckpt_dir="results/pretrain/{lm}/checkpoints",
        run=lambda wc: P.pretrain_params(CFG, wc.lm),
    script:
        "../scripts/gpt_pretrain.py"
