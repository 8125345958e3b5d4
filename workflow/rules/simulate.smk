# simulate stage rules (see docs/ARCHITECTURE.md; logic in dnalm.simulate)
# The seeded demo worlds: resources/demo/{world}/ holds a small genome and annotations in the
# real file formats, plus the planted truth. The peak files a world writes depend on its preset,
# so each preset has its own rule (same script).
from dnalm import simulate as dsim

SIMULATE = config.get("simulate", {})


rule demo_simulate:
    output:
        **dsim.rule_outputs("human"),
    log:
        "logs/demo_simulate/{world}.log",
    benchmark:
        "benchmarks/demo_simulate/{world}.tsv"
    wildcard_constraints:
        world=dcfg.alternation(dsim.worlds_of(SIMULATE, "human")),
    conda:
        "../envs/bio.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        spec=lambda wc: dsim.world_spec(SIMULATE, wc.world),
    script:
        "../scripts/demo_simulate.py"


use rule demo_simulate as demo_simulate_mouse with:
    output:
        **dsim.rule_outputs("mouse"),
    log:
        "logs/demo_simulate_mouse/{world}.log",
    benchmark:
        "benchmarks/demo_simulate_mouse/{world}.tsv"
    wildcard_constraints:
        world=dcfg.alternation(dsim.worlds_of(SIMULATE, "mouse")),
