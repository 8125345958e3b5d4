"""dnalm.expression (Xpresso-format importer, regression splits), regression metrics, k-mer ridge."""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pytest
from dnalm import sim
from dnalm.dataset import read_card
from dnalm.datasets import build_dataset
from dnalm.expression import read_regression_split, read_xpresso
from dnalm.kmer_ridge import fit_kmer_ridge, kmer_frequencies
from dnalm.metrics import regression_metrics
from dnalm.sim.expression import PROMOTER_TSS

HEADER = "ENSID\tEXPRESSION\tUTR5LEN\tCDSLEN\tUTR5GC\tPROMOTER\n"


def _table(tmp_path, rows: list[str], name: str = "x.txt") -> object:
    p = tmp_path / name
    p.write_text(HEADER + "".join(r + "\n" for r in rows))
    return p


def test_read_xpresso_window_and_transforms(tmp_path):
    prom = "AAAACCCCGG" + "T" + "ACGTACGTAC"  # TSS (index 10) = T
    p = _table(tmp_path, [f"G1\t9.9\t99.9\t0\t0.5\t{prom.lower()}", f"G2\t0\t0.9\t9.9\t0.25\t{prom}"])
    rows, feats = read_xpresso(p, window=[-3, 2], promoter_tss=10)
    assert feats == ["UTR5LEN", "CDSLEN", "UTR5GC"]
    assert [r.sequence for r in rows] == ["CGGTAC", "CGGTAC"]
    assert rows[0].source_id == "G1" and rows[0].value == pytest.approx(1.0)  # log10(9.9 + 0.1)
    assert rows[0].features == pytest.approx((2.0, -1.0, 0.5))  # lengths log10(x + 0.1), GC kept
    assert rows[1].value == pytest.approx(-1.0) and rows[1].features == pytest.approx((0.0, 1.0, 0.25))


@pytest.mark.parametrize(
    "row, match",
    [
        ("G1\t1\t\t3\t0.5\tACGTACGTACGTACGTACGTA", r"x\.txt:3: missing value in column UTR5LEN"),
        ("G1\t1\t2\tNA\t0.5\tACGTACGTACGTACGTACGTA", r"x\.txt:3: missing value in column CDSLEN"),
        ("G1\tnan\t2\t3\t0.5\tACGTACGTACGTACGTACGTA", r"x\.txt:3: missing value in column EXPRESSION"),
        ("G1\t1\t2\t3\t0.5\t", r"x\.txt:3: missing value in column PROMOTER"),
        ("G1\t1\t2\t3\tabc\tACGTACGTACGTACGTACGTA", r"x\.txt:3: column UTR5GC: 'abc' is not a number"),
        ("G1\t1\t2\t3\tACGTACGTACGTACGTACGTA", r"x\.txt:3: expected 6 fields, got 5"),
        ("G1\t-1\t2\t3\t0.5\tACGTACGTACGTACGTACGTA", r"x\.txt:3: column EXPRESSION: negative"),
        ("G1\t1\t2\t3\t0.5\tACGTACGTACGTACG", r"x\.txt:3: PROMOTER has 15 bp"),
        ("G1\t1\t2\t3\t0.5\tACGTACGTACRTACGTACGTA", r"x\.txt:3: PROMOTER has non-ACGTN character 'R'"),
    ],
)
def test_read_xpresso_errors_name_file_and_line(tmp_path, row, match):
    good = "G0\t1\t2\t3\t0.5\tACGTACGTACGTACGTACGTA"
    p = _table(tmp_path, [good, row])
    with pytest.raises(ValueError, match=match):
        read_xpresso(p, window=[-5, 5], promoter_tss=10)


def test_read_xpresso_bad_header(tmp_path):
    p = tmp_path / "h.txt"
    p.write_text("id\tvalue\tPROMOTER\nG\t1\tACGT\n")
    with pytest.raises(ValueError, match=r"h\.txt:1: expected header"):
        read_xpresso(p, window=[0, 1], promoter_tss=0)


def test_regression_metrics():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    p = y + rng.normal(scale=0.5, size=200)
    m = regression_metrics(y, p, n_boot=300, random_state=1)
    r = float(np.corrcoef(y, p)[0, 1])
    assert m["pearson_r"] == pytest.approx(r) and m["r2"] == pytest.approx(r * r)
    assert m["r2_score"] == pytest.approx(1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2))
    for k in ("pearson_r", "r2", "r2_score"):
        lo, hi = m["ci"][k]
        assert lo < m[k] < hi
    assert regression_metrics(y, p, n_boot=300, random_state=1) == m  # seeded
    const = regression_metrics(y, np.zeros(200), n_boot=50)
    assert math.isnan(const["pearson_r"]) and math.isnan(const["ci"]["pearson_r"][0])
    with pytest.raises(ValueError, match="y_pred"):
        regression_metrics(y, p[:-1])


def test_kmer_frequencies_order_and_n():
    f = kmer_frequencies(["AACGN", "TT"], k=2)
    assert f.shape == (2, 16)
    # product("ACGT") order: AA=0, AC=1, CG=6; CN/GN skipped
    assert f[0, 0] == f[0, 1] == f[0, 6] == pytest.approx(1 / 3)
    assert f[1, 15] == 1.0


@pytest.fixture(scope="module")
def demo_table(tmp_path_factory):
    out = tmp_path_factory.mktemp("expr") / "w"
    sim.simulate_world(out, preset="human", seed=7, scale=0.3)
    return out / "expression.tsv.gz"


def test_demo_table_ties_expression_to_promoter(demo_table):
    with gzip.open(demo_table, "rt") as fh:
        header = fh.readline().rstrip("\n").split("\t")
    assert header == list(sim.expression.COLUMNS)
    rows, feats = read_xpresso(demo_table, window=[-PROMOTER_TSS, PROMOTER_TSS - 1], promoter_tss=PROMOTER_TSS)
    assert len(feats) == 8 and len(rows) >= 100
    assert all(len(r.sequence) == 2 * PROMOTER_TSS for r in rows)
    y = np.array([r.value for r in rows])
    gc = np.array([(r.sequence.count("G") + r.sequence.count("C")) / 500
                   for r in (r._replace(sequence=r.sequence[PROMOTER_TSS - 300 : PROMOTER_TSS + 200]) for r in rows)])  # fmt: skip
    assert np.corrcoef(y, gc)[0, 1] > 0.3 and y.std() > 0.3


def test_expression_dataset_and_ridge(demo_table, tmp_path):
    out = {**{s: tmp_path / f"{s}.tsv.gz" for s in ("train", "dev", "test")}, "card": tmp_path / "card.json"}
    spec = {"kind": "expression", "window": [-300, 199], "promoter_tss": PROMOTER_TSS}
    card = build_dataset("expr", spec, {"table": demo_table}, out, splits={"train": 0.6, "dev": 0.2, "test": 0.2, "seed": 3})
    c = read_card(out["card"])
    assert c.kind == "expression" and c.labels == () and c.window_length == 500 and c.tss_offset == 300
    parts = {s: read_regression_split(out[s]) for s in ("train", "dev", "test")}
    ids = [{r.source_id for r in parts[s][0]} for s in parts]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert sum(len(x) for x in ids) == card["n_total"] and all(parts[s][1] == parts["train"][1] for s in parts)
    m = fit_kmer_ridge({s: out[s] for s in ("train", "dev", "test")},
                       {"metrics": tmp_path / "m.json", "predictions": tmp_path / "p.tsv.gz"}, n_boot=200)  # fmt: skip
    assert json.loads((tmp_path / "m.json").read_text())["pearson_r"] == pytest.approx(m["pearson_r"])
    assert m["pearson_r"] > 0.5 and m["ci"]["r2"][0] < m["r2"] < m["ci"]["r2"][1]


def test_snakemake_builds_expression_and_pas_tasks(tmp_path):
    """The rules end to end on a small world: dataset_build (expression, pas) and expression_ridge."""
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    repo = Path(__file__).resolve().parents[1]
    cfg = yaml.safe_load((repo / "config/config.yaml").read_text())
    cfg["simulate"]["demo_t"] = {"preset": "human", "seed": 3, "scale": 0.3}
    w = "resources/demo/demo_t"
    cfg["genomes"]["demo_t"] = {"fasta": {"url": f"{w}/genome.fa.gz"}, "assembly_report": {"url": f"{w}/assembly_report.txt"}}
    cfg["annotations"]["demo_t"] = {"gtf": {"url": f"{w}/genes.gtf.gz"}}
    cfg["tasks"]["expr_t"] = {"kind": "expression", "table": {"url": f"{w}/expression.tsv.gz"}, "window": [-300, 199],
                              "promoter_tss": PROMOTER_TSS}  # fmt: skip
    cfg["tasks"]["pas_t"] = {"genome": "demo_t", "kind": "pas", "window": 60, "models": ["cnn"]}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    targets = ["results/finetune/expr_t/kmer_ridge/seed1/metrics.json", "results/datasets/pas_t/card.json"]
    r = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "--cores", "1", "--nolock",
                        "--configfile", "config.yaml", "--replace-workflow-config", *targets],
                       cwd=tmp_path, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    m = json.loads((tmp_path / targets[0]).read_text())
    assert m["model"] == "kmer_ridge" and m["pearson_r"] > 0.3, m
    assert (tmp_path / "results/finetune/expr_t/kmer_ridge/seed1/predictions.tsv.gz").is_file()
    assert read_card(tmp_path / "results/datasets/expr_t/card.json").kind == "expression"
    pas = read_card(tmp_path / targets[1])
    assert pas.kind == "pas" and pas.labels == (0, 1) and pas.window_length == 60
