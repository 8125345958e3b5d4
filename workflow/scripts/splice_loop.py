"""Rules splice_loop_heldout, splice_loop_train, splice_loop_mine, splice_loop_table (dnalm.splice_loop)."""

from pathlib import Path

from dnalm import splice_loop as L
from dnalm._log import setup_script_logging

sm = snakemake  # noqa: F821 - injected by Snakemake
log = setup_script_logging(sm.log[0])
task = sm.wildcards.task
if sm.rule == "splice_loop_heldout":
    r0 = {k[3:]: v for k, v in sm.input.items() if k.startswith("r0_")}
    L.heldout_pool(task, r0, sm.input.gtf, sm.input.fasta, sm.output[0],
                   int(sm.params.spec["hard_negatives"]["heldout_size"]), int(sm.params.seed),
                   sm.input.get("contigs"))  # fmt: skip
elif sm.rule == "splice_loop_train":
    from dnalm.finetune import finetune_kwargs

    spec = sm.params.spec
    kw = finetune_kwargs(sm.params.ft, spec["hard_negatives"]["model"],
                         min_steps=sm.params.min_steps)  # the task's own, as its runs
    kw.pop("checkpoint_every", None)
    kw.pop("keep_checkpoints", None)
    ds = {k: sm.input[k] for k in ("train", "dev", "test", "card")}
    trained = sm.input.get("trained")  # the task's own fine-tuning run of the last round
    L.train_round(task, spec, int(sm.wildcards.r), ds, sm.input.heldout,
                  Path(sm.output.round).parent, kw, int(sm.params.seed), sm.threads,
                  Path(trained).parent if trained else None)  # fmt: skip
elif sm.rule == "splice_loop_mine":
    prev = {k[5:]: v for k, v in sm.input.items() if k.startswith("prev_")}
    L.mine_round(task, sm.params.spec, int(sm.wildcards.r), prev, sm.input.model, sm.input.heldout,
                 sm.input.gtf, sm.input.fasta, dict(sm.output.items()), int(sm.params.seed),
                 sm.input.get("contigs"))  # fmt: skip
elif sm.rule == "splice_loop_table":
    L.rounds_table(list(sm.input), sm.output[0])
else:
    raise ValueError(f"splice_loop.py: unexpected rule {sm.rule!r}")
