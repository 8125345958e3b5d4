# plan: size an allocation before running (dnalm.plan). Pure config: no rule runs before it.
#   snakemake plan --configfile config/hg38.yaml --replace-workflow-config
# prints jobs, CPU-hours, GPU-hours and disk per stage; results/plan.{tsv,json,txt} keep it.


# The plan's files; the whole validated config is the params, so any config change rewrites them.
rule plan_tables:
    output:
        tsv="results/plan.tsv",
        json="results/plan.json",
        txt="results/plan.txt",
    log:
        "logs/plan_tables/plan_tables.log",
    localrule: True
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        config=settings.canonical(CFG),
    script:
        "../scripts/plan_tables.py"


# The target: print the table (a rule without outputs runs every time it is asked for).
rule plan:
    input:
        rules.plan_tables.output.txt,
    log:
        "logs/plan/plan.log",
    localrule: True
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=100,
        runtime=1,
    shell:
        "cat {input:q} 2> {log:q}"
