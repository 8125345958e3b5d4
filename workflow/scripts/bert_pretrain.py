"""Rule bert_pretrain: masked-LM pretraining of a k-mer BERT (dnalm.pretrain.pretrain).

Under Snakemake with ``resources.gpu > 1`` this script re-executes itself under torchrun
(one process per GPU; each process re-reads the Snakemake preamble;
:func:`dnalm.pretrain.launch.run_rule`). Outside Snakemake it is the command line of
``python -m dnalm.pretrain`` (``--help``), also runnable as
``torchrun --nproc_per_node=N bert_pretrain.py ...``.
"""

import sys

if "snakemake" in globals():
    from dnalm._log import setup_script_logging

    log = setup_script_logging(snakemake.log[0])  # noqa: F821
    from dnalm.pretrain import pretrain
    from dnalm.pretrain.launch import run_rule

    # Snakemake's preamble renames __file__; __real_file__ is the generated script itself.
    run_rule(snakemake, pretrain, globals().get("__real_file__", __file__),  # noqa: F821
             k=int(snakemake.params.run["k"]))  # noqa: F821
else:
    from dnalm.pretrain import main

    sys.exit(main())
