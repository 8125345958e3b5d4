# genome stage rules (see docs/ARCHITECTURE.md; logic in dnalm.fetch, dnalm.genome, dnalm.contigs)


# Copy/download the configured FASTA, verifying size and md5/sha256 (temp: only genome_prepare reads it).
rule genome_download:
    input:
        get_source("fasta"),
    output:
        temp(P.GENOME_DOWNLOAD),
    log:
        "logs/genome_download/{genome}.log",
    benchmark:
        "benchmarks/genome_download/{genome}.tsv"
    retries: 2
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=240,
    params:
        src=source_params("fasta"),
    script:
        "../scripts/genome_download.py"


rule genome_assembly_report:
    input:
        get_source("assembly_report"),
    output:
        "resources/genomes/{genome}/assembly_report.txt",
    log:
        "logs/genome_assembly_report/{genome}.log",
    retries: 2
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=200,
        runtime=10,
    params:
        src=source_params("assembly_report"),
    script:
        "../scripts/genome_download.py"


# Validate, keep genomes.<g>.contigs, bgzip + faidx, chrom.sizes, contig name table.
# A checkpoint: the corpus scatters over the chromosomes listed in chrom.sizes.
checkpoint genome_prepare:
    input:
        fasta=P.GENOME_DOWNLOAD,
        # The fetched assembly report, or nothing when none is configured.
        report=lambda wc: (
            f"resources/genomes/{wc.genome}/assembly_report.txt"
            if P.source(CFG, "assembly_report", dict(wc))
            else []
        ),
    output:
        fasta="resources/genomes/{genome}/genome.fa.gz",
        fai="resources/genomes/{genome}/genome.fa.gz.fai",
        gzi="resources/genomes/{genome}/genome.fa.gz.gzi",
        sizes="resources/genomes/{genome}/chrom.sizes",
        contigs="resources/genomes/{genome}/contigs.tsv",
    log:
        "logs/genome_prepare/{genome}.log",
    benchmark:
        "benchmarks/genome_prepare/{genome}.tsv"
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=120,
    params:
        contigs=lambda wc: CFG.genomes[wc.genome].contigs,
    script:
        "../scripts/genome_prepare.py"
