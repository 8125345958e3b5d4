"""dnalm.sim: the seeded demo world, read back with independent parsers (pysam, plain text).

One small human world (scale 0.2) is simulated per module; every check re-derives the planted
biology from the written files rather than from the simulator's internals.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pysam
import pytest
import yaml
from dnalm import sim
from dnalm.meme import read_meme

REPO = Path(__file__).resolve().parents[1]
SCALE = 0.2
COMP = str.maketrans("ACGTNacgtn", "TGCANtgcan")


def revcomp(s: str) -> str:
    return s.translate(COMP)[::-1]


def read_fasta_gz(path: Path) -> dict[str, str]:
    seqs: dict[str, list[str]] = {}
    name = None
    with gzip.open(path, "rt") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.startswith(">"):
                name = line[1:].split()[0]
                seqs[name] = []
            else:
                seqs[name].append(line)
    return {k: "".join(v) for k, v in seqs.items()}


def read_truth(world: Path) -> list[dict]:
    lines = (world / "truth" / "positions.tsv").read_text().splitlines()
    head = lines[0].split("\t")
    rows = [dict(zip(head, line.split("\t"), strict=True)) for line in lines[1:]]
    for r in rows:
        r["start"], r["end"] = int(r["start"]), int(r["end"])
    return rows


def read_peaks(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt") as fh:
        return [line.rstrip("\n").split("\t") for line in fh]


def best_match(pwm: np.ndarray, seq: str, strands: str = "+-") -> tuple[float, int, str]:
    """Best log2-odds PWM score over ``strands`` of ``seq``: (score, start, strand)."""
    idx = {b: i for i, b in enumerate("ACGT")}
    lo = np.log2(np.maximum(pwm, 1e-4) / 0.25)
    w = len(pwm)
    best = (-np.inf, -1, "+")
    for strand, s in (("+", seq.upper()), ("-", revcomp(seq.upper()))):
        if strand not in strands:
            continue
        for i in range(len(s) - w + 1):
            sub = s[i : i + w]
            if "N" in sub:
                continue
            sc = float(sum(lo[j, idx[c]] for j, c in enumerate(sub)))
            if sc > best[0]:
                pos = i if strand == "+" else len(s) - w - i
                best = (sc, pos, strand)
    return best


def tx_window(genome: dict[str, str], chrom: str, tss0: int, strand: str, up: int, down: int) -> str:
    """Sequence from TSS+up to TSS+down (inclusive, transcript orientation); tss0 is 0-based."""
    if strand == "+":
        return genome[chrom][tss0 + up : tss0 + down + 1]
    return revcomp(genome[chrom][tss0 - down : tss0 - up + 1])


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo_hs"
    written = sim.simulate_world(out, preset="human", seed=7, scale=SCALE)
    assert sorted(written) == sorted(sim.output_files(sim.peak_experiments("human")))
    return out


@pytest.fixture(scope="module")
def genome(world) -> dict[str, str]:
    return read_fasta_gz(world / "genome.fa.gz")


@pytest.fixture(scope="module")
def truth(world) -> list[dict]:
    return read_truth(world)


# ------------------------------------------------------------------------------------ genome
def test_outputs_complete_and_nothing_left_behind(world):
    for rel in sim.output_files(sim.peak_experiments("human")):
        assert (world / rel).is_file() and (world / rel).stat().st_size > 0, rel
    assert not [p for p in world.iterdir() if p.name.startswith(".")]
    assert (world / "truth/motifs.meme").stat().st_mode & 0o044  # readable by others (umask)


def test_fasta_plain_gzip_parses(world, genome, tmp_path):
    raw = (world / "genome.fa.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b" and raw[3] & 0x04 == 0  # gzip without BGZF extra field
    assert raw[4:8] == b"\0\0\0\0"  # mtime 0
    text = gzip.decompress(raw).decode()
    lines = text.split("\n")
    assert [ln for ln in lines if ln.startswith(">")] == [">chr1", ">chr2", ">chrX"]
    assert {len(ln) for ln in lines if ln and not ln.startswith(">")} <= set(range(1, 61))
    assert max(len(ln) for ln in lines) == 60
    plain = tmp_path / "g.fa"
    plain.write_text(text)
    pysam.faidx(str(plain))
    fa = pysam.FastaFile(str(plain))
    summary = json.loads((world / "truth/summary.json").read_text())
    assert dict(zip(fa.references, fa.lengths, strict=True)) == summary["contigs"]
    assert fa.lengths[0] == round(2_500_000 * SCALE)
    assert fa.fetch("chr2", 20_000, 20_100) == genome["chr2"][20_000:20_100]


def test_softmask_n_gaps_and_composition(genome):
    allseq = "".join(genome.values())
    n = len(allseq)
    lower = sum(allseq.count(b) for b in "acgt") / n
    assert 0.33 <= lower <= 0.47
    for seq in genome.values():
        assert seq[:10_000] == "N" * 10_000 and seq[10_000] != "N"
    runs = [m for s in genome.values() for m in re.finditer("N+", s[10_000:])]
    assert len(runs) >= 3  # internal gaps on every chromosome
    up = allseq.upper().replace("N", "")
    gc = (up.count("G") + up.count("C")) / len(up)
    assert 0.38 <= gc <= 0.45
    cpg_oe = up.count("CG") * len(up) / (up.count("C") * up.count("G"))
    assert cpg_oe < 0.55  # CpG depletion in a dinucleotide background


def test_background_cpg_depleted_outside_islands(genome, truth):
    islands = defaultdict(list)
    for r in truth:
        if r["kind"] == "cpg_island":
            islands[r["contig"]].append((r["start"], r["end"]))
    seq = genome["chr1"].upper()
    mask = np.zeros(len(seq), dtype=bool)
    for a, b in islands["chr1"]:
        mask[a:b] = True
    chunks = re.split("N+", "".join("N" if m else c for c, m in zip(seq, mask, strict=True)))
    bg = "N".join(chunks)
    oe = bg.count("CG") * (len(bg) - bg.count("N")) / (bg.count("C") * bg.count("G"))
    assert oe < 0.45
    isl = "".join(seq[a:b] for a, b in islands["chr1"])
    assert isl.count("CG") * len(isl) / (isl.count("C") * isl.count("G")) > 0.6


def test_assembly_report(world):
    text = (world / "assembly_report.txt").read_text()
    assert "\r" not in text
    lines = text.splitlines()
    comments = [ln for ln in lines if ln.startswith("#")]
    header = comments[-1].lstrip("# ").split("\t")
    assert header[0] == "Sequence-Name" and header[-1] == "UCSC-style-name"
    assert lines.index(comments[-1]) == len(comments) - 1  # comments first, header last
    rows = [dict(zip(header, ln.split("\t"), strict=True)) for ln in lines if not ln.startswith("#")]
    m = {r["UCSC-style-name"]: r["RefSeq-Accn"] for r in rows}
    assert m["chr1"] == "NC_000001.11" and m["chr2"] == "NC_000002.12" and m["chrX"] == "NC_000023.11"
    assert {r["Sequence-Name"] for r in rows if r["UCSC-style-name"] != "na"} == {"1", "2", "X"}
    assert sum(r["UCSC-style-name"] == "na" for r in rows) == 1


# --------------------------------------------------------------------------------- promoters
def _epd(world) -> list[tuple]:
    rows = []
    for line in (world / "epd.bed").read_text().splitlines():
        f = line.split(" ")
        assert len(f) == 8 and "\t" not in line
        chrom, start, end, name, score, strand, ts, te = f
        start, end, ts, te = int(start), int(end), int(ts), int(te)
        assert score == "900" and end - start == 60 and re.fullmatch(r"\w+_\d+", name)
        if strand == "+":
            tss1 = ts + 1
            assert tss1 == end - 10 and te == end
        else:
            tss1 = te
            assert tss1 == start + 11 and ts == start
        rows.append((chrom, tss1 - 1, strand, name))
    return rows


def _flags(world) -> dict[str, dict[str, int]]:
    lines = (world / "promoter_motifs.txt").read_text().splitlines()
    assert lines[0] == "#Name\tTATA-box\tInr\tCCAAT-box\tGC-box"
    return {
        f[0]: dict(zip(("TATA", "Inr", "CCAAT", "GC"), map(int, f[1:]), strict=True))
        for f in (ln.split("\t") for ln in lines[1:])
    }


def _gtf(world) -> list[list[str]]:
    with gzip.open(world / "genes.gtf.gz", "rt") as fh:
        lines = fh.read().splitlines()
    assert lines[0].startswith("##")
    rows = [ln.split("\t") for ln in lines if not ln.startswith("#")]
    assert all(len(r) == 9 for r in rows)
    return rows


def _attr(s: str, key: str) -> str | None:
    m = re.search(rf'{key} "?([^";]+)"?;', s)
    return m.group(1) if m else None


def test_epd_bed_tss_is_transcript_start(world):
    epd = _epd(world)
    assert len(epd) >= 0.6 * 800 * SCALE
    assert {s for *_, s, _ in epd} == {"+", "-"}
    flags = _flags(world)
    assert set(flags) == {n for *_, n in epd}
    starts = set()
    for r in _gtf(world):
        if r[2] == "transcript":
            t0 = int(r[3]) - 1 if r[6] == "+" else int(r[4]) - 1
            starts.add((r[0], t0, r[6]))
    assert {(c, t, s) for c, t, s, _ in epd} <= starts


def test_tata_box_near_minus30(world, genome):
    pwm = sim.PWMS["TATA_like"]
    flags = _flags(world)
    centres, tata_n, scores_no = [], 0, []
    for chrom, tss0, strand, name in _epd(world):
        up = tx_window(genome, chrom, tss0, strand, -45, -16)  # relative positions -45..-16
        if flags[name]["TATA"]:
            tata_n += 1
            sc, pos, _ = best_match(pwm, up, strands="+")
            if sc > 6:
                centres.append(-45 + pos + (len(pwm) - 1) / 2)
        else:
            scores_no.append(best_match(pwm, up, strands="+")[0])
    assert 0.25 <= tata_n / len(flags) <= 0.45
    assert len(centres) >= 0.85 * tata_n
    centres = np.array(centres)
    assert -31 <= np.median(centres) <= -28
    assert np.mean(np.abs(centres + 30) <= 2.5) >= 0.85
    assert np.median(scores_no) < 4  # CpG-island promoters have no TATA box


def test_inr_and_cpg_islands(world, genome):
    flags = _flags(world)
    inr_a, gc_tata, gc_island = [], [], []
    for chrom, tss0, strand, name in _epd(world):
        if flags[name]["Inr"]:
            inr_a.append(tx_window(genome, chrom, tss0, strand, 0, 0).upper() == "A")
        region = tx_window(genome, chrom, tss0, strand, -300, 199).upper()
        gc = (region.count("G") + region.count("C")) / len(region)
        (gc_tata if flags[name]["TATA"] else gc_island).append(gc)
    assert np.mean(inr_a) > 0.9
    assert np.mean(gc_island) > 0.58 and np.mean(gc_tata) < 0.5


# ------------------------------------------------------------------------------------- genes
def test_gtf_structure_and_splice_consensus(world, genome):
    rows = _gtf(world)
    feats = {r[2] for r in rows}
    assert feats == {"gene", "transcript", "exon", "CDS", "start_codon", "stop_codon"}
    exons = defaultdict(list)
    genes = set()
    for r in rows:
        genes.add(_attr(r[8], "gene_id"))
        if r[2] == "exon":
            for key in ("gene_id", "transcript_id", "gene_name", "gene_type", "exon_number", "tag"):
                assert _attr(r[8], key) is not None, key
            exons[_attr(r[8], "transcript_id")].append((r[0], int(r[3]), int(r[4]), r[6], r[8]))
    assert len(genes) >= 0.8 * 500 * SCALE
    n_minus = 0
    ok = total = 0
    for ex in exons.values():
        assert 3 <= len(ex) <= 8
        nums = [int(_attr(e[4], "exon_number")) for e in ex]
        assert nums == list(range(1, len(ex) + 1))
        starts = [e[1] for e in ex]
        if ex[0][3] == "-":
            n_minus += 1
            assert starts == sorted(starts, reverse=True)  # listed in descending order
        else:
            assert starts == sorted(starts)
        ex = sorted(ex, key=lambda e: e[1])
        seq = genome[ex[0][0]].upper()
        for (_, _, end, strand, _), (_, start, _, _, _) in zip(ex[:-1], ex[1:], strict=True):
            # 1-based: intron = end+1 .. start-1; seq is 0-based.
            left, right = seq[end : end + 2], seq[start - 3 : start - 1]
            total += 1
            ok += (left, right) == (("GT", "AG") if strand == "+" else ("CT", "AC"))
    assert 0 < n_minus < len(exons)
    assert ok / total > 0.95


# ------------------------------------------------------------------------------------- peaks
def test_narrowpeak_format(world):
    summary = json.loads((world / "truth/summary.json").read_text())
    for exp in sim.peak_experiments("human"):
        rows = read_peaks(world / "peaks" / f"{exp}.narrowPeak.gz")
        assert all(len(r) == 10 for r in rows)
        assert sum(r[0] == "chrEBV" for r in rows) in (2, 3)
        iv = defaultdict(set)
        for r in rows:
            assert r[3] == "." and r[5] == "." and 0 <= int(r[4]) <= 1000
            assert 0 <= int(r[9]) < int(r[2]) - int(r[1])
            float(r[6]), float(r[7]), float(r[8])
            iv[(r[0], r[1], r[2])].add(r[9])
        assert any(len(s) > 1 for s in iv.values())  # duplicate intervals, different summits
        assert any(r[7] == "-1" for r in rows)
        keys = [(r[0], int(r[1])) for r in rows]
        assert keys != sorted(keys)
        assert summary["peaks"][exp]["rows"] == len(rows)
    assert len(read_peaks(world / "peaks/CTCF_demo.narrowPeak.gz")) >= 0.9 * 1500 * SCALE


def test_peaks_avoid_n_and_promoters(world, genome):
    tss = defaultdict(list)
    for chrom, t0, _, _ in _epd(world):
        tss[chrom].append(t0)
    for exp in sim.peak_experiments("human"):
        for r in read_peaks(world / "peaks" / f"{exp}.narrowPeak.gz"):
            if r[0] == "chrEBV":
                continue
            assert "N" not in genome[r[0]][int(r[1]) : int(r[2])]
            summit = int(r[1]) + int(r[9])
            assert min(abs(summit - t) for t in tss[r[0]]) > 500


@pytest.mark.parametrize(
    ("exp", "motif", "frac", "lo", "hi"),
    [("CTCF_demo", "CTCF_like", 0.35, 0.75, 1.0), ("TP53_demo", "P53_like", 0.35, 0.75, 1.0),
     ("LOWQ_demo", "LOWQ_like", 0.75, 0.0, 0.2)],
)  # fmt: skip
def test_planted_motif_at_summits(world, genome, exp, motif, frac, lo, hi):
    pwm = read_meme(world / "truth/motifs.meme")[motif]
    thr = frac * np.log2(pwm.max(axis=1) / 0.25).sum()
    hit = defaultdict(bool)  # per interval: does any of its summits carry the motif?
    for r in read_peaks(world / "peaks" / f"{exp}.narrowPeak.gz"):
        if r[0] != "chrEBV":
            summit = int(r[1]) + int(r[9])
            score = best_match(pwm, genome[r[0]][summit - 20 : summit + 21])[0]
            hit[(r[0], r[1], r[2])] |= score > thr
    assert lo <= np.mean(list(hit.values())) <= hi, np.mean(list(hit.values()))
    # Control: the same test at random genome positions rarely fires.
    rng = np.random.default_rng(0)
    seq = genome["chr1"]
    pos = rng.integers(20_000, len(seq) - 50, 200)
    ctrl = [best_match(pwm, seq[p - 20 : p + 21])[0] > thr for p in pos]
    assert np.mean(ctrl) < min(0.1, lo / 4 + 0.05)


def test_background_motifs_genome_wide(world, genome, truth):
    """Planted PWMs also occur genome-wide at the preset's density, away from peaks/promoters."""
    pwms = read_meme(world / "truth/motifs.meme")
    bg = [r for r in truth if r["kind"] == "background_motif"]
    n_acgt = sum(len(s) - s.upper().count("N") for s in genome.values())
    want = dict(sim.PRESETS["human"].background_motifs)
    counts = defaultdict(int)
    for r in bg:
        counts[r["name"]] += 1
    assert set(counts) == set(want)
    for name, density in want.items():  # instances per 10 kb of non-N sequence
        assert counts[name] == round(density * n_acgt / 10_000), name
    # On every chromosome, not only near peaks; each instance reads back on its own strand.
    assert {r["contig"] for r in bg} == set(genome)
    for name in ("CTCF_like", "P53_like", "TATA_like"):
        pwm = pwms[name]
        strong = np.flatnonzero(pwm.max(axis=1) >= 0.9)
        cons = "".join("ACGT"[i] for i in pwm.argmax(axis=1))
        own = []
        for r in (r for r in bg if r["name"] == name):
            seq = genome[r["contig"]][r["start"] : r["end"]].upper()
            fwd = seq if r["strand"] == "+" else revcomp(seq)
            own += [fwd[j] == cons[j] for j in strong]
        assert np.mean(own) > 0.9, (name, np.mean(own))
    # Never inside a peak window, a promoter (-300..+200) or another planted feature.
    planted = defaultdict(list)
    for r in truth:
        if r["kind"] in ("motif", "tata", "inr", "gc_box", "ccaat_box", "cpg_island", "splice"):
            planted[r["contig"]].append((r["start"], r["end"]))
    for exp in sim.peak_experiments("human"):
        for p in read_peaks(world / "peaks" / f"{exp}.narrowPeak.gz"):
            if p[0] != "chrEBV":
                summit = int(p[1]) + int(p[9])
                planted[p[0]].append((summit - 150, summit + 150))
    for c in planted:
        iv = np.array(sorted(planted[c]))
        for r in (r for r in bg if r["contig"] == c):
            assert not ((iv[:, 0] < r["end"]) & (iv[:, 1] > r["start"])).any(), r
    # The planted-motif truth and motifs.meme site counts are those of the peaks alone.
    summary = json.loads((world / "truth/summary.json").read_text())
    assert summary["truth_rows"]["background_motif"] == len(bg)


# ---------------------------------------------------------------------------------- variants
def test_dbsnp_vcf(world, genome, truth):
    vf = pysam.VariantFile(str(world / "dbsnp.vcf.gz"))
    assert str(vf.header.version) == "VCFv4.2"
    contigs = list(vf.header.contigs)
    assert contigs == ["NC_000001.11", "NC_000002.12", "NC_000023.11"]
    refseq = dict(zip(contigs, ["chr1", "chr2", "chrX"], strict=True))
    assert len(list(vf.fetch("NC_000002.12", 100_000, 150_000))) > 50
    mism = {r["name"] for r in truth if r["kind"] == "ref_mismatch"}
    assert 3 <= len(mism) <= 5
    n = multi = indel = common = bad = 0
    bad_ids = set()
    positions = defaultdict(list)
    for rec in pysam.VariantFile(str(world / "dbsnp.vcf.gz")):
        n += 1
        assert rec.id.startswith("rs") and rec.info["RS"] == int(rec.id[2:])
        multi += len(rec.alts) > 1
        indel += len(rec.ref) != len(rec.alts[0])
        common += "COMMON" in rec.info
        assert "FREQ" in rec.info and "dbSNPBuildID" in rec.info
        g = genome[refseq[rec.chrom]][rec.pos - 1 : rec.pos - 1 + len(rec.ref)].upper()
        if g != rec.ref:
            bad += 1
            bad_ids.add(rec.id)
        positions[refseq[rec.chrom]].append(rec.pos - 1)
    assert bad_ids == mism and bad == len(mism)
    assert multi > 0 and indel > 0 and common > 0
    total = sum(len(s) - s.count("N") for s in genome.values())
    assert 0.7 / 200 < n / total < 3 / 200
    # Denser inside peak windows than elsewhere.
    summits = [
        (r[0], int(r[1]) + int(r[9]))
        for r in read_peaks(world / "peaks/CTCF_demo.narrowPeak.gz")
        if r[0] != "chrEBV"
    ]
    pos = {c: np.sort(v) for c, v in positions.items()}
    near = sum(
        np.searchsorted(pos[c], s + 101) - np.searchsorted(pos[c], s - 100) for c, s in summits
    )
    assert near / (201 * len(summits)) > 3 * n / total


def test_clinvar_vcf(world):
    raw = gzip.open(world / "clinvar.vcf.gz", "rt").read()
    assert raw.startswith("##fileformat=VCFv4.1")
    body = [ln.split("\t") for ln in raw.splitlines() if not ln.startswith("#")]
    assert {r[0] for r in body} == {"1", "2", "X"}
    assert all("," not in r[4] and r[2].isdigit() for r in body)
    sigs = {re.search(r"CLNSIG=([^;]+)", r[7]).group(1) for r in body}
    for s in ("Pathogenic", "Likely_pathogenic", "Pathogenic/Likely_pathogenic", "Benign",
              "Likely_benign", "Benign/Likely_benign", "Uncertain_significance",
              "Conflicting_interpretations_of_pathogenicity",
              "Conflicting_classifications_of_pathogenicity", "Pathogenic|risk_factor"):  # fmt: skip
        assert s in sigs, s
    assert "CLNREVSTAT=criteria_provided,_multiple_submitters,_no_conflicts" in raw
    for key in ("ALLELEID=", "CLNDN=", "CLNDISDB=", "GENEINFO=", "MC=SO:", "RS="):
        assert key in raw, key
    vf = pysam.VariantFile(str(world / "clinvar.vcf.gz"))
    recs = list(vf.fetch("1"))
    assert recs and all(r.chrom == "1" for r in recs)
    # pysam splits Number=. values on commas: the trap downstream parsers must handle.
    rev = [r.info["CLNREVSTAT"] for r in recs]
    assert any(isinstance(v, tuple) and len(v) > 1 for v in rev)


def test_clinvar_rs_ids_are_in_dbsnp(world):
    refseq = {"1": "NC_000001.11", "2": "NC_000002.12", "X": "NC_000023.11"}
    db = pysam.VariantFile(str(world / "dbsnp.vcf.gz"))
    n = 0
    for rec in pysam.VariantFile(str(world / "clinvar.vcf.gz")):
        if "RS" not in rec.info:
            continue
        rs = rec.info["RS"][0] if isinstance(rec.info["RS"], tuple) else rec.info["RS"]
        hits = [d for d in db.fetch(refseq[rec.chrom], rec.pos - 1, rec.pos) if d.id == f"rs{rs}"]
        assert len(hits) == 1 and hits[0].ref == rec.ref and rec.alts[0] in hits[0].alts
        n += 1
    assert n > 10


def test_clinvar_pathogenic_in_motif_cores(world, genome, truth):
    pwms = read_meme(world / "truth/motifs.meme")
    motifs = defaultdict(list)
    for r in truth:
        if r["kind"] == "motif":
            motifs[r["contig"]].append(r)
    ucsc = {"1": "chr1", "2": "chr2", "X": "chrX"}
    clin = {}
    with gzip.open(world / "clinvar.vcf.gz", "rt") as fh:
        for line in fh:
            if not line.startswith("#"):
                f = line.split("\t")
                clin[f[2]] = (ucsc[f[0]], int(f[1]) - 1, f[3], f[4])
    path = [r for r in truth if r["kind"] == "pathogenic"]
    ben = [r for r in truth if r["kind"] == "benign"]
    assert len(path) >= 0.7 * 60 * SCALE and len(ben) >= 0.7 * 120 * SCALE
    for r in path:
        chrom, p0, ref, alt = clin[r["name"]]
        assert (chrom, p0) == (r["contig"], r["start"])
        assert genome[chrom][p0].upper() == ref
        site = [m for m in motifs[chrom] if m["start"] <= p0 < m["end"]]
        assert len(site) == 1 and site[0]["name"] in ("CTCF_like", "P53_like")
        m = site[0]
        pwm = pwms[m["name"]]
        j = p0 - m["start"] if m["strand"] == "+" else m["end"] - 1 - p0
        idx = "ACGT".index
        r_m, a_m = (ref, alt) if m["strand"] == "+" else (revcomp(ref), revcomp(alt))
        assert pwm[j, idx(r_m)] >= 0.85 and pwm[j, idx(a_m)] < 0.1  # the ALT breaks the core
    for r in ben:
        chrom, p0, ref, _ = clin[r["name"]]
        assert genome[chrom][p0].upper() == ref
        dist = min(max(m["start"] - p0, p0 - m["end"] + 1, 0) for m in motifs[chrom])
        assert dist >= 12


def test_truth_files(world, truth):
    kinds = {r["kind"] for r in truth}
    assert {"motif", "tata", "splice", "pathogenic", "benign", "ref_mismatch"} <= kinds
    assert (world / "truth/positions.tsv").read_text().startswith(
        "kind\tname\tcontig\tstart\tend\tstrand\tfeature\n"
    )
    motifs = read_meme(world / "truth/motifs.meme")
    assert set(motifs) == {"CTCF_like", "P53_like", "TATA_like", "LOWQ_like"}
    for name, pwm in motifs.items():
        np.testing.assert_allclose(pwm, sim.PWMS[name], atol=1e-6)
    summary = json.loads((world / "truth/summary.json").read_text())
    assert summary["truth_rows"]["motif"] == sum(r["kind"] == "motif" for r in truth)
    assert summary["seed"] == 7 and summary["scale"] == SCALE


# ---------------------------------------------------------------------------- determinism etc.
def _digest(d: Path) -> dict[str, str]:
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}  # fmt: skip


def test_same_seed_same_bytes(world, tmp_path):
    sim.simulate_world(tmp_path / "again", preset="human", seed=7, scale=SCALE)
    assert _digest(tmp_path / "again") == _digest(world)


def test_mouse_world_differs(tmp_path):
    out = sim.simulate_world(tmp_path / "mm", preset="mouse", seed=11, scale=0.1)
    assert sorted(out) == sorted(sim.output_files(sim.peak_experiments("mouse")))
    assert (tmp_path / "mm/peaks/CTCF_mm.narrowPeak.gz").is_file()
    report = (tmp_path / "mm/assembly_report.txt").read_text()
    assert "NC_000067.7" in report and "NC_000068.8" in report
    vf = pysam.VariantFile(str(tmp_path / "mm/dbsnp.vcf.gz"))
    assert list(vf.header.contigs) == ["NC_000067.7", "NC_000068.8"]
    assert set(read_meme(tmp_path / "mm/truth/motifs.meme")) == {"CTCF_like", "TATA_like"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"preset": "fly"}, "preset"), ({"scale": 0.0}, "scale"), ({"seed": -1}, "seed")],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sim.simulate_world(tmp_path / "x", **kwargs)
    assert not (tmp_path / "x" / "genome.fa.gz").exists()


def test_snakemake_plans_demo_simulate():
    r = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--force", "resources/demo/demo_hs/genome.fa.gz",
         "--cores", "1", "--nolock"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert re.search(r"demo_simulate\s+1", out), out[-3000:]
    assert "logs/demo_simulate/demo_hs.log" in out


def test_snakemake_runs_world_with_own_peaks(tmp_path):
    """simulate.<world>.peaks reaches the rule's outputs and the simulator (run in tmp_path)."""
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg["simulate"]["demo_x"] = {
        "preset": "mouse", "seed": 5, "scale": 0.1,
        "peaks": {"MyTF": {"motif": "P53_like"}, "Bg_1": {"quality": "low"}},
    }  # fmt: skip
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    r = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--cores", "1",
         "--nolock", "--configfile", "config.yaml", "--replace-workflow-config",
         "resources/demo/demo_x/peaks/MyTF.narrowPeak.gz"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    world = tmp_path / "resources/demo/demo_x"
    assert sorted(p.name for p in (world / "peaks").iterdir()) == [
        "Bg_1.narrowPeak.gz", "MyTF.narrowPeak.gz",
    ]  # fmt: skip
    assert (tmp_path / "logs/demo_simulate_demo_x/demo_x.log").is_file()
    summary = json.loads((world / "truth/summary.json").read_text())
    assert summary["experiments"]["MyTF"]["motif"] == "P53_like"
    assert summary["peaks"]["MyTF"]["with_motif"] > 0 == summary["peaks"]["Bg_1"]["with_motif"]
    assert set(read_meme(world / "truth/motifs.meme")) == {"P53_like", "TATA_like"}
