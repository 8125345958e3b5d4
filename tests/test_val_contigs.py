"""genomes.<g>.val_contigs: held-out validation contigs for pretraining (config checks, the
per-contig corpus settings, the check against the prepared contigs, and a corpus run)."""

from __future__ import annotations

import copy
import hashlib
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from dnalm.corpus import contig_settings, shard_files
from dnalm.settings import ConfigError, load_config

from tests.workflow_copy import copy_workflow

REPO = Path(__file__).resolve().parents[1]
CORPUS = {"min_len": 10, "max_len": 510, "coverage": 2, "seed": 1, "val_fraction": 0.02}


def test_without_val_contigs_every_contig_gets_the_corpus_section():
    assert contig_settings(CORPUS, [], "chr1") == CORPUS


def test_a_val_contig_is_validation_only_in_one_pass_and_the_rest_training_only():
    assert contig_settings(CORPUS, ["chr21"], "chr21") == {**CORPUS, "val_fraction": 1.0, "coverage": 1}
    assert contig_settings(CORPUS, ["chr21"], "chr1") == {**CORPUS, "val_fraction": 0.0}
    assert CORPUS["val_fraction"] == 0.02  # the section itself is left alone


def _sizes(tmp_path: Path, names: list[str]) -> Path:
    p = tmp_path / "chrom.sizes"
    p.write_text("".join(f"{n}\t1000\n" for n in names))
    return p


def test_shard_files_refuses_val_contigs_the_genome_lacks(tmp_path):
    sizes = _sizes(tmp_path, ["chr1", "chr2"])
    assert len(shard_files(sizes, "s", ["chr2"], "genomes.g.val_contigs")) == 6
    with pytest.raises(ValueError, match=r"genomes\.g\.val_contigs: 'chr21' not among the prepared "
                                         r"contigs \(.*chrom\.sizes: chr1, chr2\)"):
        shard_files(sizes, "s", ["chr2", "chr21"], "genomes.g.val_contigs")
    with pytest.raises(ValueError, match=r"genomes\.g\.val_contigs: every contig of .* is held out"):
        shard_files(sizes, "s", ["chr1", "chr2"], "genomes.g.val_contigs")


def _demo_config() -> dict:
    return copy.deepcopy(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))


@pytest.mark.parametrize(
    ("val_contigs", "key", "problem"),
    [
        (["chr99"], "genomes.demo_hs.val_contigs[0]", "is not a contig of genome 'demo_hs'"),
        (["chrM"], "genomes.demo_hs.val_contigs[0]", "is not kept by genomes.demo_hs.contigs"),
        (["chr2", "chr2"], "genomes.demo_hs.val_contigs[1]", "is listed twice"),
    ],
)
def test_config_check_names_the_bad_entry(val_contigs, key, problem):
    cfg = _demo_config()
    cfg["genomes"]["demo_hs"]["val_contigs"] = val_contigs
    with pytest.raises(ConfigError, match=r"config key `" + key.replace(".", r"\.").replace("[", r"\[")
                       .replace("]", r"\]") + r"`.*" + problem):
        load_config(cfg)


def test_config_check_refuses_holding_out_every_contig():
    cfg = _demo_config()
    cfg["genomes"]["demo_hs"]["contigs"] = "^chr[12]$"
    cfg["genomes"]["demo_hs"]["val_contigs"] = ["chr1", "chr2"]
    with pytest.raises(ConfigError, match=r"genomes\.demo_hs\.val_contigs`.*nothing is left to pretrain"):
        load_config(cfg)


def test_demo_config_with_a_val_contig_validates():
    cfg = _demo_config()
    cfg["genomes"]["demo_hs"]["val_contigs"] = ["chr2"]
    assert load_config(cfg).genomes["demo_hs"].val_contigs == ["chr2"]


def _snakemake(wf: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", *args], cwd=wf,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_corpus_run_holds_out_the_val_contig(tmp_path):
    """The corpus rules of a small genome with ``val_contigs: [chr2]``: chr2's shard is one pass of
    validation pieces, chr1's two passes of training pieces; a val contig the prepared genome
    lacks stops the DAG with the config key named."""
    wf = copy_workflow(tmp_path / "wf")
    (wf / "data").mkdir()
    rng = random.Random(3)
    seqs = {"chr1": 6000, "chr2": 4000}
    (wf / "data" / "g.fa").write_text("".join(
        f">{c}\n{''.join(rng.choice('ACGT') for _ in range(n))}\n" for c, n in seqs.items()))
    md5 = hashlib.md5((wf / "data" / "g.fa").read_bytes()).hexdigest()

    def config(val_contigs: list[str], contigs: str = "^chr[0-9]$") -> Path:
        cfg = {"genomes": {"g1": {"fasta": {"url": "data/g.fa", "md5": md5}, "contigs": contigs,
                                  "val_contigs": val_contigs}},
               "corpus": {"min_len": 10, "max_len": 100, "coverage": 2, "seed": 3,
                          "val_fraction": 0.1}}
        p = wf / "config.yaml"
        p.write_text(yaml.safe_dump(cfg))
        return p

    target = "results/corpus/g1/stats.json"
    r = _snakemake(wf, "--configfile", str(config(["chr2"])), "--replace-workflow-config", target)
    assert r.returncode == 0, r.stdout + r.stderr
    shards = wf / "results/corpus/g1/shards"
    train, val = np.load(shards / "chr1.idx.npy"), np.load(shards / "chr2.idx.npy")
    assert (train[:, 2] == 0).all() and train[:, 1].sum() == 2 * seqs["chr1"]
    assert (val[:, 2] == 1).all() and val[:, 1].sum() == seqs["chr2"]
    stats = yaml.safe_load((wf / target).read_text())
    assert stats["params"]["coverage"] == 2 and stats["params"]["val_fraction"] == 0.0
    assert stats["held_out_contigs"] == {"chr2": {"coverage": 1, "val_fraction": 1.0}}
    assert stats["chromosomes"]["chr2"]["n_pieces_train"] == 0
    # a contig the regex keeps but the FASTA lacks: refused once the genome is prepared
    r = _snakemake(wf, "-n", "--configfile", str(config(["chr3"])), "--replace-workflow-config",
                   target)
    assert r.returncode != 0
    assert "genomes.g1.val_contigs: 'chr3' not among the prepared contigs" in r.stdout + r.stderr


def _shards(tmp_path: Path, val_contigs: list[str]) -> list[Path]:
    import pysam
    from dnalm.corpus import build_corpus_shard

    rng = random.Random(5)
    fa = tmp_path / "g.fa"
    fa.write_text("".join(f">{c}\n{''.join(rng.choice('ACGT') for _ in range(n))}\n"
                          for c, n in (("chr1", 8000), ("chr2", 6000))))
    pysam.faidx(str(fa))
    out = tmp_path / f"shards_{'_'.join(val_contigs) or 'none'}"
    corpus = {"min_len": 10, "max_len": 200, "coverage": 2, "seed": 1, "val_fraction": 0.2}
    for c in ("chr1", "chr2"):
        build_corpus_shard(fa, c, out / f"{c}.seq.npy", out / f"{c}.idx.npy",
                           **contig_settings(corpus, val_contigs, c))
    return sorted(out.glob("*.seq.npy"))


def test_the_learning_check_records_where_validation_comes_from(tmp_path):
    from dnalm.corpus.stream import Corpus
    from dnalm.reporting.findings import _learning_text

    held = Corpus(_shards(tmp_path, ["chr2"]), 6).validation_source()
    assert held == {"kind": "held_out_contigs", "contigs": ["chr2"]}
    mixed = Corpus(_shards(tmp_path, []), 6).validation_source()
    assert mixed == {"kind": "pieces", "contigs": ["chr1", "chr2"]}
    text = _learning_text({"verdict": "learns", "validation": held})
    assert "validated on held-out contigs (chr2) that no training piece holds" in text
    assert "drawn beside the training pieces" in _learning_text({"verdict": "learns",
                                                                 "validation": mixed})
