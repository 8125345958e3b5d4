"""Rule gpt_pretrain: DNAGPT-style pretraining with three objectives (dnalm.gpt.pretrain_gpt).

Under Snakemake with ``resources.gpu > 1`` this script re-executes itself under torchrun
(:func:`dnalm.pretrain.launch.run_rule`).
"""

from dnalm._log import setup_script_logging

log = setup_script_logging(snakemake.log[0])  # noqa: F821
from dnalm.gpt import pretrain_gpt  # noqa: E402
from dnalm.pretrain.launch import run_rule  # noqa: E402

# Snakemake's preamble renames __file__; __real_file__ is the generated script itself.
run_rule(snakemake, pretrain_gpt, globals().get("__real_file__", __file__))  # noqa: F821
