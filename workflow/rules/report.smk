# Report: tables, per-section benchmark figures and the front page. `snakemake --report
# results/report.html` assembles everything declared with report(); categories follow the
# DNABERT paper's figures (dnalm.reporting.CATEGORIES), "0 Overview" first.
from dnalm import reporting
from dnalm.reporting import targets as RT

# Fine-tuned tasks only (expression regressions have no classifier runs to draw).
REPORT_SECTIONS = reporting.task_sections(
    {t: s for t, s in CFG.tasks.items() if CFG.task_models(t)}
)


rule report_tables:
    input:
        cards=[P.dataset_files(t)["card"] for t in CFG.tasks],
    output:
        cards=report(
            "results/summary/datasets.tsv",
            caption="../report/report_datasets.rst",
            category="8 Datasets, corpus, software and config",
            labels={"table": "dataset cards"},
        ),
        software=report(
            "results/summary/software.tsv",
            caption="../report/report_software.rst",
            category="8 Datasets, corpus, software and config",
            labels={"table": "software versions"},
        ),
        config=report(
            "results/summary/config.yaml",
            caption="../report/report_config.rst",
            category="8 Datasets, corpus, software and config",
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
    params:
        # the resolved config itself: any config change rewrites config.yaml (and so the front
        # page, which reads each language model's genome from it)
        config=settings.canonical(CFG),
    script:
        "../scripts/report_tables.py"


# Benchmark figures of one paper section (promoters Fig. 2, TF sites Fig. 3, splice Fig. 5).
rule summary_section:
    input:
        benchmarks="results/summary/benchmarks.tsv",
        metrics=FT_RUNS["metrics.json"],
        predictions=FT_RUNS["predictions.tsv.gz"],
    output:
        mcc="results/summary/{section}/mcc.png",
        mcc_svg=report(
            "results/summary/{section}/mcc.svg",
            caption="../report/summary_section_mcc.rst",
            category=lambda wc: reporting.category(wc.section),
            subcategory="benchmarks",
            labels={"figure": "test MCC with 95% CI"},
        ),
        roc_pr="results/summary/{section}/roc_pr.png",
        roc_pr_svg=report(
            "results/summary/{section}/roc_pr.svg",
            caption="../report/summary_roc_pr.rst",
            category=lambda wc: reporting.category(wc.section),
            subcategory="benchmarks",
            labels={"figure": "ROC and precision-recall"},
        ),
    log:
        "logs/summary_section/{section}.log",
    wildcard_constraints:
        section=P.alternation(REPORT_SECTIONS or ["none"]),
    conda:
        "../envs/ml.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        tasks=lambda wc: REPORT_SECTIONS[wc.section],
    script:
        "../scripts/summary_section.py"


# The front page: headline table and key findings computed from the result files.
rule report_overview:
    input:
        **RT.overview_inputs(CFG),
    output:
        html=report(
            RT.OVERVIEW_FILES["html"],
            caption="../report/report_overview.rst",
            category="0 Overview",
            labels={"page": "front page: headline table and key findings"},
        ),
        rst=RT.OVERVIEW_FILES["rst"],
        json=RT.OVERVIEW_FILES["json"],
    log:
        "logs/report_overview/report_overview.log",
    localrule: True
    conda:
        "../envs/ml.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/report_overview.py"
