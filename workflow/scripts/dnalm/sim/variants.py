"""Variant files: ClinVar-style and dbSNP-style records and their bgzipped, tabix-indexed VCFs.

Pathogenic ClinVar SNVs break high-information positions of planted motif instances (never
of the low-quality experiment's); benign ones sit in the same peak windows away from motifs.
dbSNP carries ClinVar's rs records plus background SNVs/indels, a few with a wrong REF.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dnalm.sim.core import World
from dnalm.sim.presets import BASES, CODE_PWMS, COMPLEMENT, N
from dnalm.sim.world import gene_context

__all__ = ["clinvar_records", "dbsnp_records", "write_dbsnp", "write_clinvar"]

BENIGN_MIN_DIST = 12  # benign ClinVar SNVs are at least this far from any planted motif
_REVSTAT_STRONG = (
    "criteria_provided,_multiple_submitters,_no_conflicts",
    "reviewed_by_expert_panel",
    "criteria_provided,_single_submitter",
)
_DISEASES = (
    ("Inborn_genetic_diseases", "MeSH:D030342,MedGen:C0950123"),
    ("not_provided", "MedGen:CN517202"),
    ("Hereditary_cancer-predisposing_syndrome", "MONDO:MONDO:0015356,MedGen:C0027672"),
    ("Demo_regulatory_disorder", "MedGen:C9999901"),
)
_ELSEWHERE = (
    (
        "Uncertain_significance",
        40,
        ("criteria_provided,_single_submitter", "no_assertion_criteria_provided"),
    ),
    (
        "Conflicting_interpretations_of_pathogenicity",
        10,
        ("criteria_provided,_conflicting_interpretations",),
    ),
    (
        "Conflicting_classifications_of_pathogenicity",
        10,
        ("criteria_provided,_conflicting_classifications",),
    ),
    ("Pathogenic|risk_factor", 5, ("criteria_provided,_single_submitter",)),
    ("Benign/Likely_benign", 20, ("criteria_provided,_multiple_submitters,_no_conflicts",)),
)


def clinvar_records(rng: np.random.Generator, w: World, scale: float) -> list[dict]:
    """ClinVar-style records (global 0-based positions), pathogenic ones in motif cores."""
    p = w.preset
    total = len(w.codes)
    recs: list[dict] = []
    used = set()
    sites = [s for s in w.motif_sites if not s["low_quality"]]
    n_path = min(len(sites), max(3, int(round(p.n_pathogenic * scale))))
    for k in rng.permutation(len(sites)):
        if sum(r["cls"] == "pathogenic" for r in recs) >= n_path:
            break
        site = sites[k]
        pwm = CODE_PWMS[site["motif"]]
        cons = pwm.argmax(axis=1)
        core = np.flatnonzero((pwm.max(axis=1) >= 0.85) & (site["inst"] == cons))
        if core.size == 0:
            continue
        j = int(rng.choice(core))
        alt_m = int(np.argmin(pwm[j]))
        width = pwm.shape[0]
        if site["strand"] == "+":
            g, ref, alt = site["start"] + j, int(cons[j]), alt_m
        else:
            g, ref, alt = (
                site["start"] + width - 1 - j,
                int(COMPLEMENT[cons[j]]),
                int(COMPLEMENT[alt_m]),
            )
        if w.codes[g] != ref:  # planted motifs are never overwritten; guard the invariant
            raise RuntimeError(f"planted {site['motif']} base at {g} was overwritten")
        sig = str(
            rng.choice(
                ["Pathogenic", "Likely_pathogenic", "Pathogenic/Likely_pathogenic"],
                p=[0.5, 0.25, 0.25],
            )
        )
        recs.append(
            {
                "g": g,
                "ref": BASES[ref],
                "alt": BASES[alt],
                "clnsig": sig,
                "cls": "pathogenic",
                "revstat": str(rng.choice(_REVSTAT_STRONG)),
                "feature": f"{site['motif']}:{site['exp']}:col{j + 1}",
            }
        )
        used.add(g)
    # Benign: within +-50 bp of a motif-carrying summit, >= BENIGN_MIN_DIST from every motif.
    near = np.zeros(total, dtype=bool)
    for s in w.motif_sites:
        width = CODE_PWMS[s["motif"]].shape[0]
        near[
            max(0, s["start"] - BENIGN_MIN_DIST + 1) : s["start"] + width + BENIGN_MIN_DIST - 1
        ] = True
    n_ben = max(6, int(round(p.n_benign * scale)))
    for k in rng.permutation(len(sites)):
        if sum(r["cls"] == "benign" for r in recs) >= n_ben:
            break
        summit = sites[k]["summit"]
        cand = summit + np.arange(-50, 51)
        cand = cand[~near[cand] & (w.codes[cand] != N)]
        cand = np.array([c for c in cand if int(c) not in used])
        if cand.size == 0:
            continue
        g = int(rng.choice(cand))
        ref = int(w.codes[g])
        alt = int((ref + rng.integers(1, 4)) % 4)
        recs.append(
            {
                "g": g,
                "ref": BASES[ref],
                "alt": BASES[alt],
                "clnsig": str(rng.choice(["Benign", "Likely_benign"])),
                "cls": "benign",
                "revstat": str(rng.choice(_REVSTAT_STRONG)),
                "feature": "peak_window",
            }
        )
        used.add(g)
    # Elsewhere: away from every peak window.
    for sig, n, revstats in _ELSEWHERE:
        m = max(2, int(round(n * scale)))
        got = 0
        while got < m:
            g = int(rng.integers(0, total - 10))
            if w.peak_mask[g] or w.codes[g] == N or g in used:
                continue
            ref = int(w.codes[g])
            rec = {
                "g": g,
                "ref": BASES[ref],
                "clnsig": sig,
                "cls": "other",
                "revstat": str(rng.choice(revstats)),
                "feature": "elsewhere",
            }
            if sig == "Uncertain_significance" and got < 2:  # a couple of small deletions
                seq = w.codes[g : g + 3]
                if (seq == N).any() or w.chrom_of(g) != w.chrom_of(g + 2):
                    continue
                rec["ref"] = "".join(BASES[x] for x in seq)
                rec["alt"] = BASES[ref]
            else:
                rec["alt"] = BASES[int((ref + rng.integers(1, 4)) % 4)]
            recs.append(rec)
            used.add(g)
            got += 1
    recs.sort(key=lambda r: r["g"])
    vids = 10_000 + np.cumsum(rng.integers(1, 5000, size=len(recs)))
    order = rng.permutation(len(recs))  # VariationIDs are not in genome order
    for r, k in zip(recs, order, strict=True):
        r["vid"] = int(vids[k])
        r["alleleid"] = int(vids[k]) + 12_345
        dis = _DISEASES[int(rng.integers(len(_DISEASES)))]
        r["clndn"], r["clndisdb"] = dis
        r["has_rs"] = bool(rng.random() < 0.9)
    return recs


def dbsnp_records(
    rng: np.random.Generator, w: World, clin: list[dict]
) -> tuple[list[dict], list[tuple]]:
    """dbSNP-style records: ~1 per 200 bp, denser in peak windows, plus ClinVar's rs records."""
    total = len(w.codes)
    non_n = np.flatnonzero(w.codes != N)
    bg = non_n[rng.integers(0, len(non_n), size=len(non_n) // 200)]
    summits = np.array([r["summit"] for rows in w.peaks.values() for r in rows], dtype=np.int64)
    extra = (summits[:, None] + rng.integers(-100, 101, size=(len(summits), 6))).reshape(-1)
    extra = extra[w.codes[extra] != N]
    clin_g = {r["g"]: r for r in clin if r["has_rs"] and len(r["ref"]) == 1}
    pos = np.unique(np.concatenate([bg, extra, np.array(sorted(clin_g), dtype=np.int64)]))
    pos = pos[pos < total - 10]
    kind = rng.random(len(pos))
    rs = 100_000 + np.cumsum(rng.integers(1, 3000, size=len(pos)))
    rs = rs[rng.permutation(len(pos))]
    af = rng.beta(0.4, 4.0, size=len(pos))
    recs: list[dict] = []
    mism: list[tuple] = []
    for i, g in enumerate(pos):
        g = int(g)
        ref_code = int(w.codes[g])
        rec = {"g": g, "rs": int(rs[i]), "af": float(af[i])}
        if g in clin_g:
            cr = clin_g[g]
            rec.update(ref=cr["ref"], alts=[cr["alt"]], vc="SNV")
            cr["rs"] = rec["rs"]
        elif kind[i] < 0.07 or kind[i] >= 0.95:  # deletion / insertion with an anchor base
            dl = int(rng.integers(1, 6))
            seq = w.codes[g : g + dl + 1]
            if kind[i] < 0.07 and not (seq == N).any() and w.chrom_of(g) == w.chrom_of(g + dl):
                rec.update(ref="".join(BASES[x] for x in seq), alts=[BASES[ref_code]], vc="DEL")
            else:
                ins = "".join(BASES[x] for x in rng.integers(0, 4, size=dl))
                rec.update(ref=BASES[ref_code], alts=[BASES[ref_code] + ins], vc="INS")
        else:
            others = [b for b in range(4) if b != ref_code]
            n_alt = 2 if kind[i] > 0.87 else 1
            alts = sorted(BASES[int(x)] for x in rng.choice(others, size=n_alt, replace=False))
            rec.update(ref=BASES[ref_code], alts=alts, vc="SNV")  # ALTs in letter order
        recs.append(rec)
    # A few deliberate REF mismatches (a real dbSNP has strand/ref errors).
    snv = [
        i
        for i, r in enumerate(recs)
        if r["vc"] == "SNV" and len(r["alts"]) == 1 and r["g"] not in clin_g
    ]
    for i in rng.choice(snv, size=min(4, len(snv)), replace=False):
        r = recs[int(i)]
        genome = r["ref"]
        wrong = BASES[(BASES.index(genome) + int(rng.integers(1, 4))) % 4]
        r["ref"] = wrong
        r["alts"] = [genome]  # REF/ALT swapped, a classic submission error
        mism.append(
            (
                "ref_mismatch",
                f"rs{r['rs']}",
                r["g"],
                r["g"] + 1,
                ".",
                f"VCF_REF={wrong};genome={genome}",
            )
        )
    return recs, mism


def _bgzip_tabix(path: Path, text: str) -> None:
    """Write ``text`` as BGZF to ``path`` and index it (``path.tbi``)."""
    import pysam

    plain = path.with_name(path.name[: -len(".gz")])
    plain.write_text(text)
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()
    pysam.tabix_index(str(path), preset="vcf", force=True)


def _freq(rng: np.random.Generator, af: float, n_alt: int) -> tuple[str, bool]:
    """dbSNP ``FREQ`` value (REF first, ``|`` between studies) and the COMMON flag."""
    pops = []
    for pop in ("GnomAD", "TOPMED", "dbGaP_PopFreq"):
        if rng.random() < 0.7:
            a = float(np.clip(af * rng.uniform(0.7, 1.3), 0.0, 0.999))
            if n_alt == 1:
                vals = [f"{1 - a:.4g}", f"{a:.4g}"]
            else:
                vals = [
                    f"{1 - a:.4g}",
                    f"{a * 0.8:.4g}",
                    "." if rng.random() < 0.5 else f"{a * 0.2:.4g}",
                ]
            pops.append(f"{pop}:{','.join(vals)}")
    if not pops:
        pops.append(f"GnomAD:{1 - af:.4g},{af:.4g}" + (",." if n_alt == 2 else ""))
    return "|".join(pops), af >= 0.01


def write_dbsnp(path: Path, rng: np.random.Generator, w: World, recs: list[dict]) -> None:
    """dbSNP-style VCFv4.2 on RefSeq contig names, bgzipped and tabix-indexed."""
    p = w.preset
    head = [
        "##fileformat=VCFv4.2",
        "##fileDate=20240101",
        "##source=dbSNP",
        "##dbSNP_BUILD_ID=155",
        f"##reference={p.assembly}",
        "##phasing=unphased",
        '##INFO=<ID=RS,Number=1,Type=Integer,Description="dbSNP ID (i.e. rs number)">',
        '##INFO=<ID=GENEINFO,Number=1,Type=String,Description="Pairs each of gene symbol:gene id.">',
        '##INFO=<ID=dbSNPBuildID,Number=1,Type=Integer,Description="First dbSNP Build for RS">',
        '##INFO=<ID=SSR,Number=1,Type=Integer,Description="Variant Suspect Reason Codes">',
        '##INFO=<ID=VC,Number=1,Type=String,Description="Variation Class">',
        '##INFO=<ID=FREQ,Number=.,Type=String,Description="An ordered list of allele frequencies '
        'as reported by various genomic studies, REF first, | between studies">',
        '##INFO=<ID=COMMON,Number=0,Type=Flag,Description="RS is a common SNP (MAF >= 0.01 in at '
        'least one study)">',
    ]
    head += [
        f"##contig=<ID={ch.refseq},length={int(w.lengths[c])}>" for c, ch in enumerate(p.chroms)
    ]
    head.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    g = np.array([r["g"] for r in recs], dtype=np.int64)
    info, _, in_gene = gene_context(w, g)
    chroms = w.chrom_of(g)
    out = []
    for i, r in enumerate(recs):
        c = int(chroms[i])
        fields = [f"RS={r['rs']}", f"dbSNPBuildID={int(rng.integers(125, 156))}", "SSR=0"]
        if in_gene[i]:
            fields.append(f"GENEINFO={info[i]}")
        fields.append(f"VC={r['vc']}")
        freq, common = _freq(rng, r["af"], len(r["alts"]))
        fields.append(f"FREQ={freq}")
        if common:
            fields.append("COMMON")
        out.append(
            f"{p.chroms[c].refseq}\t{r['g'] - int(w.offsets[c]) + 1}\trs{r['rs']}\t{r['ref']}\t"
            f"{','.join(r['alts'])}\t.\t.\t{';'.join(fields)}"
        )
    _bgzip_tabix(path, "\n".join(head + out) + "\n")


def write_clinvar(path: Path, w: World, recs: list[dict]) -> None:
    """ClinVar-style VCFv4.1 on ``1``-style contig names, bgzipped and tabix-indexed."""
    p = w.preset
    head = [
        "##fileformat=VCFv4.1",
        "##fileDate=2024-01-01",
        "##source=ClinVar",
        f"##reference={p.assembly}",
        '##ID=<Description="ClinVar Variation ID">',
        '##INFO=<ID=ALLELEID,Number=1,Type=Integer,Description="the ClinVar Allele ID">',
        "##INFO=<ID=CLNDN,Number=.,Type=String,Description=\"ClinVar's preferred disease name for "
        'the concept specified by disease identifiers in CLNDISDB">',
        '##INFO=<ID=CLNDISDB,Number=.,Type=String,Description="Tag-value pairs of disease database '
        'name and identifier submitted for germline classifications">',
        '##INFO=<ID=CLNHGVS,Number=.,Type=String,Description="Top-level (primary assembly, alt, or '
        'patch) HGVS expression.">',
        '##INFO=<ID=CLNREVSTAT,Number=.,Type=String,Description="ClinVar review status of germline '
        'classification for the Variation ID">',
        '##INFO=<ID=CLNSIG,Number=.,Type=String,Description="Aggregate germline classification for '
        'this single variant">',
        '##INFO=<ID=CLNVC,Number=1,Type=String,Description="Variant type">',
        '##INFO=<ID=CLNVCSO,Number=1,Type=String,Description="Sequence Ontology id for variant type">',
        '##INFO=<ID=GENEINFO,Number=1,Type=String,Description="Gene(s) for the variant reported as '
        'gene symbol:gene id.">',
        '##INFO=<ID=MC,Number=.,Type=String,Description="comma separated list of molecular '
        'consequence in the form of Sequence Ontology ID|molecular_consequence">',
        '##INFO=<ID=ORIGIN,Number=.,Type=String,Description="Allele origin. 1-germline">',
        '##INFO=<ID=RS,Number=.,Type=String,Description="dbSNP ID (i.e. rs number)">',
    ]
    head += [f"##contig=<ID={ch.name},length={int(w.lengths[c])}>" for c, ch in enumerate(p.chroms)]
    head.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    g = np.array([r["g"] for r in recs], dtype=np.int64)
    info, in_exon, in_gene = gene_context(w, g)
    chroms = w.chrom_of(g)
    out = []
    for i, r in enumerate(recs):
        c = int(chroms[i])
        ch = p.chroms[c]
        pos = r["g"] - int(w.offsets[c]) + 1
        if len(r["ref"]) > 1:
            hgvs = f"{ch.refseq}:g.{pos + 1}_{pos + len(r['ref']) - 1}del"
            vc, vcso = "Deletion", "SO:0000159"
        else:
            hgvs = f"{ch.refseq}:g.{pos}{r['ref']}>{r['alt']}"
            vc, vcso = "single_nucleotide_variant", "SO:0001483"
        fields = [
            f"ALLELEID={r['alleleid']}",
            f"CLNDISDB={r['clndisdb']}",
            f"CLNDN={r['clndn']}",
            f"CLNHGVS={hgvs}",
            f"CLNREVSTAT={r['revstat']}",
            f"CLNSIG={r['clnsig']}",
            f"CLNVC={vc}",
            f"CLNVCSO={vcso}",
            f"GENEINFO={info[i]}",
        ]
        if in_exon[i]:
            fields.append("MC=SO:0001583|missense_variant")
        elif in_gene[i]:
            fields.append("MC=SO:0001627|intron_variant")
        fields.append("ORIGIN=1")
        if r.get("rs"):
            fields.append(f"RS={r['rs']}")
        out.append(
            f"{ch.name}\t{pos}\t{r['vid']}\t{r['ref']}\t{r['alt']}\t.\t.\t{';'.join(fields)}"
        )
    _bgzip_tabix(path, "\n".join(head + out) + "\n")
