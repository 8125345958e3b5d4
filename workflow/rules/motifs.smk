# motifs stage rules (see docs/ARCHITECTURE.md; logic in the dnalm.motifs package).


# A known-motif database of `motifs.sources` (e.g. JASPAR 2024 CORE vertebrates non-redundant),
# fetched with its md5/sha256 verified and kept as published once it reads as MEME, JASPAR or
# TRANSFAC (dnalm.motifs.fetch_known_motifs). `motifs.known_motifs.<genome>` names it by key.
rule known_motifs_download:
    input:
        lambda wc: P.known_motif_source_inputs(CFG, wc.db),
    output:
        "resources/known_motifs/{db}.txt",
    log:
        "logs/known_motifs_download/{db}.log",
    wildcard_constraints:
        db=P.alternation(CFG.motifs.sources),
    retries: 2
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        src=lambda wc: P.known_motif_source(CFG, wc.db),
    script:
        "../scripts/known_motifs_download.py"


# DNABERT-viz motif discovery on the test set's attention, then TOMTOM (memelite) against
# the known motifs of the task's genome, and logomaker logos. summary.json says whether anything
# was found (status ok / no_regions / no_significant_candidates / too_few_windows /
# no_known_match) with the numbers that explain it; an empty result is also a WARNING block.
rule motif_discover:
    input:
        scores="results/attention/{task}/{model}/scores.npz",
        test="results/datasets/{task}/test.tsv.gz",
        known=lambda wc: P.known_motif_inputs(CFG, wc.task),
    output:
        meme="results/motifs/{task}/{model}/motifs.meme",
        summary=report(
            "results/motifs/{task}/{model}/summary.json",
            caption="../report/motifs_summary.rst",
            category="3 Attention and motifs (Fig. 4)",
            subcategory="{task}",
        ),
        instances="results/motifs/{task}/{model}/instances.tsv",
        matches=report(
            "results/motifs/{task}/{model}/matches.tsv",
            caption="../report/motifs_matches.rst",
            category="3 Attention and motifs (Fig. 4)",
            subcategory="{task}",
        ),
        logos=directory("results/motifs/{task}/{model}/logos"),
        logo_panel=report(
            "results/motifs/{task}/{model}/logos.png",
            caption="../report/motifs_logos.rst",
            category="3 Attention and motifs (Fig. 4)",
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
        motifs=P.motif_params(CFG),
    script:
        "../scripts/motif_discover.py"
