"""Tables for report.html: dataset cards side by side, software versions, the resolved config."""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from dnalm.atomic import atomic_path

#: Packages whose versions the report shows (the full pin set is requirements.lock).
REPORTED_PACKAGES = (
    "dnalm", "snakemake", "snakemake-executor-plugin-slurm", "torch", "transformers",
    "safetensors", "numpy", "pandas", "scipy", "scikit-learn", "pysam", "pyfaidx",
    "pybedtools", "matplotlib", "logomaker", "memelite",
)


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        elif isinstance(v, list):
            out[key] = ",".join(map(str, v))
        else:
            out[key] = v
    return out


def dataset_cards_table(card_paths: Sequence[str | Path], out_tsv: str | Path) -> pd.DataFrame:
    """One row per task: every scalar of its card.json, flattened to dotted column names."""
    rows = []
    for p in card_paths:
        card = json.loads(Path(p).read_text())
        row = {"task": Path(p).parent.name}
        row.update({k: v for k, v in _flatten(card).items() if not isinstance(v, dict)})
        rows.append(row)
    df = pd.DataFrame(rows)
    with atomic_path(out_tsv) as tmp:
        df.to_csv(tmp, sep="\t", index=False)
    return df


def software_versions(out_tsv: str | Path) -> pd.DataFrame:
    """Python and package versions of the running environment."""
    rows = [{"package": "python", "version": platform.python_version()}]
    for name in REPORTED_PACKAGES:
        try:
            ver = metadata.version(name)
        except metadata.PackageNotFoundError:
            if name == "dnalm":
                from dnalm import __version__ as ver
            else:
                ver = "not installed"
        rows.append({"package": name, "version": ver})
    rows.append({"package": "platform", "version": platform.platform()})
    df = pd.DataFrame(rows)
    with atomic_path(out_tsv) as tmp:
        df.to_csv(tmp, sep="\t", index=False)
    return df


def dump_config(config: Mapping[str, Any], out_yaml: str | Path) -> None:
    """Write the resolved config (after schema defaults) for the report."""
    with atomic_path(out_yaml) as tmp:
        Path(tmp).write_text(yaml.safe_dump(json.loads(json.dumps(dict(config))), sort_keys=False))
