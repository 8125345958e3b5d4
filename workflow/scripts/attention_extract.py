"""Rule attention_extract: DNABERT-viz attention, high-attention regions, figures, summary.json."""

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
    summary_out=sm.output.summary,
    truth=sm.input.truth[0] if sm.input.truth else None,
    **sm.params.attention,  # the attention section (dnalm.settings.Attention) less its selection
    **sm.params.regions,  # the region rule of the motifs section (dnalm.paths.region_params)
    title=f"{sm.wildcards.task} / {sm.wildcards.model}:",
)
