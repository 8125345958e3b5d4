# datasets stage rules (see docs/ARCHITECTURE.md; logic in dnalm.datasets.build_dataset).


# One job per task: positives, negatives, leakage-free splits, TSVs (gzip, mtime 0), card.json.
rule dataset_build:
    input:
        # genome + normalised annotation, or only an imported task's own files
        unpack(lambda wc: P.dataset_inputs(CFG, wc.task)),
    output:
        train="results/datasets/{task}/train.tsv.gz",
        dev="results/datasets/{task}/dev.tsv.gz",
        test="results/datasets/{task}/test.tsv.gz",
        card=report(
            "results/datasets/{task}/card.json",
            caption="../report/datasets_card.rst",
            category="8 Datasets, corpus, software and config",
        ),
    log:
        "logs/dataset_build/{task}.log",
    benchmark:
        "benchmarks/dataset_build/{task}.tsv"
    wildcard_constraints:
        task=P.dataset_build_pattern(CFG),  # hard-negative loop tasks: rule splice_loop_final
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


# An imported task's rows with coordinates as BED6 (name <split>|<label>|<source_id>), for
# genome browsers (dnalm.importers.write_bed).
rule imported_bed:
    input:
        **{s: f"results/datasets/{{task}}/{s}.tsv.gz" for s in ("train", "dev", "test")},
    output:
        P.imported_bed("{task}"),
    log:
        "logs/imported_bed/{task}.log",
    wildcard_constraints:
        task=P.alternation(P.imported_tasks(CFG)),
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/imported_bed.py"
