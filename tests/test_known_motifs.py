"""Known motifs: MEME / JASPAR / TRANSFAC readers (dnalm.motif_formats), their bad-input errors,
the known_motifs_download rule (dnalm.motifs.fetch_known_motifs) and the config keys behind it."""

from __future__ import annotations

import gzip
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from dnalm import paths
from dnalm.meme import write_meme
from dnalm.motif_formats import (
    detect_format,
    read_jaspar,
    read_motifs,
    read_transfac,
    write_jaspar,
    write_transfac,
)
from dnalm.motifs import fetch_known_motifs
from dnalm.settings import ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]

# JASPAR's own layouts for MA0004.1 (Arnt): 20 sites, 6 positions.
ARNT_COUNTS = np.array(
    [[4, 16, 0, 0], [19, 0, 1, 0], [0, 20, 0, 0], [0, 0, 20, 0], [0, 0, 0, 20], [0, 0, 20, 0]],
    dtype=float,
)
JASPAR_TEXT = """>MA0004.1\tArnt
A  [     4     19      0      0      0      0 ]
C  [    16      0     20      0      0      0 ]
G  [     0      1      0     20      0     20 ]
T  [     0      0      0      0     20      0 ]
>MA0006.1\tAhr::Arnt
A  [     3.00      0.00      0.00      0.00      0.00      0.00 ]
C  [     8.00      0.00     23.00      0.00      0.00      0.00 ]
G  [     2.00     23.00      0.00     23.00      0.00     24.00 ]
T  [    11.00      1.00      1.00      1.00     24.00      0.00 ]
"""
TRANSFAC_TEXT = """AC MA0004.1
XX
ID Arnt
XX
DE MA0004.1 Arnt ; From JASPAR
PO\tA\tC\tG\tT
01\t4.0\t16.0\t0.0\t0.0
02\t19.0\t0.0\t1.0\t0.0
03\t0.0\t20.0\t0.0\t0.0
04\t0.0\t0.0\t20.0\t0.0
05\t0.0\t0.0\t0.0\t20.0
06\t0.0\t0.0\t20.0\t0.0
XX
CC tax_group:vertebrates
CC tf_family:PAS domain factors; PAS domain factors
CC pubmed_ids:7592839
CC data_type:SELEX
XX
//
AC MA0006.1
XX
ID Ahr::Arnt
XX
DE MA0006.1 Ahr::Arnt ; From JASPAR
PO\tA\tC\tG\tT
01\t3.0\t8.0\t2.0\t11.0
02\t0.0\t0.0\t23.0\t1.0
03\t0.0\t23.0\t0.0\t1.0
04\t0.0\t0.0\t23.0\t1.0
05\t0.0\t0.0\t0.0\t24.0
06\t0.0\t0.0\t24.0\t0.0
XX
CC tax_group:vertebrates
XX
//
"""


def _random_pwms(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"MA{i:04d}.{i % 3 + 1}": rng.dirichlet(np.ones(4) * 0.6, size=w)
            for i, w in enumerate([1, 6, 11, 19, 30])}  # fmt: skip


# ----------------------------------------------------------------------------- round trips


def test_meme_jaspar_transfac_round_trip_give_the_same_motifs(tmp_path):
    motifs = _random_pwms()
    nsites = {name: 7 + 13 * i for i, name in enumerate(motifs)}
    write_meme(tmp_path / "db.meme", motifs, nsites=nsites)
    write_jaspar(tmp_path / "db_jaspar.txt", motifs, nsites=nsites, names={"MA0001.2": "CTCF like"})
    write_transfac(tmp_path / "db_transfac.txt", motifs, nsites=nsites)
    reads = {fmt: read_motifs(tmp_path / f) for fmt, f in
             [("meme", "db.meme"), ("jaspar", "db_jaspar.txt"), ("transfac", "db_transfac.txt")]}  # fmt: skip
    for fmt, got in reads.items():
        assert list(got) == list(motifs), fmt
        for name, pwm in motifs.items():
            assert got[name].dtype == np.float64 and got[name].shape == pwm.shape
            np.testing.assert_allclose(got[name], pwm, atol=1e-6, err_msg=f"{fmt} {name}")
            np.testing.assert_allclose(got[name].sum(axis=1), 1.0, atol=1e-5)
    assert ">MA0001.2\tCTCF_like\n" in (tmp_path / "db_jaspar.txt").read_text()
    for f in ("db.meme", "db_jaspar.txt", "db_transfac.txt"):  # gzip-compressed databases read alike
        (tmp_path / f"{f}.gz").write_bytes(gzip.compress((tmp_path / f).read_bytes()))
        got = read_motifs(tmp_path / f"{f}.gz")
        assert list(got) == list(motifs) and all(np.allclose(got[k], motifs[k], atol=1e-6) for k in got)


def test_real_layouts_agree_with_each_other(tmp_path):
    (tmp_path / "j.txt").write_text(JASPAR_TEXT)
    (tmp_path / "t.txt").write_text(TRANSFAC_TEXT)
    jas, tra = read_motifs(tmp_path / "j.txt"), read_motifs(tmp_path / "t.txt")
    assert list(jas) == list(tra) == ["MA0004.1", "MA0006.1"]
    np.testing.assert_allclose(jas["MA0004.1"], ARNT_COUNTS / 20)
    for name in jas:
        np.testing.assert_allclose(jas[name], tra[name], atol=1e-12)
    write_meme(tmp_path / "m.meme", jas)  # JASPAR's MEME export carries the same ids
    meme = read_motifs(tmp_path / "m.meme")
    for name in jas:
        np.testing.assert_allclose(meme[name], jas[name], atol=1e-6)


def test_jaspar_variants_unlabelled_rows_other_letter_order_gzip(tmp_path):
    plain = ">m1 first\n4 19 0 0 0 0\n16 0 20 0 0 0\n0 1 0 20 0 20\n0 0 0 0 20 0\n"
    reordered = (">m1\nT [0 0 0 0 20 0]\nG [0 1 0 20 0 20]\n"
                 "a [4 19 0 0 0 0]\nC [16 0 20 0 0 0]\n")  # fmt: skip
    (tmp_path / "plain.pfm").write_text(plain)
    (tmp_path / "reordered.jaspar").write_text(reordered)
    (tmp_path / "crlf_jaspar.txt.gz").write_bytes(gzip.compress(plain.replace("\n", "\r\n").encode()))
    for f in ("plain.pfm", "reordered.jaspar", "crlf_jaspar.txt.gz"):
        np.testing.assert_allclose(read_motifs(tmp_path / f)["m1"], ARNT_COUNTS / 20, err_msg=f)


def test_transfac_classic_layout_p0_and_consensus_column(tmp_path):
    rows = "".join(f"{i:02d} {int(a):6d} {int(c):6d} {int(g):6d} {int(t):6d}      N\n"
                   for i, (a, c, g, t) in enumerate(ARNT_COUNTS, start=1))  # fmt: skip
    text = ("VV  TRANSFAC MATRIX TABLE, Release 2.0\nXX\n//\n"  # a header record without a matrix
            "ID  arnt_like\nXX\nP0      A      C      G      T\n" + rows + "XX\n//\n")  # fmt: skip
    (tmp_path / "classic.dat").write_text(text)
    got = read_motifs(tmp_path / "classic.dat")
    assert list(got) == ["arnt_like"]  # no AC: the ID names it
    np.testing.assert_allclose(got["arnt_like"], ARNT_COUNTS / 20)


def test_format_is_told_by_content_before_extension(tmp_path):
    (tmp_path / "a.meme").write_text(JASPAR_TEXT)  # misleading extension: content wins
    (tmp_path / "b.txt").write_text(TRANSFAC_TEXT)
    write_meme(tmp_path / "c.jaspar", {"x": ARNT_COUNTS / 20})
    assert [detect_format(tmp_path / f) for f in ("a.meme", "b.txt", "c.jaspar")] == \
        ["jaspar", "transfac", "meme"]  # fmt: skip
    (tmp_path / "empty_jaspar.txt").write_text("\n")
    assert detect_format(tmp_path / "empty_jaspar.txt") == "jaspar"
    with pytest.raises(ValueError, match=r"empty_jaspar\.txt:1: no '>ID name' header"):
        read_motifs(tmp_path / "empty_jaspar.txt")
    (tmp_path / "odd.txt").write_text("\n\nhello world\n")
    with pytest.raises(ValueError, match=r"odd\.txt:3: not a known-motif file"):
        read_motifs(tmp_path / "odd.txt")
    with pytest.raises(ValueError, match="`fmt` must be"):
        read_motifs(tmp_path / "b.txt", fmt="homer")


def test_tomtom_matches_are_the_same_for_meme_and_jaspar_targets(tmp_path):
    """TOMTOM against the JASPAR file of a database gives the matches of its MEME file."""
    from dnalm.sim.presets import PWMS
    from dnalm.tomtom import match_motifs

    rng = np.random.default_rng(3)
    targets = {name: np.asarray(p, float) for name, p in PWMS.items()}
    queries = {f"q_{n}": np.clip(p + rng.normal(0, 0.05, p.shape), 0.01, None) for n, p in targets.items()}
    write_meme(tmp_path / "q.meme", {k: v / v.sum(1, keepdims=True) for k, v in queries.items()})
    write_meme(tmp_path / "t.meme", targets, nsites={n: 500 for n in targets})
    write_jaspar(tmp_path / "t_jaspar.txt", targets, nsites={n: 500 for n in targets})
    write_transfac(tmp_path / "t_transfac.txt", targets, nsites={n: 500 for n in targets})
    ref = match_motifs(tmp_path / "q.meme", tmp_path / "t.meme")
    assert len(ref) == len(queries) * len(targets)
    for other in ("t_jaspar.txt", "t_transfac.txt"):
        got = match_motifs(tmp_path / "q.meme", tmp_path / other)
        assert got[["query", "target", "strand", "offset"]].equals(ref[["query", "target", "strand", "offset"]])
        np.testing.assert_allclose(got["p"], ref["p"], rtol=1e-4, atol=1e-12)
    best = ref.sort_values("p").groupby("query").head(1)
    assert all(best["target"] == best["query"].str[2:])  # each noisy copy finds its own PWM


def test_simulator_writes_the_truth_motifs_in_jaspar_format_too(tmp_path):
    from dnalm import sim

    world = tmp_path / "w"
    sim.simulate_world(world, preset="mouse", seed=3, scale=0.1,
                       peaks={"CTCF_mm": {"motif": "CTCF_like", "n": 50}})  # fmt: skip
    meme = read_motifs(world / "truth/motifs.meme")
    text = (world / "truth/motifs.jaspar").read_text()
    jaspar = read_motifs(world / "truth/motifs.jaspar")
    assert detect_format(world / "truth/motifs.jaspar") == "jaspar"
    assert list(jaspar) == list(meme) == ["CTCF_like", "TATA_like"]
    for name in meme:
        np.testing.assert_allclose(jaspar[name], meme[name], atol=1e-6)
    nsites = re.search(r"MOTIF CTCF_like\nletter-probability matrix: .* nsites= (\d+)",
                       (world / "truth/motifs.meme").read_text()).group(1)  # fmt: skip
    first_col = [float(ln.split("[")[1].split()[0]) for ln in text.splitlines()[1:5]]
    assert sum(first_col) == pytest.approx(int(nsites))  # counts = planted sites
    assert "truth/motifs.jaspar" in sim.output_files(sim.peak_experiments("human"))
    cfg = load_config(yaml.safe_load((REPO / "config/config.yaml").read_text()))
    assert paths.known_motif_inputs(cfg, "tf_ctcf") == ["resources/known_motifs/demo_truth.txt"]
    assert paths.known_motif_source_inputs(cfg, "demo_truth") == [
        "resources/demo/demo_hs/truth/motifs.jaspar"
    ]


# ----------------------------------------------------------------------------- bad input


def _err(tmp_path: Path, name: str, text: str, reader) -> str:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError) as e:
        reader(path)
    return str(e.value)


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        (">m1 x\nA [1 2]\nC [1 2]\nG [1 2]\n", 4, "has 3 matrix rows, expected 4"),  # truncated at EOF
        (">m1 x\nA [1 2]\nC [1 2]\n>m2 y\nA [1]\nC [1]\nG [1]\nT [1]\n", 4, "has 2 matrix rows"),
        (">m1 x\nA [1 2]\nC [1 2 3]\nG [1 2]\nT [1 2]\n", 3, "rows of unequal length"),
        (">m1 x\nA [1 2]\nC [1 two]\nG [1 2]\nT [1 2]\n", 3, "'two' is not a number"),
        (">m1 x\nA [1 2]\nC [1 -2]\nG [1 2]\nT [1 2]\n", 3, "not a finite count"),
        ("A [1 2]\nC [1 2]\nG [1 2]\nT [1 2]\n", 1, "before any '>ID name' header"),
        ("\n>\nA [1]\nC [1]\nG [1]\nT [1]\n", 2, "header without a matrix id"),
        (">m1\nA [1]\nC [1]\nG [1]\nT [1]\n>m1\nA [1]\nC [1]\nG [1]\nT [1]\n", 6, "duplicate motif id 'm1'"),
        (">m1\nA [1 0]\nC [1 0]\nG [1 0]\nT [1 0]\n", 1, "position 2 has no counts"),
        (">m1\nA [1]\nA [1]\nG [1]\nT [1]\n", 2, "expected each of A, C, G, T once"),
        (">m1\nA [1]\nC [1]\nG [1]\nT [1]\nT [1]\n", 6, "more than 4 rows"),
        (">m1\nA [1]\nC [1]\nG [1]\nX [1]\n", 5, "malformed matrix row"),
    ],
)
def test_jaspar_bad_input_names_file_and_line(tmp_path, text, line, what):
    msg = _err(tmp_path, "bad_jaspar.txt", text, read_jaspar)
    assert msg.startswith(f"{tmp_path / 'bad_jaspar.txt'}:{line}: "), msg
    assert what in msg, msg


def _transfac(rows: str, head: str = "AC MA1.1\nXX\nID m\nXX\nPO\tA\tC\tG\tT\n", tail: str = "XX\n//\n") -> str:
    return head + rows + tail


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        (_transfac("01\t1\t2\t3\t4\n02\t1\t2\t3\t4\n", tail=""), 7, "not closed by '//'"),  # truncated
        (_transfac("01\t1\t2\t3\t4\n02\t1\t2\t3\n"), 7, "has 3 values, expected 4"),
        (_transfac("01\t1\t2\t3\t4\n02\t1\tx\t3\t4\n"), 7, "'x' is not a number"),
        (_transfac("01\t1\t2\t3\t4\n03\t1\t2\t3\t4\n"), 7, "position 03 follows position 1"),
        (_transfac("01\t1\t2\t3\t4\n", head="XX\nPO\tA\tC\tG\tT\n"), 5, "has no AC or ID line"),
        (_transfac("01\t1\t2\t3\t4\n", head="AC m\nP0\tA\tC\tG\tU\n"), 2, "expected A, C, G, T"),
        (_transfac("", head="AC m\nXX\n"), 4, "has no P0/PO matrix"),
        ("AC m\n01\t1\t2\t3\t4\n//\n", 2, "matrix row outside a P0/PO block"),
        (_transfac("01\t0\t0\t0\t0\n"), 5, "position 1 has no counts"),
        ("AC m\nthis is not transfac\n//\n", 2, "expected a two-letter TRANSFAC tag"),
    ],
)
def test_transfac_bad_input_names_file_and_line(tmp_path, text, line, what):
    msg = _err(tmp_path, "bad_transfac.txt", text, read_transfac)
    assert msg.startswith(f"{tmp_path / 'bad_transfac.txt'}:{line}: "), msg
    assert what in msg, msg


def test_transfac_duplicate_id_and_empty_file(tmp_path):
    rec = _transfac("01\t1\t2\t3\t4\n")
    msg = _err(tmp_path, "dup.tf", rec + rec, read_transfac)
    assert re.match(rf"{re.escape(str(tmp_path / 'dup.tf'))}:16: duplicate motif id 'MA1.1'", msg), msg
    msg = _err(tmp_path, "none.tf", "XX\n", read_transfac)
    assert "not closed by '//'" in msg


# ----------------------------------------------------------------------------- fetching


@pytest.fixture
def jaspar_served(http_server):
    (http_server.root / "JASPAR_test_jaspar.txt").write_text(JASPAR_TEXT)
    (http_server.root / "broken_jaspar.txt").write_text(JASPAR_TEXT.replace("20      0 ]", "20 ]", 1))
    return http_server


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_fetch_known_motifs_good_checksum(jaspar_served, tmp_path):
    src = {"url": jaspar_served.url("JASPAR_test_jaspar.txt"),
           "md5": _md5(jaspar_served.root / "JASPAR_test_jaspar.txt")}  # fmt: skip
    dest = tmp_path / "resources/known_motifs/jaspar.txt"
    info = fetch_known_motifs(src, dest)
    assert dest.read_text() == JASPAR_TEXT  # the bytes as published
    assert info == {"url": src["url"], "format": "jaspar", "n_motifs": 2, "widths": [6, 6]}
    assert list(read_motifs(dest)) == ["MA0004.1", "MA0006.1"]
    assert sorted(p.name for p in dest.parent.iterdir()) == ["jaspar.txt"]


def test_fetch_known_motifs_wrong_checksum_writes_nothing(jaspar_served, tmp_path):
    src = {"url": jaspar_served.url("JASPAR_test_jaspar.txt"), "md5": "0" * 32}
    dest = tmp_path / "known/jaspar.txt"
    with pytest.raises(ValueError, match="md5 mismatch"):
        fetch_known_motifs(src, dest)
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_fetch_known_motifs_bad_content_names_url_and_line(jaspar_served, tmp_path):
    url = jaspar_served.url("broken_jaspar.txt")
    dest = tmp_path / "known/broken.txt"
    with pytest.raises(ValueError) as e:
        fetch_known_motifs({"url": url, "checksum": "none"}, dest)
    assert str(e.value).startswith(f"{url}:5: ") and "unequal length" in str(e.value)
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_known_motifs_download_rule(jaspar_served, tmp_path):
    """Rule known_motifs_download run by Snakemake: a good and a wrong checksum."""
    for name in ("Snakefile", "workflow"):
        (tmp_path / name).symlink_to(REPO / name)
    (tmp_path / "config").mkdir()
    (tmp_path / "toy.fa").write_text(">chr1\nACGT\n")
    url = jaspar_served.url("JASPAR_test_jaspar.txt")
    md5 = _md5(jaspar_served.root / "JASPAR_test_jaspar.txt")
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump({
        "genomes": {"toy": {"fasta": {"url": "toy.fa"}}},
        "motifs": {"known_motifs": {"toy": "good"},
                   "sources": {"good": {"url": url, "md5": md5}, "bad": {"url": url, "md5": "f" * 32}}},
    }))  # fmt: skip

    def run(target: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", target],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)  # fmt: skip

    good = run("resources/known_motifs/good.txt")
    assert good.returncode == 0, good.stderr[-3000:]
    assert (tmp_path / "resources/known_motifs/good.txt").read_text() == JASPAR_TEXT
    log = (tmp_path / "logs/known_motifs_download/good.log").read_text()
    assert "2 jaspar-format motifs" in log
    bad = run("resources/known_motifs/bad.txt")
    assert bad.returncode != 0
    assert not (tmp_path / "resources/known_motifs/bad.txt").exists()
    assert "md5 mismatch" in (tmp_path / "logs/known_motifs_download/bad.log").read_text()


# ----------------------------------------------------------------------------- config


def _config(**motifs) -> dict:
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg["motifs"].update(motifs)
    return cfg


@pytest.mark.parametrize(
    ("ref", "problem"),
    [
        ("jaspar2024", "is not a key of `motifs.sources`"),
        ("/data/JASPAR2024_jaspar.txt", "must be a path relative to the project"),
        ("file:///data/x.meme", "must be a path relative to the project"),
        ("../outside/x.meme", "leaves the project directory"),
        ("resources/../../x.meme", "leaves the project directory"),
    ],
)
def test_known_motifs_must_name_a_source_or_a_project_path(ref, problem):
    with pytest.raises(ConfigError) as e:
        load_config(_config(known_motifs={"demo_hs": ref}))
    assert "motifs.known_motifs.demo_hs" in str(e.value) and problem in str(e.value)


def test_known_motif_sources_need_a_checksum_and_resolve_to_files():
    bad = {"db": {"url": "https://jaspar.elixir.no/download/x_jaspar.txt"}}
    with pytest.raises(ConfigError, match=r"motifs\.sources\.db.*needs md5, sha256 or checksums_url"):
        load_config(_config(sources=bad, known_motifs={"demo_hs": "db"}))
    with pytest.raises(ConfigError, match=r"motifs\.sources\.db\.md5"):
        load_config(_config(sources={"db": {"url": "https://x.org/a.txt", "md5": "nothex"}}))
    ok = {"db": {"url": "https://jaspar.elixir.no/download/x_jaspar.txt", "sha256": "a" * 64}}
    cfg = load_config(_config(sources=ok, known_motifs={"demo_hs": "db"}))
    assert paths.known_motif_inputs(cfg, "tf_ctcf") == [paths.known_motif_file("db")]
    assert paths.known_motif_source(cfg, "db") == ok["db"]
    assert paths.known_motif_source_inputs(cfg, "db") == []
    local = load_config(_config(known_motifs={"demo_hs": "resources/my motifs/db.transfac"}))
    assert paths.known_motif_inputs(local, "tf_ctcf") == ["resources/my motifs/db.transfac"]
    # adding or changing a database selects jobs, it does not change motif_discover's params
    assert "sources" not in paths.rule_params(cfg, "motifs")
    assert paths.rule_params(cfg, "motifs") == paths.rule_params(local, "motifs")


def test_production_configs_fetch_jaspar_2024_with_every_source_pinned_or_opted_out():
    hg = yaml.safe_load((REPO / "config/hg38.yaml").read_text())
    mm = yaml.safe_load((REPO / "config/mm10.yaml").read_text())
    for cfg, genomes in ((hg, ["hg38", "hg19"]), (mm, ["mm10"])):
        src = cfg["motifs"]["sources"]["jaspar2024_vertebrates"]
        assert src["url"].endswith("/2024/CORE/JASPAR2024_CORE_vertebrates_non-redundant_pfms_jaspar.txt")
        assert all(cfg["motifs"]["known_motifs"][g] == "jaspar2024_vertebrates" for g in genomes)
    clinvar = hg["annotations"]["hg38"]["clinvar"]
    assert re.search(r"/clinvar_20\d{6}\.vcf\.gz$", clinvar["url"]) and clinvar.get("md5")
    merged = load_config({**hg, **{k: v for k, v in mm.items() if k not in hg},
                          "genomes": {**hg["genomes"], **mm["genomes"]},
                          "annotations": {**hg["annotations"], **mm["annotations"]},
                          "tasks": {**hg["tasks"], **mm["tasks"]},
                          "motifs": {**hg["motifs"], "known_motifs": {
                              **hg["motifs"]["known_motifs"], **mm["motifs"]["known_motifs"]}}})  # fmt: skip
    assert paths.known_motif_inputs(merged, "prom300_mm10") == ["resources/known_motifs/jaspar2024_vertebrates.txt"]
