"""Rule motif_discover: attention motifs, instances, logos, TOMTOM matches and summary.json."""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821

from dnalm.motifs import discover_motifs  # noqa: E402

sm = snakemake  # noqa: F821
discover_motifs(
    scores_npz=sm.input.scores,
    dataset=sm.input.test,
    meme_out=sm.output.meme,
    instances_out=sm.output.instances,
    matches_out=sm.output.matches,
    logos_dir=sm.output.logos,
    logo_panel_out=sm.output.logo_panel,
    known_meme=sm.input.known[0] if sm.input.known else None,
    summary_out=sm.output.summary,
    **sm.params.motifs,  # the motifs section (dnalm.settings.Motifs) less its task selection
    n_jobs=int(sm.threads),
)
