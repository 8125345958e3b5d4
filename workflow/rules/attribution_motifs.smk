# attribution-motif stage rules (logic in the dnalm.attribution_motifs package).


# TF-MoDISco (modisco-lite) on one attribution file's positives (modisco.max_seqs of them,
# seeded), TOMTOM (memelite) of the trimmed patterns against the known motifs of the task's
# genome, logos, and the planted-site AUROC of |attr| on a demo world. summary.json says
# whether anything was found (status ok / no_positives / no_seqlets / no_patterns /
# no_known_match) with the numbers that explain it: attribution size, seqlets, model test MCC.
rule attribution_motifs:
    input:
        unpack(lambda wc: P.attribution_motif_inputs(CFG, wc.task, wc.model, wc.seed, wc.method)),
    output:
        h5="results/attribution_motifs/{task}/{model}/seed{seed}/{method}/modisco.h5",
        meme="results/attribution_motifs/{task}/{model}/seed{seed}/{method}/patterns.meme",
        patterns="results/attribution_motifs/{task}/{model}/seed{seed}/{method}/patterns.tsv",
        seqlets="results/attribution_motifs/{task}/{model}/seed{seed}/{method}/seqlets.tsv",
        matches="results/attribution_motifs/{task}/{model}/seed{seed}/{method}/matches.tsv",
        logos=directory("results/attribution_motifs/{task}/{model}/seed{seed}/{method}/logos"),
        logo_panel=report(
            "results/attribution_motifs/{task}/{model}/seed{seed}/{method}/logos.png",
            caption="../report/attribution_motifs_logos.rst",
            category="3 Attention and motifs (Fig. 4)",
            subcategory="{task}",
            labels={"model": "{model}", "method": "{method}", "figure": "TF-MoDISco patterns"},
        ),
        summary="results/attribution_motifs/{task}/{model}/seed{seed}/{method}/summary.json",
    log:
        "logs/attribution_motifs/{task}/{model}/seed{seed}/{method}.log",
    benchmark:
        "benchmarks/attribution_motifs/{task}/{model}/seed{seed}/{method}.tsv"
    wildcard_constraints:
        model=r"[^/]+",
        method="ism|ig",
    conda:
        "../envs/ml.yaml"
    # One thread: on the demo's 200-sequence maps a 2nd numba thread saved no time (same CPU
    # seconds, identical outputs) and held a core idle. Large runs: --set-threads attribution_motifs=N
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=0,
    params:
        modisco=P.rule_params(CFG, "modisco"),
    script:
        "../scripts/attribution_motifs.py"


# Per task, attention motifs (DNABERT's route, results/motifs/) beside every TF-MoDISco run:
# known motifs recovered (best TOMTOM q each), motifs and instances, planted-site AUROC with
# its bootstrap CI, status; runs that found nothing keep their row with the reason.
rule interpretation_summary:
    input:
        lambda wc: P.interpretation_input_files(CFG, wc.task),
    output:
        tsv=report(
            "results/summary/interpretation/{task}.tsv",
            caption="../report/interpretation_table.rst",
            category="3 Attention and motifs (Fig. 4)",
            subcategory="{task}",
            labels={"table": "attention vs attribution motifs"},
        ),
        png="results/summary/interpretation/{task}.png",
        svg=report(
            "results/summary/interpretation/{task}.svg",
            caption="../report/interpretation_figure.rst",
            category="3 Attention and motifs (Fig. 4)",
            subcategory="{task}",
            labels={"figure": "attention vs attribution motifs"},
        ),
    log:
        "logs/interpretation_summary/{task}.log",
    wildcard_constraints:
        task=P.alternation(P.modisco_selection(CFG)[0]),
    conda:
        "../envs/ml.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        runs=lambda wc: P.interpretation_inputs(CFG, wc.task),
    script:
        "../scripts/interpretation_summary.py"
