# simulate stage rules (see docs/ARCHITECTURE.md; logic in dnalm.sim)
# The seeded demo worlds: resources/demo/{world}/ holds a small genome and annotations in the
# real file formats, plus the planted truth. The peak files a world writes are its experiments
# (simulate.<world>.peaks, default the preset's), so worlds sharing one list of experiments share
# a rule: demo_simulate (human defaults), demo_simulate_mouse (mouse defaults), and
# demo_simulate_<world> for a world with its own peaks (dnalm.sim.rule_groups). Same script.
from dnalm import sim as dsim

SIMULATE = settings.canonical(CFG.simulate)

for _rule, _worlds in dsim.rule_groups(SIMULATE).items():

    rule:
        name:
            _rule
        output:
            **dsim.rule_outputs(dsim.world_spec(SIMULATE, _worlds[0])["peaks"]),
        log:
            f"logs/{_rule}/{{world}}.log",
        benchmark:
            f"benchmarks/{_rule}/{{world}}.tsv"
        wildcard_constraints:
            world=P.alternation(_worlds),
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
