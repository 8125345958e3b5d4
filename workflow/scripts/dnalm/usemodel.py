"""The ``dnalm`` subcommands as Snakemake rules: one config run -> the command line it stands for.

The rules of ``workflow/rules/usemodel.smk`` (``predict_run``, ``embed_run``, ``scan_run``,
``score_run``) call :func:`run_command`, which turns a run of the ``predict`` / ``embed`` /
``scan`` / ``score`` config block (its settings, its input files, its outputs) into the argument
list of ``dnalm <command>`` (:func:`command_argv`) and runs :func:`dnalm.cli.main` in the same
process. A rule therefore writes exactly what the command writes on the same inputs; there is no
second implementation to drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["COMMANDS", "command_argv", "run_command"]

#: Config block -> ``dnalm`` subcommand.
COMMANDS = {"predict": "predict", "embed": "embed", "scan": "scan", "score": "score-variants"}

# settings key -> command-line option, per block (booleans are flags)
_OPTIONS = {
    "predict": {"window": "--window", "anchor": "--anchor", "window_policy": "--window-policy",
                "rc_average": "--rc-average"},
    "embed": {"pool": "--pool", "layer": "--layer"},
    "scan": {"window": "--window", "stride": "--stride", "threshold": "--threshold",
             "min_len": "--min-len", "positive_class": "--positive-class", "max_n": "--max-n",
             "strand": "--strand"},
    "score": {"window": "--window", "positive_class": "--positive-class",
              "strict_ref": "--strict-ref"},
}  # fmt: skip
# input key -> command-line option, per block
_INPUTS = {
    "predict": {"seqs": "--fasta", "bed": "--bed", "model_card": "--card"},
    "embed": {"seqs": "--fasta"},
    "scan": {"fasta": "--genome", "regions": "--regions", "truth": "--truth",
             "model_card": "--card"},
    "score": {"vcf": "--vcf", "fasta": "--genome", "lm": "--lm", "model_card": "--card"},
}  # fmt: skip


def _prefix(outputs: Mapping[str, str], keys: dict[str, str]) -> str:
    """The common ``-o`` prefix of outputs named ``<prefix><suffix>``."""
    prefixes = set()
    for key, suffix in keys.items():
        path = str(outputs[key])
        if not path.endswith(suffix):
            raise ValueError(f"output {key!r} ({path}) must end in {suffix!r}")
        prefixes.add(path[: -len(suffix)])
    if len(prefixes) != 1:
        raise ValueError(f"outputs {dict(outputs)} do not share one prefix")
    return prefixes.pop()


def command_argv(
    section: str,
    settings: Mapping[str, Any],
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    threads: int | None = None,
) -> list[str]:
    """The ``dnalm`` argument list of one configured run.

    Parameters
    ----------
    section : {"predict", "embed", "scan", "score"}
        The config block.
    settings : mapping
        The run's settings (``dnalm.settings.canonical`` of its config entry; unset keys absent).
    inputs : mapping of str to str
        ``model`` and the keys of :func:`dnalm.paths.usemodel_inputs` (``model_card``,
        ``seqs``, ``bed``, ``regions``, ``vcf``, ``fasta`` = the genome, ``lm``).
    outputs : mapping of str to str
        :func:`dnalm.paths.usemodel_outputs` of the run.
    threads : int, optional
        ``--threads``. Default is None (torch's choice).

    Returns
    -------
    list of str
    """
    if section not in COMMANDS:
        raise ValueError(f"section must be one of {sorted(COMMANDS)}, got {section!r}")
    argv = [COMMANDS[section], str(inputs["model"])]
    for key, opt in _INPUTS[section].items():
        if inputs.get(key):
            argv += [opt, str(inputs[key])]
    if section == "predict" and inputs.get("bed"):
        argv += ["--genome", str(inputs["fasta"])]
    if section == "scan" and settings.get("contigs"):
        argv += ["--contigs", ",".join(settings["contigs"])]
    if section == "score":
        for region in settings.get("regions") or ():
            argv += ["--region", str(region)]
    for key, opt in _OPTIONS[section].items():
        value = settings.get(key)
        if value is None or value is False:
            continue
        argv += [opt] if value is True else [opt, str(value)]
    argv += ["--batch-size", str(settings.get("batch_size", 64))]
    if threads is not None:
        argv += ["--threads", str(threads)]
    argv.append("--quiet")
    if section == "predict":
        out = outputs["tsv"]
    elif section == "embed":
        out = outputs["npy"]
    elif section == "scan":
        out = _prefix(outputs, {"bedgraph": ".bedGraph", "bigwig": ".bw", "bed": ".bed",
                                "json": ".json"})  # fmt: skip
    else:
        out = _prefix(outputs, {"vcf": ".vcf.gz", "tsv": ".tsv", "json": ".json"})
    return [*argv, "-o", str(out)]


def run_command(
    section: str,
    settings: Mapping[str, Any],
    inputs: Mapping[str, str],
    outputs: Mapping[str, str],
    threads: int | None = None,
) -> list[str]:
    """Run ``dnalm <command>`` for one configured run (:func:`command_argv`) in this process.

    Returns
    -------
    list of str
        The argument list run (for the log).

    Raises
    ------
    RuntimeError
        When the command exits non-zero (its one-line reason is on stderr, i.e. the rule's log).
    """
    import logging

    from dnalm.cli import main

    argv = command_argv(section, settings, inputs, outputs, threads)
    logging.getLogger("dnalm.usemodel").info("dnalm %s", " ".join(argv))
    rc = main(argv)
    if rc != 0:
        raise RuntimeError(f"dnalm {argv[0]} exited with status {rc} (reason above)")
    return argv
