"""Building a world: Markov background, repeats, genes with promoters and splice sites, peaks.

Each step draws from the one generator in a fixed order, so a seed fixes the whole world.
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from dnalm.seq import revcomp_codes
from dnalm.sim.core import (
    Gene,
    Transcript,
    World,
    log_odds,
    markov,
    sample_pwm,
    span,
    transition_matrix,
)
from dnalm.sim.presets import (
    ACCEPTOR,
    ACCEPTOR_INTRON,
    BASES,
    CCAAT,
    CODE_PWMS,
    DONOR,
    DONOR_EXON,
    GCBOX,
    INR,
    INR_A,
    NONCANONICAL_DONOR,
    A,
    C,
    G,
    N,
    PeakSpec,
    Preset,
    T,
)
from dnalm.sim.spec import MIN_SCALE

__all__ = ["build_world", "gene_context"]

START_GAP = 10_000  # N run at every chromosome start (as chr1:1-10,000 in hg38)
PROMOTER_PAD = 1000  # bp kept free upstream of every gene (promoter) and ...
GENE_TAIL_PAD = 500  # ... downstream of it
PEAK_HALF = 150  # peak windows (summit +- this) never overlap each other or other features
MOTIF_PAD = 20  # bp between a genome-wide motif instance and any other planted feature


def build_world(
    rng: np.random.Generator,
    preset: Preset,
    experiments: dict[str, PeakSpec],
    scale: float,
    verbose: bool = False,
) -> World:
    """Background, repeats, genes (promoters, splice sites), peaks and genome-wide motifs."""
    w = _background(rng, preset, scale)
    w.experiments = dict(experiments)
    _repeats(rng, w)
    _genes(rng, w, scale, verbose)
    _peaks(rng, w, scale, verbose)
    _background_motifs(rng, w)
    return w


def _background(rng: np.random.Generator, p: Preset, scale: float) -> World:
    """A world of Markov background (chromosome lengths x ``scale``, at least 50 kb each)."""
    lengths = np.array(
        [max(int(round(c.length * scale)), 50_000) for c in p.chroms], dtype=np.int64
    )
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    total = int(offsets[-1])
    codes = markov(rng, total, transition_matrix(p.gc, p.cpg_oe))
    lower = np.zeros(total, dtype=bool)
    occupied = np.zeros(total, dtype=bool)
    return World(p, [c.ucsc for c in p.chroms], lengths, offsets, codes, lower, occupied)


def _repeats(rng: np.random.Generator, w: World) -> None:
    """Overwrite ~``repeat_fraction`` of the genome with diverged, soft-masked repeat copies."""
    fams = w.preset.repeats
    consensus = []
    for f in fams:
        if f.kind == "simple":
            consensus.append(np.array([BASES.index(b) for b in f.unit], dtype=np.uint8))
        else:
            seq = markov(rng, f.length, transition_matrix(f.gc, f.cpg_oe), n_chains=1)
            if f.name.startswith(("Alu", "B1")):  # SINEs end in an A-rich tail
                seq = np.concatenate([seq, np.full(20, A, dtype=np.uint8)])
            consensus.append(seq)
    total = len(w.codes)
    weights = np.array([f.weight for f in fams]) / sum(f.weight for f in fams)
    n_guess = int(total * w.preset.repeat_fraction / 150) + 100
    fam = rng.choice(len(fams), size=n_guess, p=weights)
    u = rng.random(n_guess)
    lens = np.empty(n_guess, dtype=np.int64)
    for i, f in enumerate(fams):
        sel = fam == i
        m = int(sel.sum())
        full = len(consensus[i])
        if f.kind == "simple":
            lens[sel] = rng.integers(20, 121, size=m)
        elif f.kind == "line":
            lens[sel] = np.clip(rng.lognormal(np.log(min(900, full)), 0.8, size=m), 80, full)
        else:  # mostly full length, some 5'-truncated
            trunc = rng.integers(full // 3, full, size=m)
            lens[sel] = np.where(u[sel] < 0.75, full, trunc)
    cover = w.preset.repeat_fraction
    gaps = rng.exponential(lens.mean() * (1 - cover) / cover, size=n_guess).astype(np.int64)
    ends = np.cumsum(gaps + lens)
    keep = int(np.searchsorted(ends, total - 1, side="right"))
    fam, lens, ends = fam[:keep], lens[:keep], ends[:keep]
    starts = ends - lens
    strands = rng.random(keep) < 0.5
    divs = np.array([rng.uniform(*fams[f].divergence) for f in fam])
    pieces = []
    for f, n, minus in zip(fam, lens, strands, strict=True):
        cons = consensus[f]
        if fams[f].kind == "simple":
            piece = np.resize(cons, int(n))
        else:
            piece = cons[len(cons) - int(n) :]  # 5' truncation keeps the 3' end
        pieces.append(revcomp_codes(piece) if minus else piece)
    rep = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint8)
    rate = np.repeat(divs, lens)
    hit = rng.random(len(rep)) < rate
    rep[hit] = rng.integers(0, 4, size=int(hit.sum()), dtype=np.uint8)
    # CpG decay: CG in old copies mutates to TG or CA.
    cg = np.flatnonzero((rep[:-1] == C) & (rep[1:] == G))
    decay = cg[rng.random(len(cg)) < 0.6]
    to_tg = rng.random(len(decay)) < 0.5
    rep[decay[to_tg]] = T
    rep[decay[~to_tg] + 1] = A
    first = np.concatenate([[0], np.cumsum(lens)[:-1]])
    pos = np.repeat(starts - first, lens) + np.arange(len(rep))
    w.codes[pos] = rep
    w.lower[pos] = True


def _gene_structure(rng: np.random.Generator, two_tss: bool) -> tuple[list, list, int]:
    """Sample one gene in transcript-relative coordinates (TSS of transcript 1 = 0).

    Returns (first exons, shared exons, gene length); exons are [a, b) pairs.
    """
    n_ex = int(rng.integers(3, 9))
    l1 = int(rng.integers(80, 400))

    def intron() -> int:
        return int(np.clip(rng.lognormal(np.log(500), 0.7), 150, 4000))

    intron1 = int(rng.integers(1600, 3000)) if two_tss else intron()
    firsts = [(0, l1)]
    if two_tss:
        p = l1 + int(rng.integers(700, intron1 - 899))  # exon 1b: >= 600 bp before exon 2
        firsts.append((p, p + int(rng.integers(80, 300))))
    pos = l1 + intron1
    shared = []
    for i in range(n_ex - 1):
        last = i == n_ex - 2
        el = int(rng.integers(200, 1200)) if last else int(rng.integers(50, 250))
        shared.append((pos, pos + el))
        pos += el
        if not last:
            pos += intron()
    return firsts, shared, pos


def _genes(rng: np.random.Generator, w: World, scale: float, verbose: bool) -> None:
    """Lay out genes and N gaps along each chromosome and plant promoters and splice sites."""
    p = w.preset
    n_genes = max(3, int(round(p.n_genes * scale)))
    usable = w.lengths - START_GAP
    # Genes per chromosome proportional to the usable length (largest remainders).
    share = n_genes * usable / usable.sum()
    per_chrom = np.floor(share).astype(np.int64)
    per_chrom[np.argsort(per_chrom - share, kind="stable")[: n_genes - int(per_chrom.sum())]] += 1
    structures = []
    for c, n in enumerate(per_chrom):
        for _ in range(n):
            two = bool(rng.random() < p.p_two_tss)
            firsts, shared, glen = _gene_structure(rng, two)
            structures.append((c, firsts, shared, glen, "+" if rng.random() < 0.5 else "-"))
    # Place genes and internal N runs on each chromosome with Dirichlet-distributed spacing.
    placed: list[tuple[int, int]] = []  # (structure index, global tss)
    for c in range(len(w.lengths)):
        off = int(w.offsets[c])
        clen = int(w.lengths[c])
        gap_start = min(START_GAP, clen // 20)
        w.codes[off : off + gap_start] = N
        w.lower[off : off + gap_start] = False
        w.occupied[off : off + gap_start + 500] = True
        w.occupied[off + clen - 1000 : off + clen] = True
        idx = [i for i, s in enumerate(structures) if s[0] == c]
        items = [("gene", i, structures[i][3] + PROMOTER_PAD + GENE_TAIL_PAD) for i in idx]
        items.append(("N", -1, int(rng.integers(1000, 5001))))
        items.append(("N", -1, 100))  # a contig gap of exactly 100 N, as in assemblies
        order = rng.permutation(len(items))
        items = [items[i] for i in order]
        spans = np.array([it[2] for it in items], dtype=np.int64)
        free = clen - gap_start - 1500 - int(spans.sum())
        if free < 0:
            raise ValueError(
                f"chromosome {w.names[c]} ({clen} bp) cannot hold its {len(idx)} genes; "
                f"increase `scale` (minimum {MIN_SCALE})"
            )
        gaps = np.floor(rng.dirichlet(np.ones(len(items) + 1)) * free).astype(np.int64)
        x = off + gap_start + 500 + int(gaps[0])
        for (kind, i, length), gap in zip(items, gaps[1:], strict=True):
            if kind == "N":
                w.codes[x : x + length] = N
                w.lower[x : x + length] = False
                w.occupied[max(off, x - 500) : x + length + 500] = True
            else:
                strand = structures[i][4]
                tss = x + PROMOTER_PAD if strand == "+" else x + length - 1 - PROMOTER_PAD
                placed.append((i, tss))
            x += length + int(gap)
    placed.sort(key=lambda t: t[1])
    # Islands for every promoter drawn in one go.
    n_tss = sum(len(structures[i][1]) for i, _ in placed)
    islands = markov(rng, 500 * n_tss, transition_matrix(0.66, 0.85)).reshape(n_tss, 500)
    # Exactly round(tata_fraction * n) TATA promoters, at random.
    is_tata = rng.permutation(n_tss) < int(round(p.tata_fraction * n_tss))
    w.n_islands = 0
    exon_mask = np.zeros(len(w.codes), dtype=bool)
    k_tss = 0
    for gnum, (i, tss) in enumerate(tqdm(placed, desc="genes", disable=not verbose), start=1):
        c, firsts, shared, glen, strand = structures[i]
        name = f"{p.gene_prefix}{gnum:04d}"
        gid = f"DNALM{p.gene_prefix.upper()}{gnum:06d}.1"
        gene = Gene(gid, name, 100_000 + gnum, strand, c, [])
        for t, first in enumerate(firsts):
            rel_exons = [first] + shared
            exons = sorted(span(tss, strand, a, b) for a, b in rel_exons)
            tr_tss = span(tss, strand, first[0], first[0] + 1)[0]
            gene.transcripts.append(
                Transcript(f"DNALM{p.gene_prefix.upper()}T{gnum:06d}.{t + 1}", exons, tr_tss)
            )
            # Promoter (planted before splice sites so that the latter win any overlap).
            flags = _promoter(
                rng,
                w,
                tss,
                strand,
                first[0],
                islands[k_tss],
                bool(is_tata[k_tss]),
                f"{name}_{t + 1}",
            )
            k_tss += 1
            w.promoters.append(
                {"name": f"{name}_{t + 1}", "chrom": c, "tss": tr_tss, "strand": strand, **flags}
            )
            a, b = span(tss, strand, first[0] - PROMOTER_PAD, first[0] + 500)
            w.occupied[a:b] = True
        for a, b in firsts + shared:
            ga, gb = span(tss, strand, a, b)
            w.lower[ga:gb] = False
            exon_mask[ga:gb] = True
            w.occupied[ga - 50 : gb + 50] = True
        # Splice sites: donors after every exon but the last, acceptors before shared exons.
        donors = sorted({b for _, b in firsts} | {b for _, b in shared[:-1]})
        acceptors = [a for a, _ in shared]
        for b in donors:
            inst = sample_pwm(rng, DONOR, 1)[0]
            dinuc = "GT"
            if rng.random() < NONCANONICAL_DONOR:
                inst[DONOR_EXON + 1] = C  # GC donor
                dinuc = "GC"
            w.put(tss, strand, b - DONOR_EXON, inst)
            s, e = span(tss, strand, b, b + 2)
            w.truth.append(("splice", "donor", s, e, strand, f"{gid}:{dinuc}"))
        for a in acceptors:
            inst = sample_pwm(rng, ACCEPTOR, 1)[0]
            w.put(tss, strand, a - ACCEPTOR_INTRON, inst)
            s, e = span(tss, strand, a - 2, a)
            w.truth.append(("splice", "acceptor", s, e, strand, f"{gid}:AG"))
        w.genes.append(gene)
    w.exon_mask = exon_mask


def _promoter(
    rng: np.random.Generator,
    w: World,
    tss: int,
    strand: str,
    r: int,
    island: np.ndarray,
    tata: bool,
    name: str,
) -> dict[str, int]:
    """Plant one promoter around transcript-relative TSS ``r``; return its EPD-style flags.

    TATA promoters get a TATA box centred near -30; the others a CpG island (-300..+200,
    ``island`` shape=(500,)) with GC boxes. Either may get a CCAAT box and an Inr at +1.
    """
    a, b = span(tss, strand, r - 300, r + 200)
    w.lower[a:b] = False
    flags = {"TATA": int(tata), "Inr": 0, "CCAAT": 0, "GC": 0}
    if not tata:
        s, e = w.put(tss, strand, r - 300, island)
        w.truth.append(("cpg_island", name, s, e, strand, "CpG_island"))
        w.n_islands += 1
    if tata:
        start = int(rng.integers(-34, -31))  # the 8-mer starts at -34..-32: centre -30.5..-28.5
        s, e = w.put(tss, strand, r + start, sample_pwm(rng, CODE_PWMS["TATA_like"], 1)[0])
        w.truth.append(("tata", "TATA_like", s, e, strand, name))
    n_gc = int(rng.integers(1, 3)) if rng.random() < (0.1 if tata else 0.8) else 0
    for j, lo, hi in ((0, -200, -150), (1, -145, -115))[:n_gc]:
        start = int(rng.integers(lo, hi))
        s, e = w.put(tss, strand, r + start, sample_pwm(rng, GCBOX, 1)[0])
        w.truth.append(("gc_box", f"GC_box_{j + 1}", s, e, strand, name))
        flags["GC"] = 1
    if rng.random() < 0.3:
        start = int(rng.integers(-100, -75))
        s, e = w.put(tss, strand, r + start, sample_pwm(rng, CCAAT, 1)[0])
        w.truth.append(("ccaat_box", "CCAAT_box", s, e, strand, name))
        flags["CCAAT"] = 1
    if rng.random() < 0.75:
        s, e = w.put(tss, strand, r - INR_A, sample_pwm(rng, INR, 1)[0])
        w.truth.append(("inr", "Inr", s, e, strand, name))
        flags["Inr"] = 1
    return flags


def _peaks(rng: np.random.Generator, w: World, scale: float, verbose: bool) -> None:
    """Choose peak summits away from N, promoters, exons and each other; plant motifs."""
    total = len(w.codes)
    occ = w.occupied
    w.peak_mask = np.zeros(total, dtype=bool)
    for exp, spec in w.experiments.items():
        pwm = CODE_PWMS[spec.motif] if spec.motif is not None else None
        n = max(20, int(round(spec.n * scale)))
        rows = []
        for i in tqdm(range(n), desc=exp, disable=not verbose):
            for _attempt in range(10_000):
                s = int(rng.integers(PEAK_HALF, total - PEAK_HALF))
                if not occ[s - PEAK_HALF : s + PEAK_HALF].any():
                    break
            else:
                raise ValueError(
                    f"no room left for the {n} peaks of experiment {exp}; lower its `n` or "
                    "increase `scale`"
                )
            occ[s - PEAK_HALF : s + PEAK_HALF] = True
            w.peak_mask[s - PEAK_HALF : s + PEAK_HALF] = True
            c = int(w.chrom_of(s))
            has = bool(rng.random() < spec.motif_fraction) and pwm is not None
            score = 0.0
            site = None
            if has:
                width = pwm.shape[0]
                inst = sample_pwm(rng, pwm, 1)[0]
                strand = "+" if rng.random() < 0.5 else "-"
                centre = s + int(rng.integers(-spec.jitter, spec.jitter + 1))
                start = centre - width // 2
                w.codes[start : start + width] = inst if strand == "+" else revcomp_codes(inst)
                w.lower[start : start + width] = False
                score = log_odds(pwm, inst)
                feature = f"{exp}:{i + 1}"
                w.truth.append(("motif", spec.motif, start, start + width, strand, feature))
                site = {
                    "motif": spec.motif,
                    "exp": exp,
                    "start": start,
                    "strand": strand,
                    "inst": inst,
                    "summit": s,
                    "low_quality": spec.low_quality,
                }
                w.motif_sites.append(site)
            left = int(rng.integers(*spec.half_width))
            right = int(rng.integers(*spec.half_width))
            if spec.low_quality or pwm is None:
                signal = float(rng.lognormal(np.log(spec.signal), 0.4))
            else:
                base = spec.signal * (
                    0.4 + 0.6 * max(score, 0.0) / max(np.log2(pwm.max(1) / 0.25).sum(), 1)
                )
                signal = float(rng.lognormal(np.log(base if has else spec.signal * 0.3), 0.35))
            rows.append(
                {
                    "chrom": c,
                    "start": s - left,
                    "end": s + right + 1,
                    "summit": s,
                    "signal": signal,
                    "site": site,
                }
            )
        w.peaks[exp] = rows


def _background_motifs(rng: np.random.Generator, w: World) -> None:
    """Plant ``preset.background_motifs`` instances genome-wide, away from planted features.

    Each PWM gets ``round(density * non-N bp / 10 kb)`` instances on random strands at uniform
    positions that keep ``MOTIF_PAD`` bp from N runs, promoters, exons, peak windows and each
    other (so the truth of peaks and promoters is unchanged). They are upper-case and listed as
    ``background_motif`` rows (feature ``genome``) in the truth.
    """
    if not w.preset.background_motifs:
        return
    blocked = w.occupied | (w.codes == N)
    n_acgt = int((w.codes != N).sum())
    total = len(w.codes)
    for name, density in w.preset.background_motifs:
        pwm = CODE_PWMS[name]
        width = pwm.shape[0]
        n = int(round(density * n_acgt / 10_000))
        insts = sample_pwm(rng, pwm, n)
        minus = rng.random(n) < 0.5
        cand = rng.integers(MOTIF_PAD, total - width - MOTIF_PAD, size=20 * n)
        j = 0
        for inst, neg in zip(insts, minus, strict=True):
            while j < len(cand):
                s = int(cand[j])
                j += 1
                if not blocked[s - MOTIF_PAD : s + width + MOTIF_PAD].any():
                    break
            else:
                raise ValueError(
                    f"no room left for {n} genome-wide {name} instances; increase `scale`"
                )
            w.codes[s : s + width] = revcomp_codes(inst) if neg else inst
            w.lower[s : s + width] = False
            blocked[s : s + width] = True
            w.occupied[s : s + width] = True
            w.truth.append(("background_motif", name, s, s + width, "-" if neg else "+", "genome"))


def gene_context(w: World, g: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Nearest gene (name:id), in-exon flag and in-gene flag for global positions ``g``."""
    starts = np.array([gn.start for gn in w.genes])
    ends = np.array([gn.end for gn in w.genes])
    mids = (starts + ends) // 2
    j = np.clip(np.searchsorted(mids, g), 1, len(mids) - 1)
    j = np.where(np.abs(mids[j - 1] - g) < np.abs(mids[j] - g), j - 1, j)
    info = [f"{w.genes[k].name}:{w.genes[k].numeric_id}" for k in j]
    in_gene = (g >= starts[j]) & (g < ends[j])
    return info, w.exon_mask[g], in_gene
