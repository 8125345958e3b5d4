# Artificial genomes (dnalm.haplotypes): real phased haplotypes of a SNP region (msprime demo or
# a 1000 Genomes VCF region), generators (a fine-tuned GPT, an order-k Markov chain) trained on
# most samples, their haplotypes (and two controls: independent sites, copies of training)
# against the held-out samples.


wildcard_constraints:
    hapset=P.alternation(CFG.haplotypes),


# Demo: simulated haplotypes as a phased VCF (+ .tbi).
rule haplotypes_simulate:
    output:
        vcf="resources/haplotypes/{hapset}/source.vcf.gz",
        tbi="resources/haplotypes/{hapset}/source.vcf.gz.tbi",
    log:
        "logs/haplotypes_simulate/{hapset}.log",
    wildcard_constraints:
        hapset=P.alternation(P.haplotype_sets(CFG, "simulate")),
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        sim=lambda wc: P.haplotype_params(CFG, wc.hapset, "simulate"),
    script:
        "../scripts/haplotypes_simulate.py"


# Production: the phased VCF and its index, checksums verified.
rule haplotypes_fetch:
    output:
        vcf="resources/haplotypes/{hapset}/source.vcf.gz",
        tbi="resources/haplotypes/{hapset}/source.vcf.gz.tbi",
    log:
        "logs/haplotypes_fetch/{hapset}.log",
    wildcard_constraints:
        hapset=P.alternation(P.haplotype_sets(CFG, "vcf")),
    retries: 2
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=120,
    params:
        src=lambda wc: P.haplotype_params(CFG, wc.hapset, "fetch"),
    script:
        "../scripts/haplotypes_fetch.py"


# The region's biallelic SNPs, split by sample into training and held-out haplotypes.
rule haplotypes_split:
    input:
        vcf="resources/haplotypes/{hapset}/source.vcf.gz",
        tbi="resources/haplotypes/{hapset}/source.vcf.gz.tbi",
    output:
        train="results/haplotypes/{hapset}/train.npz",
        held_out="results/haplotypes/{hapset}/held_out.npz",
    log:
        "logs/haplotypes_split/{hapset}.log",
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        p=lambda wc: P.haplotype_params(CFG, wc.hapset, "split"),
    script:
        "../scripts/haplotypes_split.py"


# The GPT generator (haplotypes.<name>.generators: gpt): a DnaGptModel fine-tuned on the training
# haplotypes as 6-mer tokens (from scratch, or from a pretrained GPT: gpt.lm), then sampled.
rule haplotypes_gpt:
    input:
        unpack(lambda wc: P.haplotype_gpt_inputs(CFG, wc.hapset)),
    output:
        model=directory("results/haplotypes/{hapset}/gpt/model"),
        samples="results/haplotypes/{hapset}/gpt/samples.npz",
        train_log="results/haplotypes/{hapset}/gpt/train_log.tsv",
        info="results/haplotypes/{hapset}/gpt/generate.json",
    log:
        "logs/haplotypes_gpt/{hapset}.log",
    benchmark:
        "benchmarks/haplotypes_gpt/{hapset}.tsv"
    conda:
        "../envs/ml.yaml"
    threads: 1  # a tiny GPT on short rows: a second thread gains little and stalls when cores are shared
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        p=lambda wc: P.haplotype_params(CFG, wc.hapset, "gpt"),
    script:
        "../scripts/haplotypes_gpt.py"


# The generators (and the controls) trained on the training haplotypes; the first's as a VCF.
rule haplotypes_generate:
    input:
        unpack(lambda wc: P.haplotype_generate_inputs(CFG, wc.hapset)),
    output:
        artificial="results/haplotypes/{hapset}/artificial.npz",
        vcf="results/haplotypes/{hapset}/artificial.vcf.gz",
        tbi="results/haplotypes/{hapset}/artificial.vcf.gz.tbi",
        info="results/haplotypes/{hapset}/generate.json",
    log:
        "logs/haplotypes_generate/{hapset}.log",
    benchmark:
        "benchmarks/haplotypes_generate/{hapset}.tsv"
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        p=lambda wc: P.haplotype_params(CFG, wc.hapset, "generate"),
    script:
        "../scripts/haplotypes_generate.py"


# AF / LD correlation, PCA overlap, haplotype distances with bootstrap CIs, and figures.
rule haplotypes_evaluate:
    input:
        train="results/haplotypes/{hapset}/train.npz",
        held_out="results/haplotypes/{hapset}/held_out.npz",
        artificial="results/haplotypes/{hapset}/artificial.npz",
        info="results/haplotypes/{hapset}/generate.json",
    output:
        metrics=report(
            "results/haplotypes/{hapset}/metrics.tsv",
            caption="../report/haplotypes_metrics.rst",
            category="9 Artificial genomes",
            subcategory="{hapset}",
        ),
        summary="results/haplotypes/{hapset}/summary.json",
        af=report(
            "results/haplotypes/{hapset}/figures/af.png",
            caption="../report/haplotypes_figures.rst",
            category="9 Artificial genomes",
            subcategory="{hapset}",
            labels={"figure": "allele frequencies"},
        ),
        ld=report(
            "results/haplotypes/{hapset}/figures/ld.png",
            caption="../report/haplotypes_figures.rst",
            category="9 Artificial genomes",
            subcategory="{hapset}",
            labels={"figure": "LD"},
        ),
        pca=report(
            "results/haplotypes/{hapset}/figures/pca.png",
            caption="../report/haplotypes_figures.rst",
            category="9 Artificial genomes",
            subcategory="{hapset}",
            labels={"figure": "PCA"},
        ),
        distances=report(
            "results/haplotypes/{hapset}/figures/distances.png",
            caption="../report/haplotypes_figures.rst",
            category="9 Artificial genomes",
            subcategory="{hapset}",
            labels={"figure": "haplotype distances"},
        ),
    log:
        "logs/haplotypes_evaluate/{hapset}.log",
    benchmark:
        "benchmarks/haplotypes_evaluate/{hapset}.tsv"
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=240,
    params:
        p=lambda wc: P.haplotype_params(CFG, wc.hapset, "evaluate"),
    script:
        "../scripts/haplotypes_evaluate.py"
