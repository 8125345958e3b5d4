"""dnalm.tf_collections + collections.smk: metadata tables expanded into tfbs tasks by a checkpoint.

Tables are real-format fixtures written here: UCSC encodeDCC ``files.txt`` lines
(``<file>\\t<key=value; ...>``) and ENCODE portal ``metadata.tsv`` rows with the portal's header;
the narrowPeaks they list are served by a loopback HTTP server with their real md5s.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from dnalm import paths as P
from dnalm import settings
from dnalm import tf_collections as tfc
from dnalm.sim import write_files_txt

from tests.test_tfbs import make_genome, write_peaks
from tests.workflow_copy import REPO, copy_workflow

# The header of an ENCODE portal metadata.tsv export (files report), as the portal writes it.
ENCODE_HEADER = (
    "File accession\tFile format\tFile type\tFile format type\tOutput type\tFile assembly\t"
    "Experiment accession\tAssay\tBiosample term id\tBiosample term name\tBiosample type\t"
    "Biosample organism\tExperiment target\tProject\tLab\tmd5sum\tdbxrefs\tFile download URL\t"
    "File Status"
).split("\t")
UCSC_ATTRS = ("project=wgEncode; lab={lab}; composite=wgEncodeAwgTfbsUniform; dataType=ChipSeq; "
              "view=Peaks; cell={cell}; treatment=None; antibody={antibody}; "
              "dccAccession=wgEncodeEH000{i:03d}; type=narrowPeak; md5sum={md5}; size=1.2M")  # fmt: skip


def ucsc_line(name: str, md5: str, cell: str = "GM12878", antibody: str = "CTCF",
              lab: str = "Broad", i: int = 0) -> str:  # fmt: skip
    return f"{name}\t{UCSC_ATTRS.format(lab=lab, cell=cell, antibody=antibody, md5=md5, i=i)}\n"


def encode_row(acc: str, md5: str, target: str = "CTCF-mouse", cell: str = "liver",
               lab: str = "Bing Ren, UCSD", fmt: str = "bed narrowPeak",
               output: str = "optimal IDR thresholded peaks", assembly: str = "mm10") -> str:  # fmt: skip
    vals = {
        "File accession": acc, "File format": fmt, "File type": fmt.split()[0],
        "File format type": fmt.split()[-1], "Output type": output, "File assembly": assembly,
        "Experiment accession": "ENCSR" + acc[5:], "Assay": "TF ChIP-seq",
        "Biosample term id": "UBERON:0002107", "Biosample term name": cell,
        "Biosample type": "tissue", "Biosample organism": "Mus musculus",
        "Experiment target": target, "Project": "ENCODE", "Lab": lab, "md5sum": md5,
        "dbxrefs": "", "File download URL":
        f"https://www.encodeproject.org/files/{acc}/@@download/{acc}.bed.gz",
        "File Status": "released",
    }  # fmt: skip
    return "\t".join(vals[c] for c in ENCODE_HEADER) + "\n"


def fake_md5(text: str) -> str:
    """A well-formed md5 for rows whose file is never downloaded (dry runs, parsing)."""
    return hashlib.md5(text.encode()).hexdigest()


def big_files_txt(path: Path, n: int = 690) -> Path:
    """A files.txt of the real table's size: n narrowPeak rows plus a few other files."""
    lines = []
    for i in range(n):
        name = f"wgEncodeAwgTfbs{'Broad Haib Sydh Uta Uw'.split()[i % 5]}Cell{i % 91}Ab{i}UniPk.narrowPeak.gz"
        lines.append(ucsc_line(name, fake_md5(name), cell=f"Cell{i % 91}", antibody=f"Ab{i % 161}",
                               lab="Broad Haib Sydh Uta Uw".split()[i % 5], i=i))  # fmt: skip
    lines.insert(3, "wgEncodeAwgTfbsUniform.bam\tproject=wgEncode; type=bam; md5sum="
                 + fake_md5("bam") + "\n")  # fmt: skip
    path.write_text("".join(lines))
    return path


def big_metadata_tsv(path: Path, n: int = 78) -> Path:
    """An ENCODE metadata.tsv: n kept mouse narrowPeak files plus rows the filters drop."""
    rows = ["\t".join(ENCODE_HEADER) + "\n"]
    for i in range(n):
        acc = f"ENCFF{100 + i:03d}MMM"
        rows.append(encode_row(acc, fake_md5(acc), target=f"TF{i}-mouse"))
    rows.append(encode_row("ENCFF900BWG", fake_md5("bw"), fmt="bigWig", output="fold change over control"))
    rows.append(encode_row("ENCFF901CON", fake_md5("c"), output="conservative IDR thresholded peaks"))
    rows.append(encode_row("ENCFF902MM9", fake_md5("m"), assembly="mm9"))
    path.write_text("".join(rows))
    return path


MOUSE_FILTERS = {"Output type": ["optimal IDR thresholded peaks"], "File assembly": ["mm10"],
                 "File Status": ["released"]}  # fmt: skip


# ----------------------------------------------------------------------------- parsing


def test_ucsc_files_txt_fields_filters_and_urls(tmp_path: Path) -> None:
    t = tmp_path / "files.txt"
    t.write_text(
        ucsc_line("wgEncodeAwgTfbsBroadDnd41CtcfUniPk.narrowPeak.gz", "a" * 32, "Dnd41", "CTCF", "Broad")
        + "wgEncodeAwgTfbsUniform.tar.gz\tproject=wgEncode; type=tar; md5sum=" + "b" * 32 + "\n"
        + ucsc_line("wgEncodeAwgTfbsHaibH1hescPol2V0416102UniPk.narrowPeak.gz", "C" * 32, "H1-hESC",
                    "Pol2(phosphoS2)", "HudsonAlpha")
        + "\n"
        + ucsc_line("wgEncodeAwgTfbsSydhK562CtcfbIggrabUniPk.narrowPeak.gz", "d" * 32, "K562", "CTCF", "Stanford")
    )  # fmt: skip
    base = "https://hgdownload.soe.ucsc.edu/goldenPath/hg19/encodeDCC/wgEncodeAwgTfbsUniform"
    exps, st = tfc.parse_table(t, "ucsc_files_txt", base, collection="encode690")
    assert st == {"rows": 3, "skipped": 1, "kept": 3}
    assert [e.id for e in exps] == ["wgEncodeAwgTfbsBroadDnd41CtcfUniPk",
                                    "wgEncodeAwgTfbsHaibH1hescPol2V0416102UniPk",
                                    "wgEncodeAwgTfbsSydhK562CtcfbIggrabUniPk"]  # fmt: skip
    e = exps[1]
    assert (e.cell, e.antibody, e.lab, e.md5) == ("H1-hESC", "Pol2(phosphoS2)", "HudsonAlpha", "c" * 32)
    assert e.url == f"{base}/wgEncodeAwgTfbsHaibH1hescPol2V0416102UniPk.narrowPeak.gz"
    assert e.source == f"{t}:3"
    kept, st = tfc.parse_table(t, filters={"antibody": ["CTCF"], "cell": ["K562", "Dnd41"]})
    assert [x.cell for x in kept] == ["Dnd41", "K562"] and st["kept"] == 2
    kept, _ = tfc.parse_table(t, filters={"lab": ["Stanford"]})
    assert [x.cell for x in kept] == ["K562"]
    kept, _ = tfc.parse_table(t, filters={"dccAccession": ["wgEncodeEH000000"]})  # any table key
    assert len(kept) == 3
    with pytest.raises(ValueError, match=r"collections\.encode690\.filters\.antibdy"):
        tfc.parse_table(t, filters={"antibdy": ["CTCF"]}, collection="encode690")


def test_encode_metadata_tsv(tmp_path: Path) -> None:
    t = big_metadata_tsv(tmp_path / "metadata.tsv", n=4)
    exps, st = tfc.parse_table(t, "encode_metadata_tsv", filters=MOUSE_FILTERS, collection="mouse_encode")
    assert st == {"rows": 6, "skipped": 1, "kept": 4}
    e = exps[0]
    assert (e.id, e.antibody, e.cell, e.lab) == ("ENCFF100MMM", "TF0", "liver", "Bing Ren, UCSD")
    assert e.url == "https://www.encodeproject.org/files/ENCFF100MMM/@@download/ENCFF100MMM.bed.gz"
    assert e.source == f"{t}:2"


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("wgEncodeX.narrowPeak.gz project=wgEncode; md5sum=" + "a" * 32, r"expected `<file>\\t"),
        ("wgEncodeX.narrowPeak.gz\tproject=wgEncode; cell", r"`cell` is not a key=value pair"),
        ("wgEncodeX.narrowPeak.gz\tproject=wgEncode; cell=K562", r"wgEncodeX.narrowPeak.gz: no md5sum"),
        ("wgEncodeX.narrowPeak.gz\tmd5sum=12345", r"md5sum '12345' is not 32 hex digits"),
        ("bad name.narrowPeak.gz\tmd5sum=" + "a" * 32, r"experiment id 'bad name' does not make"),
        ("a__b.narrowPeak.gz\tmd5sum=" + "a" * 32, r"experiment id 'a__b'"),
        (ucsc_line("wgEncodeAwgTfbsBroadDnd41CtcfUniPk.narrowPeak.gz", "f" * 32).rstrip(),
         r"listed twice \(first at .*files.txt:1\)"),
    ],
)  # fmt: skip
def test_bad_files_txt_rows_name_file_and_line(tmp_path: Path, line: str, error: str) -> None:
    t = tmp_path / "files.txt"
    t.write_text(ucsc_line("wgEncodeAwgTfbsBroadDnd41CtcfUniPk.narrowPeak.gz", "a" * 32) + line + "\n")
    out = tmp_path / "m" / "manifest.tsv"
    with pytest.raises(ValueError, match=rf"^{re.escape(str(t))}:2: .*{error}"):
        tfc.build_manifest(t, out, collection="c1")
    assert not out.exists() and not (out.parent.exists() and any(out.parent.iterdir()))


def test_bad_metadata_tsv_rows_name_file_and_line(tmp_path: Path) -> None:
    t = tmp_path / "metadata.tsv"
    t.write_text("File accession\tmd5sum\n")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(t))}:1: not an ENCODE metadata.tsv header"):
        tfc.parse_table(t, "encode_metadata_tsv")
    good = "\t".join(ENCODE_HEADER) + "\n" + encode_row("ENCFF001AAA", "a" * 32)
    t.write_text(good + encode_row("ENCFF002AAA", "a" * 32).replace("\t", "", 1))
    with pytest.raises(ValueError, match=rf"^{re.escape(str(t))}:3: 18 fields, the header has 19"):
        tfc.parse_table(t, "encode_metadata_tsv")
    t.write_text(good + encode_row("ENCFF002AAA", "not-an-md5"))
    with pytest.raises(ValueError, match=rf"^{re.escape(str(t))}:3: ENCFF002AAA: md5sum"):
        tfc.parse_table(t, "encode_metadata_tsv")
    t.write_text(good + encode_row("ENCFF002AAA", "b" * 32).replace("https://www", "s3://www"))
    with pytest.raises(ValueError, match=rf"^{re.escape(str(t))}:3: .*not an http"):
        tfc.parse_table(t, "encode_metadata_tsv")


def test_manifest_roundtrip_and_empty_selection(tmp_path: Path) -> None:
    t = big_files_txt(tmp_path / "files.txt", n=12)
    out = tmp_path / "manifest.tsv"
    st = tfc.build_manifest(t, out, table_url="https://example.org/dir/files.txt", collection="c1")
    assert st == {"rows": 12, "skipped": 1, "kept": 12}
    rows = tfc.read_manifest(out)
    assert len(rows) == 12 and rows[0].url.startswith("https://example.org/dir/wgEncodeAwgTfbs")
    assert tfc.manifest_entry(out, rows[5].id) == rows[5]
    with pytest.raises(ValueError, match="no experiment 'nope'"):
        tfc.manifest_entry(out, "nope")
    with pytest.raises(ValueError, match=r"no peak file left for collection 'c1'"):
        tfc.build_manifest(t, tmp_path / "m2.tsv", filters={"cell": ["HeLa"]}, collection="c1")
    assert not (tmp_path / "m2.tsv").exists()
    assert tfc.split_task(tfc.task_name("c1", "wgX")) == ("c1", "wgX")
    assert tfc.split_task("tf_ctcf") is None


def test_demo_files_txt_lists_real_md5s(tmp_path: Path) -> None:
    peaks = [write_peaks(tmp_path / f"{n}.narrowPeak.gz", [("chr1", 10, 200, 5.0, -1, 20)])
             for n in ("TP53_demo", "CTCF_demo")]  # fmt: skip
    out = write_files_txt(peaks, tmp_path / "files.txt", cell="demo_hs")
    exps, _ = tfc.parse_table(out, base_url=str(tmp_path))
    assert [e.id for e in exps] == ["CTCF_demo", "TP53_demo"]
    assert [e.antibody for e in exps] == ["CTCF", "TP53"] and exps[0].cell == "demo_hs"
    for e in exps:
        assert e.md5 == hashlib.md5(Path(e.url).read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- downloads


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("coll_genome")
    fa, _ = make_genome(tmp)
    return fa, tmp / "contigs.tsv"


def _serve_collection(server, n: int = 3, seed: int = 0) -> list[str]:
    """narrowPeaks ('1'-style names, as some sources write them) and their files.txt on the server."""
    import numpy as np

    rng = np.random.default_rng(seed)
    names = []
    lines = []
    for i, ab in enumerate(["CTCF", "REST", "YY1"][:n]):
        name = f"wgEncodeAwgTfbsTest{ab}UniPk.narrowPeak.gz"
        rows = [(("1", "2")[j % 2], int(s), int(s) + 300, float(rng.uniform(5, 90)), -1, 150)
                for j, s in enumerate(rng.integers(1000, 25_000, 60))]  # fmt: skip
        p = write_peaks(server.root / name, rows)
        lines.append(ucsc_line(name, hashlib.md5(p.read_bytes()).hexdigest(), cell="GM12878",
                               antibody=ab, lab="Broad", i=i))  # fmt: skip
        names.append(name)
    (server.root / "files.txt").write_text("".join(lines))
    return names


def test_fetch_experiment_verifies_md5_and_renames(http_server, genome, tmp_path: Path) -> None:
    fa, contigs = genome
    _serve_collection(http_server)
    table = tmp_path / "table.txt"
    table.write_bytes((http_server.root / "files.txt").read_bytes())
    manifest = tmp_path / "manifest.tsv"
    tfc.build_manifest(table, manifest, table_url=http_server.url("files.txt"), collection="c1")
    out = tmp_path / "peaks" / "wgEncodeAwgTfbsTestCTCFUniPk.narrowPeak.gz"
    st = tfc.fetch_experiment(manifest, "wgEncodeAwgTfbsTestCTCFUniPk", out, fa, contigs)
    assert st["lines"] == 60 and st["renamed"] == 60
    assert http_server.requests == ["wgEncodeAwgTfbsTestCTCFUniPk.narrowPeak.gz"]
    # a wrong md5 in the table: refused, naming the table file and line; nothing written
    text = table.read_text().splitlines(keepends=True)
    wrong = re.sub(r"md5sum=[0-9a-f]{32}", "md5sum=" + "0" * 32, text[1])
    table.write_text(text[0] + wrong + text[2])
    tfc.build_manifest(table, manifest, table_url=http_server.url("files.txt"), collection="c1")
    out2 = tmp_path / "peaks2" / "wgEncodeAwgTfbsTestRESTUniPk.narrowPeak.gz"
    with pytest.raises(ValueError, match=rf"^{re.escape(str(table))}:2: md5 mismatch for "
                       r"wgEncodeAwgTfbsTestRESTUniPk .*expected 0{32}"):  # fmt: skip
        tfc.fetch_experiment(manifest, "wgEncodeAwgTfbsTestRESTUniPk", out2, fa, contigs)
    assert not out2.parent.exists() or not any(out2.parent.iterdir())


# ----------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda c: c["collections"]["c1"].update(genome="nope"), "collections.c1.genome"),
        (lambda c: c["collections"]["c1"].update(models=["bert9"]), "collections.c1.models"),
        (lambda c: c["collections"]["c1"]["table"].pop("md5"), "collections.c1.table"),
        (lambda c: c["collections"]["c1"].update(filters={"cell": []}), "collections.c1.filters.cell"),
        (lambda c: c.update(collections={"a__b": c["collections"]["c1"]}), "collections.a__b"),
        (lambda c: c["tasks"].update({"c1__x": c["tasks"]["t"]}), "tasks.c1__x"),
    ],
)  # fmt: skip
def test_collection_config_errors_name_the_key(mutate, key: str) -> None:
    cfg = {
        "genomes": {"g": {"fasta": {"url": "g.fa"}}},
        "annotations": {"g": {"peaks": {"e": {"url": "e.narrowPeak.gz"}}}},
        "tasks": {"t": {"genome": "g", "kind": "tfbs", "experiment": "e"}},
        "collections": {"c1": {"genome": "g", "table": {"url": "https://x.org/files.txt", "md5": "a" * 32},
                               "models": ["cnn"]}},
    }  # fmt: skip
    settings.load_config(cfg)
    mutate(cfg)
    with pytest.raises(settings.ConfigError, match=re.escape(key)):
        settings.load_config(cfg)


# ----------------------------------------------------------------------------- the workflow


def _snakemake(*args: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)  # fmt: skip


def _job_counts(out: str) -> dict[str, int]:
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", out, re.M)}


def test_dry_run_plans_690_human_and_78_mouse_tasks(tmp_path: Path) -> None:
    """hg38 + mm10 production configs, once their tables are fetched: one peaks download, one
    dataset and one run per model x seed for each of the 690 + 78 experiments."""
    wf = copy_workflow(tmp_path / "wf")
    tables = {"encode690": (big_files_txt, "ucsc_files_txt"), "mouse_encode": (big_metadata_tsv, "encode_metadata_tsv")}
    raw = settings.deep_update(yaml.safe_load((REPO / "config/hg38.yaml").read_text()),
                               yaml.safe_load((REPO / "config/mm10.yaml").read_text()))  # fmt: skip
    cfg = settings.load_config(raw)
    for name, (write, fmt) in tables.items():
        d = wf / "resources" / "collections" / name
        d.mkdir(parents=True)
        write(d / "table.txt")
        col = cfg.collections[name]
        tfc.build_manifest(d / "table.txt", d / "manifest.tsv", fmt, col.table.url,
                           filters=col.filters, collection=name)  # fmt: skip
    t0 = time.perf_counter()
    r = _snakemake("-n", "--quiet", "rules", "--configfile", "config/hg38.yaml", "config/mm10.yaml",
                   "--replace-workflow-config", cwd=wf)  # fmt: skip
    elapsed = time.perf_counter() - t0
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    jobs = _job_counts(out)
    n_exp = {"encode690": 690, "mouse_encode": 78}
    assert jobs["collection_peaks"] == 768
    assert "collection_manifest" not in jobs and "collection_table" not in jobs  # fetched: kept
    assert jobs["collection_summary"] == 2
    n_loop = len(P.splice_loop_tasks(cfg))  # their round 0 is rule splice_round0
    assert jobs["dataset_build"] == 768 + len(cfg.tasks) - n_loop
    assert jobs.get("splice_round0", 0) == n_loop
    expect = {"bert_finetune": 0, "baseline_finetune": 0, "gpt_finetune": 0}
    runs = [(cfg.task_models(t), cfg.task_seeds(t), 1) for t in cfg.tasks]
    runs += [(cfg.collection_models(c), cfg.collections[c].seeds, n_exp[c]) for c in n_exp]
    for models, seeds, n in runs:
        for m in models:
            rule = ("baseline_finetune" if m in settings.BASELINES
                    else "gpt_finetune" if settings.model_lm(m) in cfg.gpt_lms() else "bert_finetune")
            expect[rule] += n * len(seeds)
    assert {k: jobs[k] for k in expect} == expect
    assert expect["bert_finetune"] + expect["baseline_finetune"] > 3700
    print(f"dry run of hg38 + mm10 with 768 collection experiments: {elapsed:.1f} s")


def _collection_config(wf: Path, server, md5_table: str) -> Path:
    # the genome is served too, verified against the publisher-style MD5SUMS beside it
    fasta = {"url": server.url("g.fa"), "checksums_url": server.url("MD5SUMS")}
    cfg = {
        "genomes": {"g1": {"fasta": fasta, "contigs": "^chr[12X]$"}},
        "collections": {"tc": {"genome": "g1", "table": {"url": server.url("files.txt"), "md5": md5_table},
                               "task": {"negatives": "dinuc_shuffle"}, "models": ["kmer_lr", "cnn"]}},
        "finetune": {"epochs": 1, "batch_size": 16},
    }  # fmt: skip
    p = wf / "coll.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


@pytest.mark.slow
def test_checkpoint_expands_served_table_and_refuses_wrong_md5(http_server, tmp_path: Path) -> None:
    """files.txt + narrowPeaks (and the genome, checked against a served MD5SUMS) over loopback
    HTTP: the checkpoint expands the three experiments into tasks through to the summary; then a
    table whose md5 for one file is wrong (and that carries its own new checksum) is refused at
    that file, naming the table and line."""
    wf = copy_workflow(tmp_path / "wf")
    (wf / "data").mkdir()
    make_genome(wf / "data")
    (wf / "data" / "genome.fa").rename(wf / "data" / "g.fa")
    for f in (wf / "data").glob("genome.fa.fai"):
        f.unlink()
    names = _serve_collection(http_server)
    fa = (wf / "data" / "g.fa").read_bytes()
    (http_server.root / "g.fa").write_bytes(fa)
    (http_server.root / "MD5SUMS").write_text(
        f"{hashlib.md5(b'x').hexdigest()}  other.fa\n{hashlib.md5(fa).hexdigest()}  g.fa\n")
    table = http_server.root / "files.txt"
    cfg = _collection_config(wf, http_server, hashlib.md5(table.read_bytes()).hexdigest())
    target = "results/summary/collections/tc.tsv"
    r = _snakemake("--configfile", str(cfg), "--replace-workflow-config", target, cwd=wf)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    glog = (wf / "logs/genome_download/g1.log").read_text()
    assert f"md5 {hashlib.md5(fa).hexdigest()} as listed at {http_server.url('MD5SUMS')}:2" in glog
    manifest = tfc.read_manifest(wf / "resources/collections/tc/manifest.tsv")
    assert [e.id for e in manifest] == [n.split(".")[0] for n in names]
    summary = (wf / target).read_text().splitlines()
    assert summary[0].split("\t")[:4] == ["experiment", "cell", "antibody", "lab"]
    assert len(summary) == 1 + 3 * 2
    wil = (wf / "results/summary/collections/tc_wilcoxon.tsv").read_text().splitlines()
    assert len(wil) == 1 + 2 and all(line.split("\t")[3] == "3" for line in wil[1:])
    assert (wf / "results/summary/collections/tc.svg").stat().st_size > 0
    for n in names:
        assert (wf / f"results/datasets/tc__{n.split('.')[0]}/card.json").exists()

    # a new table: one more experiment whose md5 is wrong
    extra = "wgEncodeAwgTfbsTestCTCFUniPk.narrowPeak.gz"
    (http_server.root / "wgEncodeAwgTfbsTestNRSFUniPk.narrowPeak.gz").write_bytes(
        (http_server.root / extra).read_bytes())
    table.write_text(table.read_text() + ucsc_line("wgEncodeAwgTfbsTestNRSFUniPk.narrowPeak.gz", "0" * 32,
                                                   antibody="NRSF", i=3))  # fmt: skip
    cfg = _collection_config(wf, http_server, hashlib.md5(table.read_bytes()).hexdigest())
    r = _snakemake("--configfile", str(cfg), "--replace-workflow-config", target, cwd=wf)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    log = (wf / "logs/collection_peaks/tc/wgEncodeAwgTfbsTestNRSFUniPk.log").read_text()
    assert "resources/collections/tc/table.txt:4: md5 mismatch for wgEncodeAwgTfbsTestNRSFUniPk" in log
    assert not (wf / "resources/collections/tc/peaks/wgEncodeAwgTfbsTestNRSFUniPk.narrowPeak.gz").exists()


# ----------------------------------------------------------------------------- summary


def _metrics(root: Path, task: str, model: str, seed: int, mcc: float, auroc: float) -> Path:
    import json

    p = root / "results" / "finetune" / task / model / f"seed{seed}" / "metrics.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps({"task": task, "model": model, "seed": seed, "mcc": mcc,
                             "auroc": auroc, "accuracy": 0.5 + mcc / 2}))  # fmt: skip
    return p


def test_collection_summary_table_wilcoxon_and_figure(tmp_path: Path) -> None:
    import pandas as pd
    from dnalm.collection_summary import paired_wilcoxon, summarize_collection
    from scipy import stats as sps

    t = big_files_txt(tmp_path / "files.txt", n=7)
    manifest = tmp_path / "manifest.tsv"
    tfc.build_manifest(t, manifest, collection="c1")
    exps = [e.id for e in tfc.read_manifest(manifest)]
    models = ["dnabert6", "dnabert6-scratch", "cnn"]
    lm = [0.61, 0.55, 0.70, 0.42, 0.66, 0.58, 0.49]
    scratch = [0.50, 0.52, 0.61, 0.44, 0.52, 0.50, 0.40]
    cnn = [0.62, 0.50, 0.65, 0.40, 0.60, 0.58, 0.45]
    paths = []
    for i, e in enumerate(exps):
        task = tfc.task_name("c1", e)
        for m, vals in zip(models, (lm, scratch, cnn), strict=True):
            for seed, shift in ((1, 0.01), (2, -0.01)):  # two seeds average back to vals[i]
                paths.append(_metrics(tmp_path, task, m, seed, vals[i] + shift, 0.5 + vals[i] / 2))
    out = {k: tmp_path / "out" / f"c1{k}" for k in (".tsv", "_wilcoxon.tsv", ".png")}
    table = summarize_collection("c1", paths, manifest, models, out[".tsv"], out["_wilcoxon.tsv"], out[".png"])
    assert len(table) == 7 * 3 and set(table["n_seeds"]) == {2}
    row = table[(table["experiment"] == exps[3]) & (table["model"] == "dnabert6-scratch")].iloc[0]
    assert row["mcc"] == pytest.approx(0.44) and row["cell"] == "Cell3" and row["lab"] == "Uta"
    wil = pd.read_csv(out["_wilcoxon.tsv"], sep="\t")
    assert len(wil) == 2 * 3  # 3 pairs x (mcc, auroc)
    first = wil[(wil["metric"] == "mcc") & (wil["model_a"] == "dnabert6") & (wil["model_b"] == "dnabert6-scratch")].iloc[0]
    d = [a - b for a, b in zip(lm, scratch, strict=True)]
    ref = sps.wilcoxon(d)
    assert first["n"] == 7 and first["wins_a"] == 6 and first["wins_b"] == 1 and first["ties"] == 0
    assert first["p"] == pytest.approx(ref.pvalue, rel=1e-6)
    assert first["statistic"] == pytest.approx(ref.statistic)
    assert first["median_diff"] == pytest.approx(sorted(d)[3], abs=1e-9)
    assert (wil["p_bh"] >= wil["p"] - 1e-12).all()
    ties = wil[(wil["metric"] == "mcc") & (wil["model_a"] == "dnabert6") & (wil["model_b"] == "cnn")].iloc[0]
    assert ties["ties"] == 1 and ties["n"] == 7  # zero differences counted, dropped from the test
    assert out[".png"].stat().st_size > 0 and out[".png"].with_suffix(".svg").stat().st_size > 0
    # all-equal models: no test (p is NaN), not an error
    same = pd.DataFrame({"experiment": ["a", "b", "a", "b"], "model": ["x", "x", "y", "y"],
                         "mcc": [0.1, 0.2, 0.1, 0.2], "auroc": [0.5, 0.6, 0.5, 0.6]})  # fmt: skip
    assert paired_wilcoxon(same, ["x", "y"])["p"].isna().all()
    other = _metrics(tmp_path, "c2__x", "cnn", 1, 0.1, 0.6)
    with pytest.raises(ValueError, match="task 'c2__x' is not in collection 'c1'"):
        summarize_collection("c1", [*paths, other], manifest, models, *out.values())
