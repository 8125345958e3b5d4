"""``python -m dnalm.reporting readme-table RESULTS``: the README's results section from a run.

Prints the headline table (test MCC with 95% CI, n and seeds per task) and the key findings as
markdown, computed from the files under RESULTS (the same as the report's front page).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dnalm.reporting.findings import OverviewInputs, collect_overview
from dnalm.reporting.render import overview_markdown


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dnalm.reporting", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    rt = sub.add_parser("readme-table", help="markdown headline table and findings of a run")
    rt.add_argument("results", type=Path, help="the run's results/ folder")
    args = ap.parse_args(argv)
    if not args.results.is_dir():
        ap.error(f"{args.results}: not a folder")
    ov = collect_overview(OverviewInputs.from_results(args.results))
    sys.stdout.write(overview_markdown(ov))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
