"""Truth files: ``truth/positions.tsv`` (every planted feature), ``truth/motifs.meme`` (and the
same PWMs as JASPAR-format counts, ``truth/motifs.jaspar``) and the ``truth/summary.json`` counts.

``positions.tsv`` coordinates are 0-based half-open on UCSC contig names; motifs.meme holds
the planted PWMs (columns A, C, G, T) with the genome's base composition as background.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dnalm.meme import write_meme
from dnalm.motif_formats import write_jaspar
from dnalm.sim.core import World, stationary
from dnalm.sim.presets import MOTIF_NAMES, PWMS, C, G, N, to_meme

__all__ = ["write_truth", "summary"]


def write_truth(tdir: Path, w: World, clin: list[dict], mism: list[tuple]) -> list[tuple]:
    """Write ``positions.tsv``, ``motifs.meme`` and ``motifs.jaspar`` into ``tdir``; return the rows.

    Rows are ``(kind, name, global start, global end, strand, feature)``, sorted by position,
    from the world's planted features, the dbSNP REF mismatches ``mism`` and the pathogenic and
    benign ClinVar records of ``clin``.
    """
    rows = list(w.truth) + list(mism)
    for r in clin:
        if r["cls"] in ("pathogenic", "benign"):
            feat = f"{r['clnsig']}:{r['ref']}>{r['alt']}:{r['feature']}"
            rows.append((r["cls"], str(r["vid"]), r["g"], r["g"] + len(r["ref"]), ".", feat))
    rows.sort(key=lambda t: (t[2], t[0], t[1]))
    lines = ["kind\tname\tcontig\tstart\tend\tstrand\tfeature"]
    for kind, name, s, e, strand, feat in rows:
        chrom, ls = w.local(s)
        lines.append(f"{kind}\t{name}\t{chrom}\t{ls}\t{ls + (e - s)}\t{strand}\t{feat}")
    (tdir / "positions.tsv").write_text("\n".join(lines) + "\n")
    counts: dict[str, int] = {}
    for m in MOTIF_NAMES:
        counts[m] = sum(1 for r in rows if r[0] in ("motif", "tata") and r[1] == m)
    planted = {m: PWMS[m] for m in MOTIF_NAMES if counts[m] > 0}
    background = to_meme(stationary(w.preset.gc)[None, :])[0]
    write_meme(tdir / "motifs.meme", planted, nsites=counts, background=background)
    # The same PWMs as JASPAR-format counts (planted sites per motif): the demo's known motifs.
    write_jaspar(tdir / "motifs.jaspar", planted, nsites=counts)
    return rows


def summary(
    w: World,
    rows: list[tuple],
    peak_stats: dict,
    clin: list[dict],
    n_dbsnp: int,
    preset: str,
    seed: int,
    scale: float,
) -> dict:
    """The ``summary.json`` object: arguments, genome composition and feature counts."""
    acgt = w.codes[w.codes != N]
    gc = float(np.isin(acgt, (C, G)).mean())
    c_cnt, g_cnt = int((acgt == C).sum()), int((acgt == G).sum())
    cg = int(((w.codes[:-1] == C) & (w.codes[1:] == G)).sum())
    cpg_oe = cg * len(acgt) / max(c_cnt * g_cnt, 1)
    kinds: dict[str, int] = {}
    for r in rows:
        kinds[r[0]] = kinds.get(r[0], 0) + 1
    clnsig: dict[str, int] = {}
    for r in clin:
        clnsig[r["clnsig"]] = clnsig.get(r["clnsig"], 0) + 1
    return {
        "generator": "dnalm.sim",
        "preset": preset,
        "seed": seed,
        "scale": scale,
        "coordinates": "positions.tsv: 0-based half-open, UCSC contig names",
        "contigs": {n: int(length) for n, length in zip(w.names, w.lengths, strict=True)},
        "genome_length": int(len(w.codes)),
        "n_count": int((w.codes == N).sum()),
        "softmasked_fraction": float(w.lower.mean()),
        "gc_fraction": gc,
        "cpg_observed_expected": cpg_oe,
        "genes": len(w.genes),
        "transcripts": sum(len(g.transcripts) for g in w.genes),
        "promoters": len(w.promoters),
        "tata_promoters": sum(p["TATA"] for p in w.promoters),
        "cpg_islands": w.n_islands,
        "truth_rows": kinds,
        "peaks": peak_stats,
        "experiments": {e: spec.to_config() for e, spec in w.experiments.items()},
        "dbsnp_records": n_dbsnp,
        "clinvar_records": len(clin),
        "clinvar_clnsig": clnsig,
        "motifs": {m: list(PWMS[m].shape) for m in MOTIF_NAMES},
    }
