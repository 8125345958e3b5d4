# attention stage rules (see docs/ARCHITECTURE.md; logic in the dnalm.attention package).


# DNABERT-viz: last-layer [CLS] attention of the test set (eager attention, streamed per
# batch), high-attention regions of all positives in genome coordinates, and figures. The TSS
# index of promoter tasks comes from the dataset card (dnalm.dataset.read_card). summary.json
# holds the class contrast with its permutation test, the planted-site AUROC (only on a demo
# world, whose truth/positions.tsv is then an input) and why regions.bed is empty, if it is.
# {model} may be a language model or its -scratch control (its first seed's fine-tuned run).
rule attention_extract:
    input:
        metrics=lambda wc: P.first_seed_run(CFG, wc.task, wc.model, "metrics.json"),
        train="results/datasets/{task}/train.tsv.gz",
        dev="results/datasets/{task}/dev.tsv.gz",
        test="results/datasets/{task}/test.tsv.gz",
        card="results/datasets/{task}/card.json",
        truth=lambda wc: P.attention_truth_inputs(CFG, wc.task),
    output:
        scores="results/attention/{task}/{model}/scores.npz",
        regions="results/attention/{task}/{model}/regions.bed",
        summary=report(
            "results/attention/{task}/{model}/summary.json",
            caption="../report/attention_summary.rst",
            category="3 Attention and motifs (Fig. 4)",
            subcategory="{task}",
        ),
        landscape=report(
            "results/attention/{task}/{model}/landscape.png",
            caption="../report/attention_landscape.rst",
            category="3 Attention and motifs (Fig. 4)",
            subcategory="{task}",
        ),
        heatmaps=report(
            "results/attention/{task}/{model}/heatmaps.png",
            caption="../report/attention_heatmaps.rst",
            category="3 Attention and motifs (Fig. 4)",
            subcategory="{task}",
        ),
        context=report(
            "results/attention/{task}/{model}/context.png",
            caption="../report/attention_context.rst",
            category="3 Attention and motifs (Fig. 4)",
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
    threads: 1  # small CPU models gain little from a 2nd thread; two jobs share 2 cores (--set-threads to raise)
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=0,
    params:
        model_dir=lambda wc: P.first_seed_run(CFG, wc.task, wc.model, "model"),
        attention=P.rule_params(CFG, "attention"),
        regions=P.region_params(CFG),
    script:
        "../scripts/attention_extract.py"
