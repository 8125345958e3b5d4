"""Rules demo_simulate*: write one seeded demo world (dnalm.sim.simulate_world)."""

from pathlib import Path

from dnalm._log import setup_script_logging
from dnalm.sim import simulate_world

log = setup_script_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
spec = snakemake.params.spec  # noqa: F821
simulate_world(
    Path(snakemake.output.genome).parent,  # noqa: F821
    preset=spec["preset"],
    seed=spec["seed"],
    scale=spec["scale"],
    peaks=spec["peaks"],
    verbose=True,
)
