# motifs stage rules (see docs/ARCHITECTURE.md; logic in the dnalm.motifs package).


from dnalm import motifs as dmotifs


# DNABERT-viz motif discovery on the test set's attention, then TOMTOM (memelite) against
# the known motifs of the task's genome, and logomaker logos.
rule motif_discover:
    input:
        scores="results/attention/{task}/{model}/scores.npz",
        test="results/datasets/{task}/test.tsv.gz",
        known=lambda wc: dmotifs.known_motif_inputs(config, wc.task),
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
        positives=config.get("motifs", {}).get("positives", "true_label"),
        min_len=config.get("motifs", {}).get("min_len", 5),
        window=config.get("motifs", {}).get("window", 24),
        pval_cutoff=config.get("motifs", {}).get("pval_cutoff", 0.005),
        min_n_motif=config.get("motifs", {}).get("min_n_motif", 3),
        candidates=config.get("motifs", {}).get("candidates", "regions"),
        candidate_len=config.get("motifs", {}).get("candidate_len", 8),
    script:
        "../scripts/motif_discover.py"
