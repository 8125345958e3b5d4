# motifs stage rules (see docs/ARCHITECTURE.md; logic in the dnalm.motifs package).


# DNABERT-viz motif discovery on the test set's attention, then TOMTOM (memelite) against
# the known motifs of the task's genome, and logomaker logos.
rule motif_discover:
    input:
        scores="results/attention/{task}/{model}/scores.npz",
        test="results/datasets/{task}/test.tsv.gz",
        known=lambda wc: P.known_motif_inputs(CFG, wc.task),
    output:
        meme="results/motifs/{task}/{model}/motifs.meme",
        instances="results/motifs/{task}/{model}/instances.tsv",
        matches=report(
            "results/motifs/{task}/{model}/matches.tsv",
            caption="../report/motifs_matches.rst",
            category="Motifs",
            subcategory="{task}",
        ),
        logos=directory("results/motifs/{task}/{model}/logos"),
        logo_panel=report(
            "results/motifs/{task}/{model}/logos.png",
            caption="../report/motifs_logos.rst",
            category="Motifs",
            subcategory="{task}",
        ),
    log:
        "logs/motif_discover/{task}/{model}.log",
    benchmark:
        "benchmarks/motif_discover/{task}/{model}.tsv"
    wildcard_constraints:
        model=r"[^/]+",
    conda:
        "../envs/ml.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=0,
    params:
        motifs=P.rule_params(CFG, "motifs"),
    script:
        "../scripts/motif_discover.py"
