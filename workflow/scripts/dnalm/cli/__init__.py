"""The ``dnalm`` command: run a trained model on your own data.

Subcommands (one module each, ``dnalm.cli.<name>``, exposing ``add_parser`` and ``run``):
``predict``, ``embed``, ``attention``, ``scan``, ``score-variants``. Run
``python -m dnalm.cli <subcommand> --help`` for the options of each.

Errors in the user's input (``file:line``, or the option at fault) are printed as one line to
stderr with exit status 2 and no traceback; outputs are written atomically, so a failed run
leaves nothing behind.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from dnalm.cli._common import CliError

__all__ = ["SUBCOMMANDS", "CliError", "build_parser", "main"]

#: Modules of ``dnalm.cli`` that each register one subcommand.
SUBCOMMANDS = ("predict", "embed", "attention", "scan", "score_variants")


def build_parser() -> argparse.ArgumentParser:
    """The ``dnalm`` argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="dnalm", description="Run a trained DNA language model on your own data."
    )
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    for name in SUBCOMMANDS:
        importlib.import_module(f"dnalm.cli.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the subcommand, return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional

    Returns
    -------
    int
        0 on success, 2 on a usage or input error (message on stderr).
    """
    parser = build_parser()
    args = parser.parse_args(None if argv is None else list(argv))
    try:
        return int(args.func(args))
    except (CliError, ValueError, FileNotFoundError, IsADirectoryError, NotADirectoryError,
            PermissionError) as e:  # an output path that cannot be written, too
        print(f"dnalm {args.command}: error: {e}", file=sys.stderr)
        return 2
    finally:
        getattr(args, "undo_quiet", lambda: None)()  # --quiet switched transformers' bars off
