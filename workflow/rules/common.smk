# Config validation, wildcard constraints and input functions. Logic lives in dnalm.config.
from dnalm import config as dcfg
from dnalm import settings

# Validated once, here, before any job: typed, defaults filled in, cross-key checks done.
CFG = settings.load_config(config)
# Rules and input functions read the same validated values (defaults included) as plain dicts.
config.clear()
config.update(settings.canonical(CFG))

SCRIPTS = str(Path(workflow.basedir) / "workflow" / "scripts")


wildcard_constraints:
    genome=dcfg.alternation(config.get("genomes", {})),
    world=dcfg.alternation(config.get("simulate", {})),
    task=dcfg.alternation(config.get("tasks", {})),
    lm=dcfg.alternation(config.get("language_models", {})),
    seed=r"\d+",
    k=r"[3-6]",


def get_final_outputs():
    return dcfg.final_outputs(config)


def get_source(kind):
    """Input function: a local annotation/genome source path, so the demo simulator runs first."""

    def _inner(wildcards):
        return dcfg.local_source_inputs(config, kind, dict(wildcards))

    return _inner
