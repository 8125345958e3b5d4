# Config validation, wildcard constraints and input functions. Logic lives in dnalm.settings
# (the typed config) and dnalm.paths (every path, input function and rule parameter).
from dnalm import paths as P
from dnalm import settings

# Validated once, here, before any job: typed, defaults filled in, cross-key checks done. The
# files are reread first: YAML keeps the last of two equal keys, which would pass unnoticed.
settings.check_config_files(workflow.configfiles)
CFG = settings.load_config(config)
# The same validated values (defaults included) as a plain dict, e.g. for --report's config table.
config.clear()
config.update(settings.canonical(CFG))


wildcard_constraints:
    genome=P.alternation(CFG.genomes),
    world=P.alternation(CFG.simulate),
    task=P.task_pattern(CFG),  # a configured task or <collection>__<experiment id>
    lm=P.alternation(CFG.language_models),
    seed=r"\d+",
    k=r"[3-6]",


def get_final_outputs():
    return P.final_outputs(CFG)


def get_source(kind):
    """Input function: a local annotation/genome source path, so the demo simulator runs first."""

    def _inner(wildcards):
        return P.local_source_inputs(CFG, kind, dict(wildcards))

    return _inner


def source_params(kind):
    """Params function: the source entry {url, md5?, sha256?, checksum?} of a fetch rule."""

    def _inner(wildcards):
        return P.source(CFG, kind, dict(wildcards))

    return _inner


def lm_input(wildcards):
    """input.lm of the fine-tuning rules: the language model directory; ancient for a -scratch
    control of a trained LM, which reads only the architecture from it (params.scratch holds
    that), so retraining the LM reruns its fine-tunes but not their random-init controls."""
    path = P.lm_dir(wildcards.model)
    return ancient(path) if P.scratch_reads_architecture_only(CFG, wildcards.model) else path


def collection_summary_inputs(wildcards):
    """Input function of the collection summary: the manifest (a checkpoint's output) and the
    metrics of every experiment x model x seed it lists."""
    manifest = checkpoints.collection_manifest.get(collection=wildcards.collection).output[0]
    return P.collection_summary_inputs(CFG, wildcards.collection, manifest)
