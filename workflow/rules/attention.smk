# attention stage rules (see docs/ARCHITECTURE.md; logic in the dnalm.attention package).


# DNABERT-viz: last-layer [CLS] attention of the test set (eager attention, streamed per
# batch), high-attention regions of all positives in genome coordinates, and figures. The TSS
# index of promoter tasks comes from the dataset card (dnalm.dataset.read_card).
rule attention_extract:
    input:
        metrics=lambda wc: P.first_seed_run(CFG, wc.task, wc.model, "metrics.json"),
        train="results/datasets/{task}/train.tsv.gz",
        dev="results/datasets/{task}/dev.tsv.gz",
        test="results/datasets/{task}/test.tsv.gz",
        card="results/datasets/{task}/card.json",
    output:
        scores="results/attention/{task}/{model}/scores.npz",
        regions="results/attention/{task}/{model}/regions.bed",
        landscape=report(
            "results/attention/{task}/{model}/landscape.png",
            caption="../report/attention_landscape.rst",
            category="Attention",
            subcategory="{task}",
        ),
        heatmaps=report(
            "results/attention/{task}/{model}/heatmaps.png",
            caption="../report/attention_heatmaps.rst",
            category="Attention",
            subcategory="{task}",
        ),
        context=report(
            "results/attention/{task}/{model}/context.png",
            caption="../report/attention_context.rst",
            category="Attention",
            subcategory="{task}",
        ),
    log:
        "logs/attention_extract/{task}/{model}.log",
    benchmark:
        "benchmarks/attention_extract/{task}/{model}.tsv"
    wildcard_constraints:
        model=r"[^/]+",
    conda:
        "../envs/ml.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=0,
    params:
        model_dir=lambda wc: P.first_seed_run(CFG, wc.task, wc.model, "model"),
        batch_size=CFG.attention.batch_size,
        n_heatmaps=CFG.attention.n_heatmaps,
        min_len=CFG.motifs.min_len,
    script:
        "../scripts/attention_extract.py"
