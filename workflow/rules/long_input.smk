# Pooling comparison of long-input (DNABERT-XL) tasks: tasks that differ only in
# tasks.<t>.long_input (concat, mean, max) side by side, mean over seeds with 95% intervals
# (dnalm.long_input_summary). Built when the config has such a group (config/hg38.yaml:
# prom1001_all*, prom2001_all*).


rule long_input_summary:
    input:
        benchmarks="results/summary/benchmarks.tsv",
    output:
        tsv=report(
            P.long_input_summary_file(),
            caption="../report/long_input.rst",
            category="0 Overview",
            labels={"table": "long inputs: concat vs mean vs max pooling"},
        ),
    log:
        "logs/long_input_summary/long_input_summary.log",
    conda:
        "../envs/ml.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        groups=P.pooling_groups(CFG),
    script:
        "../scripts/long_input_summary.py"
