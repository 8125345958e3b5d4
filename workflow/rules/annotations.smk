# annotations stage rules (see docs/ARCHITECTURE.md; logic in dnalm.datasets.prepare_annotation,
# dnalm.epd, dnalm.splice, dnalm.tfbs). Sources are renamed to the genome's own contig names.


# EPDnew BED (+ TATA flags) -> epd.tsv: contig, tss0 (0-based TSS), strand, name, tata.
rule annotation_epd:
    input:
        unpack(lambda wc: P.genome_files(wc.genome)),
        bed=get_source("epd"),
        motifs=get_source("epd_motifs"),
    output:
        "resources/annotations/{genome}/epd.tsv",
    log:
        "logs/annotation_epd/{genome}.log",
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        sources=lambda wc: {
            "epd": P.source(CFG, "epd", dict(wc)),
            "epd_motifs": P.source(CFG, "epd_motifs", dict(wc)),
        },
    script:
        "../scripts/annotation_epd.py"


# Gene annotation GTF, validated and renamed (gzip, mtime 0).
rule annotation_gtf:
    input:
        unpack(lambda wc: P.genome_files(wc.genome)),
        gtf=get_source("gtf"),
    output:
        "resources/annotations/{genome}/genes.gtf.gz",
    log:
        "logs/annotation_gtf/{genome}.log",
    benchmark:
        "benchmarks/annotation_gtf/{genome}.tsv"
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        sources=lambda wc: {"gtf": P.source(CFG, "gtf", dict(wc))},
    script:
        "../scripts/annotation_gtf.py"


# One ENCODE narrowPeak per experiment, validated and renamed (gzip, mtime 0).
rule annotation_peaks:
    input:
        unpack(lambda wc: P.genome_files(wc.genome)),
        peaks=get_source("peaks"),
    output:
        "resources/annotations/{genome}/peaks/{experiment}.narrowPeak.gz",
    log:
        "logs/annotation_peaks/{genome}/{experiment}.log",
    wildcard_constraints:
        experiment=r"[^/]+",
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        sources=lambda wc: {"peaks": P.source(CFG, "peaks", dict(wc))},
    script:
        "../scripts/annotation_peaks.py"
