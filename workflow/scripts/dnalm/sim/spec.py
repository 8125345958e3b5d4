"""Config side of the simulator: world specs, experiments, output files and Snakemake rules.

``simulate.<world>`` in the config is ``{preset, seed, scale, peaks}``; ``peaks`` maps an
experiment name to ``{motif, quality, n, motif_fraction, jitter, half_width, signal}``
(:meth:`dnalm.sim.presets.PeakSpec.from_config`) and defaults to the preset's experiments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from dnalm.sim.presets import NAME_RE, PRESETS, PeakSpec

__all__ = [
    "peak_experiments",
    "peak_specs",
    "output_files",
    "rule_outputs",
    "rule_groups",
    "world_spec",
    "worlds_of",
]

MIN_SCALE, MAX_SCALE = 0.1, 10.0
_FILES = {  # relative file -> Snakemake output name; peaks/<exp>.narrowPeak.gz come on top
    "genome.fa.gz": "genome",
    "assembly_report.txt": "assembly_report",
    "epd.bed": "epd",
    "promoter_motifs.txt": "epd_motifs",
    "genes.gtf.gz": "gtf",
    "expression.tsv.gz": "expression",
    "dbsnp.vcf.gz": "dbsnp",
    "dbsnp.vcf.gz.tbi": "dbsnp_tbi",
    "clinvar.vcf.gz": "clinvar",
    "clinvar.vcf.gz.tbi": "clinvar_tbi",
    "truth/motifs.meme": "motifs",
    "truth/motifs.jaspar": "motifs_jaspar",
    "truth/positions.tsv": "positions",
    "truth/summary.json": "summary",
}


def _check_preset(preset: str, where: str = "`preset`") -> None:
    if preset not in PRESETS:
        raise ValueError(f"{where} must be one of {sorted(PRESETS)}, got {preset!r}")


def peak_experiments(preset: str) -> list[str]:
    """Names of the experiments a preset writes by default (``peaks/<name>.narrowPeak.gz``), sorted."""
    _check_preset(preset)
    return sorted(PRESETS[preset].peaks)


def peak_specs(
    peaks: Mapping[str, PeakSpec | Mapping[str, Any]] | None,
    preset: str = "human",
    where: str = "peaks",
) -> dict[str, PeakSpec]:
    """Experiments of a world: ``peaks`` parsed (names checked), or the preset's when None.

    Parameters
    ----------
    peaks : dict of str to PeakSpec or dict, or None
        Experiment name (``^[A-Za-z0-9_]+$``) to a spec or its config form. Default is the
        preset's experiments when None.
    preset : str
        Preset whose experiments are the default. Default is "human".
    where : str
        Config path named in errors. Default is "peaks".

    Returns
    -------
    dict of str to PeakSpec
        Sorted by name: the world (its random draws) does not depend on the order of keys in
        the config, which Snakemake's canonical config sorts anyway.
    """
    _check_preset(preset)
    if peaks is None:
        return dict(sorted(PRESETS[preset].peaks.items()))
    if not isinstance(peaks, Mapping) or not peaks:
        raise ValueError(f"config key `{where}` must be a non-empty mapping of experiment names")
    out: dict[str, PeakSpec] = {}
    for name, spec in sorted(peaks.items(), key=lambda kv: str(kv[0])):
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ValueError(
                f"config key `{where}`: experiment name {name!r} must match {NAME_RE.pattern}"
            )
        out[name] = (
            spec if isinstance(spec, PeakSpec) else PeakSpec.from_config(spec, f"{where}.{name}")
        )
    return out


def _experiments(peaks: Mapping[str, Any] | Sequence[str]) -> list[str]:
    if isinstance(peaks, str):
        raise TypeError(
            "`peaks` must be experiment names or a mapping keyed by them, not a string; "
            "use peak_experiments(preset) for a preset's defaults"
        )
    return list(peaks)


def output_files(peaks: Mapping[str, Any] | Sequence[str]) -> list[str]:
    """Files (relative to the world directory) that ``simulate_world`` writes.

    Parameters
    ----------
    peaks : sequence of str or dict keyed by experiment name
        The world's experiments, e.g. ``world_spec(cfg, world)["peaks"]`` or
        ``peak_experiments(preset)``.
    """
    return list(_FILES) + [f"peaks/{e}.narrowPeak.gz" for e in _experiments(peaks)]


def rule_outputs(
    peaks: Mapping[str, Any] | Sequence[str], root: str = "resources/demo/{world}"
) -> dict[str, str | list[str]]:
    """Named Snakemake outputs of the simulator for worlds with experiments ``peaks``."""
    out: dict[str, str | list[str]] = {key: f"{root}/{rel}" for rel, key in _FILES.items()}
    out["peaks"] = [f"{root}/peaks/{e}.narrowPeak.gz" for e in _experiments(peaks)]
    return out


def world_spec(simulate: Mapping[str, Any], world: str) -> dict[str, Any]:
    """``{preset, seed, scale, peaks}`` of one world from config ``simulate``, with defaults.

    ``peaks`` is the config form of every experiment (name -> dict with all keys), so the
    result can be passed to Snakemake ``params`` and on to ``simulate_world(**spec)``.
    """
    if world not in simulate:
        raise ValueError(f"config key `simulate.{world}` is missing (worlds: {sorted(simulate)})")
    spec = dict(simulate[world] or {})
    unknown = sorted(set(spec) - {"preset", "seed", "scale", "peaks"})
    if unknown:
        raise ValueError(f"config key `simulate.{world}`: unknown keys {unknown}")
    preset = spec.get("preset", "human")
    _check_preset(preset, f"config key `simulate.{world}.preset`")
    peaks = peak_specs(spec.get("peaks"), preset, f"simulate.{world}.peaks")
    return {
        "preset": preset,
        "seed": int(spec.get("seed", 7)),
        "scale": float(spec.get("scale", 1.0)),
        "peaks": {name: p.to_config() for name, p in peaks.items()},
    }


def worlds_of(simulate: Mapping[str, Any], preset: str) -> list[str]:
    """Names of the configured worlds that use ``preset``."""
    return [w for w in simulate if world_spec(simulate, w)["preset"] == preset]


def rule_groups(simulate: Mapping[str, Any]) -> dict[str, list[str]]:
    """Snakemake rule name -> worlds it writes (every rule's worlds share one output list).

    Worlds that keep their preset's default experiments share the preset's rule
    (``demo_simulate`` for human, ``demo_simulate_<preset>`` otherwise); a world with its own
    ``peaks`` gets the rule ``demo_simulate_<world>`` (non-word characters as ``_``).
    """
    groups: dict[str, list[str]] = {}
    custom: set[str] = set()
    for world in simulate:
        spec = world_spec(simulate, world)
        preset = spec["preset"]
        default = {n: p.to_config() for n, p in PRESETS[preset].peaks.items()}
        if spec["peaks"] == default:
            name = "demo_simulate" if preset == "human" else f"demo_simulate_{preset}"
            clash = name in custom
        else:
            name = "demo_simulate_" + re.sub(r"\W", "_", str(world))
            clash = name in groups
            custom.add(name)
        if clash:
            raise ValueError(
                f"config key `simulate.{world}`: rule name {name} is needed both by a preset's "
                "default worlds and by a world with its own `peaks`; rename that world"
            )
        groups.setdefault(name, []).append(world)
    return groups
