"""The ``dnalm`` subcommands as Snakemake rules (workflow/rules/usemodel.smk): config blocks
``predict`` / ``embed`` / ``scan`` / ``score``, their checks, the command lines they stand for,
dry runs of the demo, and a real run whose outputs equal the command's on the same inputs."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from dnalm import paths
from dnalm.cli import main as dnalm_main
from dnalm.settings import ConfigError, load_config
from dnalm.settings.checks import model_ref
from dnalm.split_fasta import write_split_fasta
from dnalm.usemodel import command_argv

from tests.cli_models import random_classifier
from tests.synth import make_lm
from tests.workflow_copy import copy_workflow

REPO = Path(__file__).resolve().parents[1]
SECTIONS = ("predict", "embed", "scan", "score")


def _demo() -> dict:
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def _snakemake(*args: str, cwd: Path = REPO, cores: int = 1) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores), *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300)  # fmt: skip


# ----------------------------------------------------------------------------- config


def test_demo_blocks_resolve_to_runs_inputs_and_outputs():
    c = load_config(_demo())
    assert all(getattr(c, s) for s in SECTIONS)
    ref = model_ref(c, "prom300_notata/dnabert6_tiny/seed1")
    assert (ref.kind, ref.path) == ("run", "results/finetune/prom300_notata/dnabert6_tiny/seed1/model")
    inp = paths.usemodel_inputs(c, "predict", "prom300_notata_test")
    assert inp == {"model": ref.path, "model_card": "results/datasets/prom300_notata/card.json",
                   "seqs": "results/datasets/prom300_notata/test.fa"}
    scan = paths.usemodel_inputs(c, "scan", "prom300_chrX")
    assert scan["fasta"] == "resources/genomes/demo_hs/genome.fa.gz" and "gzi" in scan
    score = paths.usemodel_inputs(c, "score", "tf_ctcf_dbsnp")
    assert score["lm"] == "results/pretrain/dnabert6_tiny/model"
    assert score["vcf"] == "resources/annotations/demo_hs/dbsnp.vcf.gz"
    assert c.score["tf_ctcf_dbsnp"].regions and "regions" not in score  # intervals, not a file
    final = paths.final_outputs(c)
    for section in SECTIONS:
        for name in getattr(c, section):
            assert set(paths.usemodel_outputs(section, name).values()) <= set(final)
    assert paths.usemodel_outputs("scan", "x") == {
        "bedgraph": "results/scan/x/scan.bedGraph", "bigwig": "results/scan/x/scan.bw",
        "bed": "results/scan/x/scan.bed", "json": "results/scan/x/scan.json"}
    # nothing configured, nothing added
    raw = _demo()
    for s in SECTIONS:
        raw.pop(s)
    assert not [f for f in paths.final_outputs(load_config(raw))
                if f.split("/")[1] in SECTIONS]  # fmt: skip


@pytest.mark.parametrize(
    ("section", "name", "change", "key", "words"),
    [
        ("predict", "prom300_notata_test", {"model": "prom300_notata/cnn/seed1"}, "model", "baseline"),
        ("predict", "prom300_notata_test", {"model": "prom300_notata/dnabert6_tiny/seed9"}, "model", "seed 9"),
        ("predict", "prom300_notata_test", {"model": "tf_ctcf/nope/seed1"}, "model", "not fine-tuned"),
        ("predict", "prom300_notata_test", {"model": "dnabert6_tiny"}, "model", "language model"),
        ("predict", "prom300_notata_test", {"model": "/abs/model"}, "model", "relative"),
        ("predict", "prom300_notata_test", {"fasta": "../outside.fa"}, "fasta", "leaves the project"),
        ("predict", "prom300_notata_test", {"bed": "x.bed"}, "", "exactly one of fasta and bed"),
        ("predict", "prom300_notata_test", {"fasta": None, "bed": "x.bed"}, "genome", "required with bed"),
        ("embed", "prom300_notata_test", {"fasta": "file:///etc/x.fa"}, "fasta", "relative"),
        ("scan", "prom300_chrX", {"genome": "hg99"}, "genome", "unknown genome"),
        ("scan", "prom300_chrX", {"regions": "r.bed"}, "", "at most one of contigs and regions"),
        ("scan", "prom300_chrX", {"threshold": 1.5}, "threshold", "less than or equal to 1"),
        ("score", "tf_ctcf_dbsnp", {"lm": "tf_ctcf/dnabert6_tiny/seed1"}, "lm", "fine-tuned classifier"),
        ("score", "tf_ctcf_dbsnp", {"vcf": "C:/data/x.vcf"}, "vcf", "relative"),
        ("score", "tf_ctcf_dbsnp", {"regions": ["chr1:1-10", "chr9"]}, "regions[1]",
         "contig 'chr9' is not in genome 'demo_hs' (it has chr1, chr2, chrX)"),
        ("score", "tf_ctcf_dbsnp", {"regions": ["chr1:10-1"]}, "regions[0]", "START must be"),
        ("score", "tf_ctcf_dbsnp", {"regions": ["chr1:10"]}, "regions[0]", "CHR:START-END"),
        ("score", "tf_ctcf_dbsnp", {"regions": []}, "regions", "at least 1 item"),
    ],
)
def test_bad_runs_are_refused_naming_the_config_key(section, name, change, key, words):
    raw = copy.deepcopy(_demo())
    raw[section][name].update(change)
    raw[section][name] = {k: v for k, v in raw[section][name].items() if v is not None}
    with pytest.raises(ConfigError) as e:
        load_config(raw)
    where = f"`{section}.{name}" + (f".{key}`" if key else "`")
    assert where in str(e.value) and words in str(e.value), str(e.value)


def test_run_names_become_path_components_so_unsafe_ones_are_refused():
    raw = _demo()
    raw["scan"]["../x"] = raw["scan"].pop("prom300_chrX")
    with pytest.raises(ConfigError, match=r"scan\.\.\./x"):
        load_config(raw)


def test_a_project_path_and_an_lm_key_are_models_too():
    raw = _demo()
    raw["embed"]["lm"] = {"model": "dnabert6_tiny", "fasta": "mine/seqs.fa"}
    raw["predict"]["mine"] = {"model": "models/my_clf", "fasta": "mine/seqs.fa", "window": 300}
    c = load_config(raw)
    assert paths.usemodel_inputs(c, "embed", "lm")["model"] == "results/pretrain/dnabert6_tiny/model"
    assert paths.usemodel_inputs(c, "predict", "mine") == {"model": "models/my_clf",
                                                           "seqs": "mine/seqs.fa"}


def test_command_lines():
    out = paths.usemodel_outputs("scan", "s")
    argv = command_argv("scan", {"model": "m", "genome": "g", "contigs": ["chr1", "chr2"],
                                 "stride": 50, "threshold": 0.9, "strand": "both", "batch_size": 8},
                        {"model": "m/model", "fasta": "g.fa.gz", "fai": "x", "gzi": "y",
                         "model_card": "c.json"}, out, threads=2)  # fmt: skip
    assert argv == ["scan", "m/model", "--genome", "g.fa.gz", "--card", "c.json",
                    "--contigs", "chr1,chr2", "--stride", "50", "--threshold", "0.9",
                    "--strand", "both", "--batch-size", "8", "--threads", "2", "--quiet",
                    "-o", "results/scan/s/scan"]  # fmt: skip
    argv = command_argv("predict", {"rc_average": True, "window_policy": "centre"},
                        {"model": "m", "bed": "b.bed", "fasta": "g.fa"},
                        paths.usemodel_outputs("predict", "p"))
    assert argv == ["predict", "m", "--bed", "b.bed", "--genome", "g.fa", "--window-policy",
                    "centre", "--rc-average", "--batch-size", "64", "--quiet", "-o",
                    "results/predict/p/predictions.tsv"]  # fmt: skip
    argv = command_argv("score", {"strict_ref": False}, {"model": "m", "vcf": "v", "fasta": "g",
                                                         "lm": "l"},
                        paths.usemodel_outputs("score", "v"))
    assert argv[0] == "score-variants" and argv[-2:] == ["-o", "results/score/v/variants"]
    assert "--strict-ref" not in argv and argv[argv.index("--lm") + 1] == "l"
    argv = command_argv("score", {"regions": ["chr1:1-1,000", "chrX"]},
                        {"model": "m", "vcf": "v", "fasta": "g"}, paths.usemodel_outputs("score", "v"))
    assert argv[4:10] == ["--genome", "g", "--region", "chr1:1-1,000", "--region", "chrX"]
    with pytest.raises(ValueError, match="share one prefix"):
        command_argv("scan", {}, {"model": "m", "fasta": "g"},
                     {**out, "bed": "elsewhere/regions.bed"})


def test_split_fasta_names_records_by_split_and_row(tmp_path):
    import pandas as pd

    df = pd.DataFrame({"sequence": ["ACGTAC" * 20, "ttgca"], "label": [1, 0],
                       "contig": ["chr1", "chr2"], "start": [5, 9], "end": [125, 14],
                       "strand": ["+", "-"], "source_id": ["a", "b"]})  # fmt: skip
    split = tmp_path / "test.tsv.gz"
    df.to_csv(split, sep="\t", index=False)
    assert write_split_fasta(split, tmp_path / "t.fa", "test") == 2
    lines = (tmp_path / "t.fa").read_text().splitlines()
    assert lines[0] == ">test:0 label=1 source_id=a contig=chr1 start=5 end=125 strand=+"
    assert "".join(lines[1:3]) == "ACGTAC" * 20 and lines[3].startswith(">test:1 label=0")
    assert lines[4] == "TTGCA"


# ----------------------------------------------------------------------------- Snakemake


def test_dry_run_of_the_demo_plans_each_command_once():
    targets = [f for s in SECTIONS for f in paths.usemodel_final_outputs(load_config(_demo()))
               if f.startswith(f"results/{s}/")]  # fmt: skip
    r = _snakemake("-n", *targets, "--quiet", "rules")
    assert r.returncode == 0, r.stdout + r.stderr
    stats = r.stdout + r.stderr
    for rule in ("dataset_fasta", "dnalm_predict", "dnalm_embed", "dnalm_scan", "dnalm_score"):
        assert any(line.split() == [rule, "1"] for line in stats.splitlines()), (rule, stats)
    # the fine-tuned models, the prepared genome and the normalised dbSNP come first
    for rule in ("bert_finetune", "genome_prepare", "vcf_normalise", "bert_pretrain"):
        assert rule in stats


def test_bad_block_fails_before_any_job(tmp_path):
    raw = _demo()
    raw["score"]["tf_ctcf_dbsnp"]["vcf"] = "/etc/passwd.vcf"
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(raw))
    r = _snakemake("-n", "--configfile", str(p), "--replace-workflow-config")
    assert r.returncode != 0 and "score.tf_ctcf_dbsnp.vcf" in r.stdout + r.stderr


K, W = 3, 64


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """A workflow copy with a tiny genome, classifier, LM, FASTA and VCF; all four rules run."""
    wf = copy_workflow(tmp_path_factory.mktemp("usemodel") / "wf")
    data = wf / "data"
    data.mkdir()
    rng = np.random.default_rng(3)
    chroms = {"chr1": "".join(rng.choice(list("ACGT"), 3000)),
              "chr2": "".join(rng.choice(list("ACGT"), 1500))}  # fmt: skip
    (data / "g.fa").write_text("".join(f">{c}\n{s}\n" for c, s in chroms.items()))
    random_classifier(data / "clf", K, window=None)  # no task card: the window comes from config
    make_lm(data / "lm", k=K, max_positions=80, hidden=16)
    (data / "seqs.fa").write_text("".join(f">s{i}\n{chroms['chr1'][i * 70 : i * 70 + W]}\n"
                                          for i in range(12)))  # fmt: skip
    c1 = chroms["chr1"]
    alt = {b: "ACGT"[("ACGT".index(b) + 1) % 4] for b in "ACGT"}
    (data / "v.vcf").write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"chr1\t500\tsnv\t{c1[499]}\t{alt[c1[499]]}\t.\t.\t.\n"
        f"chr1\t900\tins\t{c1[899]}\t{c1[899]}GG\t.\t.\t.\n"
        f"chr1\t1200\tdel\t{c1[1199:1202]}\t{c1[1199]}\t.\t.\t.\n")
    (data / "sites.bed").write_text("chr1 100 160\nchr1 2000 2060\nchr2 10 70\n")  # space-separated
    cfg = {
        "genomes": {"g1": {"fasta": {"url": "data/g.fa"}}},
        "predict": {"p": {"model": "data/clf", "fasta": "data/seqs.fa", "rc_average": True, "window": W}},
        "embed": {"e": {"model": "data/lm", "fasta": "data/seqs.fa", "pool": "mean", "batch_size": 5}},
        "scan": {"s": {"model": "data/clf", "genome": "g1", "contigs": ["chr1"], "stride": 20,
                       "threshold": 0.5, "window": W, "truth": "data/sites.bed"}},
        "score": {"v": {"model": "data/clf", "genome": "g1", "vcf": "data/v.vcf", "lm": "data/lm",
                        "window": W}},
    }  # fmt: skip
    (wf / "run.yaml").write_text(yaml.safe_dump(cfg))
    targets = paths.usemodel_final_outputs(load_config(cfg))
    r = _snakemake("--configfile", "run.yaml", "--replace-workflow-config", *targets, cwd=wf)
    assert r.returncode == 0, r.stdout + r.stderr
    return wf


def _cli(wf: Path, *argv: str) -> None:
    assert dnalm_main([*argv, "--threads", "1", "--quiet"]) == 0


@pytest.mark.slow  # one Snakemake run of five jobs: ~35 s of CPU, about a minute of wall time
def test_rule_outputs_equal_the_commands_outputs(ran, tmp_path):
    wf, d = ran, ran / "data"
    genome = wf / "resources/genomes/g1/genome.fa.gz"
    _cli(wf, "predict", str(d / "clf"), "--fasta", str(d / "seqs.fa"), "--rc-average", "--window", "64", "-o",
         str(tmp_path / "p.tsv"))
    assert (wf / "results/predict/p/predictions.tsv").read_text() == (tmp_path / "p.tsv").read_text()
    _cli(wf, "embed", str(d / "lm"), "--fasta", str(d / "seqs.fa"), "--pool", "mean", "-o",
         str(tmp_path / "e.npy"))
    got = np.load(wf / "results/embed/e/embeddings.npy")
    assert got.shape == (12, 16) and np.array_equal(got, np.load(tmp_path / "e.npy"))
    assert ((wf / "results/embed/e/embeddings.index.tsv").read_text()
            == (tmp_path / "e.index.tsv").read_text())  # fmt: skip
    _cli(wf, "scan", str(d / "clf"), "--genome", str(genome), "--contigs", "chr1", "--stride",
         "20", "--window", "64", "-o", str(tmp_path / "s"))
    for ext in ("bedGraph", "bed"):
        assert (wf / f"results/scan/s/scan.{ext}").read_text() == (tmp_path / f"s.{ext}").read_text()
    assert len((tmp_path / "s.bedGraph").read_text().splitlines()) == (3000 - W) // 20 + 1
    truth = json.loads((wf / "results/scan/s/scan.json").read_text())["truth"]
    assert truth["n_sites"] == 2 and truth["n_regions"] == len((tmp_path / "s.bed").read_text().splitlines())
    _cli(wf, "score-variants", str(d / "clf"), "--vcf", str(d / "v.vcf"), "--genome",
         str(genome), "--lm", str(d / "lm"), "--window", "64", "-o", str(tmp_path / "v"))
    rule_tsv = (wf / "results/score/v/variants.tsv").read_text()
    assert rule_tsv == (tmp_path / "v.tsv").read_text()
    assert [ln.split("\t")[6] for ln in rule_tsv.splitlines()[1:]] == ["scored"] * 3


@pytest.mark.slow
def test_rules_write_logs_and_benchmarks(ran):
    for rule, name in (("dnalm_predict", "p"), ("dnalm_embed", "e"), ("dnalm_scan", "s"),
                       ("dnalm_score", "v")):
        log = (ran / f"logs/{rule}/{name}.log").read_text()
        assert f"dnalm {rule.split('_')[1].replace('score', 'score-variants')} " in log
        assert (ran / f"benchmarks/{rule}/{name}.tsv").is_file()
