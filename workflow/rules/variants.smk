# variants stage rules (see docs/ARCHITECTURE.md; logic in dnalm.vcf, dnalm.variants.{select,
# effects,shard,gather,plots}, dnalm.clinvar, dnalm.mutagenesis)

VARIANT_TASKS = P.alternation(CFG.variants.tasks)
VARIANT_MODEL = P.alternation([CFG.variants.model] if CFG.variants.model else [])


# Stream dbSNP / ClinVar, validate every record (header, columns, POS within the contig, REF/ALT
# alphabet; errors name file:line), rename contigs to the genome's names (RefSeq and 1-style
# names via contigs.tsv), drop and count records on other contigs or without a base ALT, write
# bgzip + tabix.
rule vcf_normalise:
    input:
        src=lambda wc: P.local_source_inputs(CFG, wc.source, dict(wc)),
        contigs="resources/genomes/{genome}/contigs.tsv",
    output:
        vcf="resources/annotations/{genome}/{source}.vcf.gz",
        tbi="resources/annotations/{genome}/{source}.vcf.gz.tbi",
        counts="resources/annotations/{genome}/{source}.normalise.json",
    log:
        "logs/vcf_normalise/{genome}/{source}.log",
    benchmark:
        "benchmarks/vcf_normalise/{genome}/{source}.tsv"
    wildcard_constraints:
        source="dbsnp|clinvar",
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=720,
    params:
        src=lambda wc: P.source(CFG, wc.source, dict(wc)),
    script:
        "../scripts/vcf_normalise.py"


# Scatter: select and score the dbSNP SNVs in high-attention regions and the ClinVar SNVs in
# positive windows of one contig shard (contigs dealt round-robin by length, see
# dnalm.variants.shard_contigs): ref/alt classifier windows (DNABERT diff/logOR), masked-LM
# zero-shot LLR. Only the shard's tabix regions are read; the window length comes from the
# task's card.json.
rule variant_score_shard:
    input:
        unpack(lambda wc: P.variant_model_inputs(CFG, wc.task, wc.model)),
        unpack(lambda wc: P.vcf_inputs(CFG, wc.task)),
    output:
        table="results/variants/{task}/{model}/shards/{shard}-of-{n}.tsv.gz",
        meta="results/variants/{task}/{model}/shards/{shard}-of-{n}.json",
    log:
        "logs/variant_score_shard/{task}/{model}/{shard}-of-{n}.log",
    benchmark:
        "benchmarks/variant_score_shard/{task}/{model}/{shard}-of-{n}.tsv"
    wildcard_constraints:
        task=VARIANT_TASKS,
        model=VARIANT_MODEL,
        shard=r"[1-9]\d*",
        n=r"[1-9]\d*",
    conda:
        "../envs/ml.yaml"
    threads: 1  # small CPU models gain little from a 2nd thread; two jobs share 2 cores (--set-threads to raise)
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=0,
    params:
        context=CFG.variants.context,
        batch_size=CFG.variants.batch_size,
    script:
        "../scripts/variant_score_shard.py"


# Gather the shards: random-SNV null (scored once; its SNVs with their own p-values in null.tsv.gz,
# for calibration checks), p-values against it (dnalm.variants.pvalues: neutral null + generalised
# Pareto tail) and BH over all variants, ClinVar enrichment/AUROC with bootstrap CIs, mutation maps
# of the top variants, figures. The classifier is variants.classifier (null: variants.model).
rule variant_score:
    input:
        unpack(lambda wc: P.variant_gather_inputs(CFG, wc.task, wc.model)),
    output:
        scores="results/variants/{task}/{model}/scores.tsv.gz",
        null="results/variants/{task}/{model}/null.tsv.gz",
        clinvar=report(
            "results/variants/{task}/{model}/clinvar.tsv",
            caption="../report/variants_clinvar.rst",
            category="5 Functional variants (Fig. 5)",
            subcategory="{task}",
        ),
        summary="results/variants/{task}/{model}/summary.json",
        fig_scores=report(
            "results/variants/{task}/{model}/score_by_clnsig.png",
            caption="../report/variants_scores.rst",
            category="5 Functional variants (Fig. 5)",
            subcategory="{task}",
        ),
        fig_top=report(
            "results/variants/{task}/{model}/top_candidates.png",
            caption="../report/variants_top.rst",
            category="5 Functional variants (Fig. 5)",
            subcategory="{task}",
        ),
        fig_maps=report(
            "results/variants/{task}/{model}/mutation_maps.png",
            caption="../report/variants_maps.rst",
            category="5 Functional variants (Fig. 5)",
            subcategory="{task}",
        ),
    log:
        "logs/variant_score/{task}/{model}.log",
    benchmark:
        "benchmarks/variant_score/{task}/{model}.tsv"
    wildcard_constraints:
        task=VARIANT_TASKS,
        model=VARIANT_MODEL,
    conda:
        "../envs/ml.yaml"
    threads: 1  # small CPU models gain little from a 2nd thread; two jobs share 2 cores (--set-threads to raise)
    resources:
        mem_mb=4000,
        runtime=240,
        gpu=0,
    params:
        variants=P.rule_params(CFG, "variants"),
        classifier=lambda wc: P.variant_classifier(CFG, wc.model),
    script:
        "../scripts/variant_score.py"
