"""dnalm.pas_tis: PAS and TIS windows from a hand-made GTF + FASTA, and the demo world's planted sites."""

from __future__ import annotations

import gzip
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from dnalm import sim
from dnalm.dataset import read_card, read_examples
from dnalm.datasets import build_dataset
from dnalm.fasta import Genome
from dnalm.pas_tis import pas_examples, read_gtf_models, tis_examples
from dnalm.seq import revcomp

L_PAS, L_TIS = 20, 21


def _put(seq: list[str], at: int, s: str) -> None:
    seq[at : at + len(s)] = list(s)


@pytest.fixture
def toy(tmp_path) -> dict:
    """3 kb of C/G only (no A/T motif by chance), a + and a - transcript with planted sites.

    + transcript: exons [200, 400) [600, 1000) (0-based), start ATG [650, 653), AATAAA [975, 981)
    (25..19 nt upstream of the 3' end 1000). - transcript: exons [1500, 1900) [2100, 2400),
    ATG on - at [2300, 2303), AATAAA on - at [1515, 1521) (15..21 nt past the 3' end 1500).
    Decoys: AATAAA in both introns, ATG inside both transcripts.
    """
    rng = np.random.default_rng(0)
    seq = list("".join(rng.choice(list("CG"), size=3000)))
    _put(seq, 650, "ATG")
    _put(seq, 975, "AATAAA")
    _put(seq, 2300, revcomp("ATG"))
    _put(seq, 1515, revcomp("AATAAA"))
    for at in (450, 520):
        _put(seq, at, "AATAAA")
    for at in (1950, 2050):
        _put(seq, at, revcomp("AATAAA"))
    for at in (300, 800):
        _put(seq, at, "ATG")
    for at in (1700, 2200):
        _put(seq, at, revcomp("ATG"))
    genome = "".join(seq)
    fa = tmp_path / "toy.fa"
    fa.write_text(">chrT\n" + "\n".join(genome[i : i + 60] for i in range(0, 3000, 60)) + "\n")
    a1 = 'gene_id "G1"; transcript_id "T1";'
    a2 = 'gene_id "G2"; transcript_id "T2";'
    rows = [
        ("transcript", 201, 1000, "+", a1), ("exon", 201, 400, "+", a1), ("exon", 601, 1000, "+", a1),
        ("CDS", 651, 900, "+", a1), ("start_codon", 651, 653, "+", a1),
        ("transcript", 1501, 2400, "-", a2), ("exon", 2101, 2400, "-", a2), ("exon", 1501, 1900, "-", a2),
        ("CDS", 2001, 2303, "-", a2), ("start_codon", 2301, 2303, "-", a2),
    ]  # fmt: skip
    gtf = tmp_path / "genes.gtf"
    gtf.write_text("".join(f"chrT\tt\t{f}\t{s}\t{e}\t.\t{st}\t.\t{a}\n" for f, s, e, st, a in rows))
    exon_only = tmp_path / "exons.gtf"
    exon_only.write_text("".join(ln for ln in gtf.read_text().splitlines(True) if "\texon\t" in ln))
    return {"genome": genome, "fa": fa, "gtf": gtf, "exon_only": exon_only}


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_pas_windows_exact_on_both_strands(toy):
    g = Genome(toy["fa"])
    exs, st = pas_examples(read_gtf_models(toy["gtf"]), g, np.random.default_rng(1), window=L_PAS)
    g.close()
    pos = sorted((e for e in exs if e.label == 1), key=lambda e: e.start)
    neg = [e for e in exs if e.label == 0]
    seq = toy["genome"]
    f = (L_PAS - 6) // 2  # 7
    assert [(e.start, e.end, e.strand) for e in pos] == [(975 - f, 981 + f, "+"), (1508, 1528, "-")]
    assert pos[0].sequence == seq[968:988]
    assert pos[1].sequence == revcomp(seq[1508:1528])
    for e in pos + neg:
        assert len(e.sequence) == L_PAS and e.sequence[f : f + 6] == "AATAAA"
    # Negatives: the decoy hexamers in the introns, one per positive, never overlapping a positive.
    assert len(neg) == 2 and st["negatives_missing"] == 0
    decoys = {450: "+", 520: "+", 1950: "-", 2050: "-"}
    for e in neg:
        g0 = e.start + f
        assert decoys.get(g0) == e.strand
        assert not any(_overlap((e.start, e.end), (p.start, p.end)) for p in pos)
        assert e.sequence == (seq[e.start : e.end] if e.strand == "+" else revcomp(seq[e.start : e.end]))


def test_tis_windows_exact_on_both_strands(toy):
    g = Genome(toy["fa"])
    exs, st = tis_examples(read_gtf_models(toy["gtf"]), g, np.random.default_rng(2), window=L_TIS)
    g.close()
    pos = sorted((e for e in exs if e.label == 1), key=lambda e: e.start)
    neg = [e for e in exs if e.label == 0]
    seq = toy["genome"]
    f = (L_TIS - 3) // 2  # 9
    assert [(e.start, e.end, e.strand) for e in pos] == [(641, 662, "+"), (2291, 2312, "-")]
    assert pos[0].sequence == seq[641:662]
    assert pos[1].sequence == revcomp(seq[2291:2312])
    assert st["not_atg"] == 0 and len(neg) == 2
    for e in pos + neg:
        assert e.sequence[f : f + 3] == "ATG"
    for e in neg:  # other ATGs inside the transcripts, never at or overlapping a start window
        assert e.start + f in {300, 800} if e.strand == "+" else e.start + L_TIS - f - 3 in {1700, 2200}
        assert not any(_overlap((e.start, e.end), (p.start, p.end)) for p in pos)


def _outputs(d: Path) -> dict[str, Path]:
    return {**{s: d / f"{s}.tsv.gz" for s in ("train", "dev", "test")}, "card": d / "card.json"}


def test_gtf_without_cds_is_refused_before_building(toy, tmp_path):
    out = _outputs(tmp_path / "tis")
    spec = {"kind": "tis", "genome": "toy", "window": L_TIS}
    with pytest.raises(ValueError, match=r"exons\.gtf \(config key `annotations\.toy\.gtf`\): no CDS or start_codon rows"):
        build_dataset("tis", spec, {"fasta": toy["fa"], "gtf": toy["exon_only"]}, out, verbose=False)
    assert not any(p.exists() for p in out.values())
    # PAS needs only exons: the same file builds.
    card = build_dataset("pas", {"kind": "pas", "genome": "toy", "window": L_PAS},
                         {"fasta": toy["fa"], "gtf": toy["exon_only"]}, _outputs(tmp_path / "pas"), verbose=False)  # fmt: skip
    assert card["n_total"] == 4 and card["window_length"] == L_PAS


def test_bad_gtf_lines_name_file_and_line(tmp_path):
    p = tmp_path / "bad.gtf"
    p.write_text('chr1\tt\texon\t10\t20\t.\t+\t.\tgene_id "g";\n')
    with pytest.raises(ValueError, match=r"bad\.gtf:1: exon row without transcript_id"):
        read_gtf_models(p)
    p.write_text('chr1\tt\tgene\t10\t20\t.\t+\t.\tgene_id "g";\n')
    with pytest.raises(ValueError, match=r"bad\.gtf: no exon rows"):
        read_gtf_models(p)


# ------------------------------------------------------------------------- demo world


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gsr") / "w"
    sim.simulate_world(out, preset="human", seed=5, scale=0.1)
    return out


def _gtf_rows(world: Path) -> list[list[str]]:
    with gzip.open(world / "genes.gtf.gz", "rt") as fh:
        return [ln.rstrip("\n").split("\t") for ln in fh if not ln.startswith("#")]


def _genome(world: Path) -> dict[str, str]:
    seqs: dict[str, list[str]] = {}
    with gzip.open(world / "genome.fa.gz", "rt") as fh:
        for ln in fh:
            if ln.startswith(">"):
                cur = seqs.setdefault(ln[1:].strip(), [])
            else:
                cur.append(ln.strip().upper())
    return {k: "".join(v) for k, v in seqs.items()}


def test_demo_world_plants_cds_kozak_and_pas(world):
    rows, genome = _gtf_rows(world), _genome(world)
    tid = lambda r: r[8].split('transcript_id "')[1].split('"')[0]  # noqa: E731
    cds_len, starts, stops, ends = defaultdict(int), {}, {}, {}
    for r in rows:
        if r[2] == "CDS":
            cds_len[tid(r)] += int(r[4]) - int(r[3]) + 1
        elif r[2] in ("start_codon", "stop_codon"):
            s = genome[r[0]][int(r[3]) - 1 : int(r[4])]
            (starts if r[2] == "start_codon" else stops)[tid(r)] = (s if r[6] == "+" else revcomp(s), r)
        elif r[2] == "transcript":
            ends[tid(r)] = (r[0], int(r[4]) if r[6] == "+" else int(r[3]) - 1, r[6])
    assert starts and set(starts) == set(stops) == set(cds_len)
    assert all(s == "ATG" for s, _ in starts.values())
    assert all(s in ("TAA", "TAG", "TGA") for s, _ in stops.values())
    assert all(n % 3 == 0 for n in cds_len.values())  # ATG .. last sense codon, in frame
    # Kozak: -3 is A or G for most starts.
    kozak = []
    for _, r in starts.values():
        c, s = r[0], int(r[3]) - 1
        ctx = genome[c][s - 6 : s + 4] if r[6] == "+" else revcomp(genome[c][s - 1 : s + 9])
        kozak.append(ctx)
    assert np.mean([k[3] in "AG" for k in kozak]) > 0.75 and np.mean([k[9] == "G" for k in kozak]) > 0.5
    # PAS truth rows: a hexamer of the PAS set 16..35 nt upstream of a transcript 3' end.
    truth = [ln.split("\t") for ln in (world / "truth/positions.tsv").read_text().splitlines()[1:]]
    pas = [t for t in truth if t[0] == "pas"]
    end_set = set(ends.values())
    for _, name, c, s, e, strand, _ in pas:
        s, e = int(s), int(e)
        hexamer = genome[c][s:e] if strand == "+" else revcomp(genome[c][s:e])
        assert hexamer == name
        dists = [(end - e) if strand == "+" else (s - end) for (cc, end, st) in end_set if cc == c and st == strand]
        assert any(10 <= d <= 30 for d in dists), (name, c, s)
    n_genes = sum(r[2] == "gene" for r in rows)
    assert len(pas) >= 0.9 * n_genes


def test_demo_world_pas_and_tis_tasks_build(world, tmp_path):
    fa = tmp_path / "genome.fa"
    fa.write_bytes(gzip.decompress((world / "genome.fa.gz").read_bytes()))
    for task in ("pas", "tis"):
        out = _outputs(tmp_path / task)
        card = build_dataset(task, {"kind": task, "genome": "w", "window": 100}, {"fasta": fa, "gtf": world / "genes.gtf.gz"},
                             out, splits={"seed": 1}, verbose=False)  # fmt: skip
        c = read_card(out["card"])
        assert c.labels == (0, 1) and c.window_length == 100
        st = card["stats"]
        assert st["negatives_missing"] == 0 and st["positives"] >= 0.9 * (st.get("transcript_3p_ends") or st["start_sites"])
        rows = [e for s in ("train", "dev", "test") for e in read_examples(out[s])]
        pos = [(e.contig, e.start, e.end) for e in rows if e.label == 1]
        for e in rows:
            if e.label == 0:
                assert not any(c0 == e.contig and s < e.end and e.start < t for c0, s, t in pos)


def test_config_checks_for_new_kinds():
    import yaml
    from dnalm import settings

    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "config/config.yaml").read_text())
    cfg = settings.load_config(raw)
    assert cfg.task_models("expression") == [] and cfg.task_models("pas") == ["dnabert6_tiny", "cnn", "dnagpt_tiny", "dnagpt_tiny-scratch"]
    raw["tasks"]["tis_mm"] = {"genome": "demo_mm", "kind": "tis", "window": 5}  # demo_mm has no gtf
    raw["tasks"]["expr_bad"] = {"kind": "expression", "table": {"url": "https://example.org/x.txt.gz"}}
    raw["tasks"]["hex_bad"] = {"genome": "demo_hs", "kind": "tis", "hexamers": ["AATAAA"]}
    with pytest.raises(settings.ConfigError) as e:
        settings.load_config(raw)
    msg = str(e.value)
    assert "`annotations.demo_mm.gtf`: needed by tis task 'tis_mm'" in msg
    assert "`tasks.tis_mm.window`: tis window must be a number of bp >= 12" in msg
    assert "`tasks.expr_bad.table`: remote source" in msg
    assert "`tasks.hex_bad.hexamers`: only pas tasks take hexamers" in msg
