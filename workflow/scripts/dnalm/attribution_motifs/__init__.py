"""Motifs from attribution maps: TF-MoDISco (modisco-lite) patterns, TOMTOM matches and the
side-by-side comparison with DNABERT's attention motifs.

Modules: :mod:`~dnalm.attribution_motifs.maps` (read the ``results/attribution/.../{method}.npz``
contract), :mod:`~dnalm.attribution_motifs.modisco` (run TF-MoDISco, its HDF5 file, patterns),
:mod:`~dnalm.attribution_motifs.status` (``summary.json``: why nothing was found),
:mod:`~dnalm.attribution_motifs.discover` (the ``attribution_motifs`` rule) and
:mod:`~dnalm.attribution_motifs.compare` (the per-task side-by-side table and figure).
"""

from dnalm.attribution_motifs.compare import (
    InterpretationRun,
    interpretation_table,
    plot_interpretation,
    write_interpretation,
)
from dnalm.attribution_motifs.discover import (
    OUTPUT_FILES,
    PATTERN_COLUMNS,
    SEQLET_COLUMNS,
    attribution_site_auroc,
    discover_attribution_motifs,
)
from dnalm.attribution_motifs.maps import (
    REQUIRED_ARRAYS,
    AttributionMaps,
    read_attribution_maps,
    select_rows,
)
from dnalm.attribution_motifs.modisco import (
    ModiscoRun,
    Pattern,
    read_patterns,
    run_modisco,
    trim_bounds,
    write_h5,
)
from dnalm.attribution_motifs.status import (
    ATTRIBUTION_MOTIF_STATUSES,
    attribution_magnitude,
    attribution_summary,
)

__all__ = [
    "ATTRIBUTION_MOTIF_STATUSES", "OUTPUT_FILES", "PATTERN_COLUMNS", "REQUIRED_ARRAYS",
    "SEQLET_COLUMNS", "AttributionMaps", "InterpretationRun", "ModiscoRun", "Pattern",
    "attribution_magnitude", "attribution_site_auroc", "attribution_summary",
    "discover_attribution_motifs", "interpretation_table", "plot_interpretation",
    "read_attribution_maps", "read_patterns", "run_modisco", "select_rows", "trim_bounds",
    "write_h5", "write_interpretation",
]
