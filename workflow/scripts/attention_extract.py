"""Rule attention_extract: DNABERT-viz attention, high-attention regions and figures."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.attention import write_attention_outputs  # noqa: E402

sm = snakemake  # noqa: F821
write_attention_outputs(
    model_dir=sm.params.model_dir,
    datasets={"train": sm.input.train, "dev": sm.input.dev, "test": sm.input.test},
    scores_out=sm.output.scores,
    regions_out=sm.output.regions,
    landscape_out=sm.output.landscape,
    heatmaps_out=sm.output.heatmaps,
    context_out=sm.output.context,
    card=sm.input.card,
    batch_size=int(sm.params.batch_size),
    n_heatmaps=int(sm.params.n_heatmaps),
    min_len=int(sm.params.min_len),
    title=f"{sm.wildcards.task} / {sm.wildcards.model}:",
)
