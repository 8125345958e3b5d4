# corpus stage rules (see docs/ARCHITECTURE.md, "Corpus shards"; logic in dnalm.corpus).
# Shards hold base codes, not tokens: one corpus per genome serves every k.
from dnalm.corpus import contig_settings as corpus_contig_settings
from dnalm.corpus import shard_files as corpus_shard_files


rule corpus_shard:
    input:
        fasta="resources/genomes/{genome}/genome.fa.gz",
        fai="resources/genomes/{genome}/genome.fa.gz.fai",
        gzi="resources/genomes/{genome}/genome.fa.gz.gzi",
    output:
        seq="results/corpus/{genome}/shards/{chrom}.seq.npy",
        idx="results/corpus/{genome}/shards/{chrom}.idx.npy",
        meta="results/corpus/{genome}/shards/{chrom}.meta.json",
    log:
        "logs/corpus_shard/{genome}/{chrom}.log",
    benchmark:
        "benchmarks/corpus_shard/{genome}/{chrom}.tsv"
    wildcard_constraints:
        chrom=r"[^/]+",
    priority: 50  # as bert_pretrain, whose input it is
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        # the corpus section; held-out contigs (genomes.<g>.val_contigs) are validation only
        corpus=lambda wc: corpus_contig_settings(
            P.rule_params(CFG, "corpus"), CFG.genomes[wc.genome].val_contigs, wc.chrom
        ),
    script:
        "../scripts/corpus_shard.py"


rule corpus_stats:
    input:
        # genome_prepare is a checkpoint: one shard per chromosome of its chrom.sizes
        lambda wc: corpus_shard_files(
            checkpoints.genome_prepare.get(genome=wc.genome).output.sizes,
            f"results/corpus/{wc.genome}/shards",
            CFG.genomes[wc.genome].val_contigs,
            f"genomes.{wc.genome}.val_contigs",
        ),
    output:
        stats="results/corpus/{genome}/stats.json",
        png=report(
            "results/corpus/{genome}/length_hist.png",
            caption="../report/corpus_lengths.rst",
            category="8 Datasets, corpus, software and config",
        ),
    log:
        "logs/corpus_stats/{genome}.log",
    benchmark:
        "benchmarks/corpus_stats/{genome}.tsv"
    priority: 50  # as bert_pretrain, whose input it is
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/corpus_stats.py"
