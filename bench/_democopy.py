"""Command-line pieces shared by the benches that run on a copy of a finished demo run."""

from __future__ import annotations

import argparse
from pathlib import Path


def demo_copy_parser(description: str, name: str) -> argparse.ArgumentParser:
    """A parser with ``--workdir`` (the demo copy), ``--config``, ``--lm`` and ``--out``
    (default ``<workdir>/<name>``, filled in by :func:`parse_demo_copy_args`)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--workdir", type=Path, required=True, help="copy of a finished demo run")
    ap.add_argument("--config", default="config/config.yaml")
    ap.add_argument("--lm", default="dnabert6_tiny")
    ap.add_argument("--out", type=Path, default=None, help=f"default <workdir>/{name}")
    ap.set_defaults(_bench_name=name)
    return ap


def parse_demo_copy_args(ap: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse; ``workdir`` resolved, ``out`` defaulted to ``<workdir>/<name>``."""
    a = ap.parse_args(argv)
    a.workdir = a.workdir.resolve()
    a.out = a.out or a.workdir / a._bench_name
    return a
