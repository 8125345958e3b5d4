"""Rule expression_ridge: the k-mer ridge baseline of one expression task -> metrics.json + predictions."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake

from dnalm.kmer_ridge import fit_kmer_ridge  # noqa: E402

fit_kmer_ridge(
    {s: snakemake.input[s] for s in ("train", "dev", "test")},  # noqa: F821
    dict(snakemake.output.items()),  # noqa: F821
    seed=int(snakemake.wildcards.seed),  # noqa: F821
)
