# Report tables. `snakemake --report results/report.html` assembles everything declared with report().


rule report_tables:
    input:
        cards=[P.dataset_files(t)["card"] for t in CFG.tasks],
    output:
        cards=report(
            "results/summary/datasets.tsv",
            caption="../report/report_datasets.rst",
            category="Datasets",
            labels={"table": "dataset cards"},
        ),
        software=report(
            "results/summary/software.tsv",
            caption="../report/report_software.rst",
            category="Software and config",
            labels={"table": "software versions"},
        ),
        config=report(
            "results/summary/config.yaml",
            caption="../report/report_config.rst",
            category="Software and config",
            labels={"table": "resolved config"},
        ),
    log:
        "logs/report_tables/report_tables.log",
    localrule: True
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/report_tables.py"
