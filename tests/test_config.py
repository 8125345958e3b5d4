"""Config: typed validation at load (dnalm.settings), cross-key checks naming the config path,
the generated JSON schema, canonical params, and dry runs of the DAG."""

from __future__ import annotations

import copy
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dnalm import settings
from dnalm.settings import ConfigError, load_config

from tests.workflow_copy import copy_workflow

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow/schemas/config.schema.yaml"


def _load(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / name).read_text())


@pytest.mark.parametrize("name", ["config.yaml", "hg38.yaml"])
def test_shipped_configs_validate(name: str) -> None:
    load_config(_load(name))


def test_mm10_validates_on_top_of_hg38() -> None:
    cfg = settings.deep_update(_load("hg38.yaml"), _load("mm10.yaml"))
    load_config(cfg)


def test_defaults_are_filled_once() -> None:
    cfg = _load("config.yaml")
    del cfg["motifs"]["window"]
    c = load_config(cfg)
    assert c.motifs.window == 24  # the model's default
    assert c.tasks["tf_ctcf"].flank == 50
    assert c.pretrain_presets["demo"].keep_checkpoints == 2
    plain = settings.canonical(c)
    assert plain["motifs"]["window"] == 24
    assert "pretrained" not in plain["language_models"]["dnabert6_tiny"]  # unset optional keys drop


def test_schema_file_is_generated_from_the_models() -> None:
    text = SCHEMA.read_text()
    body = yaml.safe_load(text)
    assert body == yaml.safe_load(yaml.safe_dump(settings.json_schema(), sort_keys=False)), (
        "workflow/schemas/config.schema.yaml is stale: run python -m dnalm.settings --schema"
    )


def test_unknown_key_is_named() -> None:
    cfg = _load("config.yaml")
    cfg["corpus"]["coverge"] = 3
    with pytest.raises(ConfigError, match=r"`corpus\.coverge`: unknown key"):
        load_config(cfg)


def test_wrong_type_is_named() -> None:
    cfg = _load("config.yaml")
    cfg["corpus"]["max_len"] = "long"
    with pytest.raises(ConfigError, match=r"`corpus\.max_len`"):
        load_config(cfg)


def test_all_errors_are_reported_together() -> None:
    cfg = _load("config.yaml")
    cfg["tasks"]["tf_ctcf"]["experiment"] = "NOPE"
    cfg["tasks"]["splice"]["window"] = 0
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    assert "tasks.tf_ctcf.experiment" in str(e.value) and "tasks.splice.window" in str(e.value)


def _preset_without_lr(c: dict) -> None:
    del c["pretrain_presets"]["demo"]["lr"]


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        # references between sections
        (lambda c: c["tasks"]["tf_ctcf"].update(experiment="NOPE"), "tasks.tf_ctcf.experiment"),
        (lambda c: c["tasks"]["splice"].update(genome="hg99"), "tasks.splice.genome"),
        (lambda c: c["finetune"]["models"].append("bert99"), "finetune.models"),
        (lambda c: c["attention"]["tasks"].append("nope"), "attention.tasks"),
        (lambda c: c["genomes"]["demo_hs"].update(contigs="chr(["), "genomes.demo_hs.contigs"),
        (lambda c: c["language_models"]["dnabert6_tiny"].update(preset="x"),
         "language_models.dnabert6_tiny.preset"),
        (lambda c: c["tasks"]["prom_core_tata"].update(window=[35, -34]), "tasks.prom_core_tata.window"),
        (lambda c: c["attention"].update(model="cnn"), "attention.model"),
        (lambda c: c["variants"].update(model="nope-scratch"), "variants.model"),
        # the nine checks that used to pass the dry run and fail after 2-5 jobs
        (lambda c: c["corpus"].update(min_len=600), "corpus.max_len"),  # min_len > max_len
        (lambda c: c["corpus"].update(min_len=300), "corpus.max_len"),  # max_len < 2 * min_len
        (lambda c: c["corpus"].update(min_len=5), "corpus.min_len"),  # min_len < k = 6
        # pieces past 512 tokens were cut at 515 bp without a word
        (lambda c: c["corpus"].update(max_len=1000), "corpus.max_len"),
        (lambda c: (c["corpus"].update(max_len=515), c["language_models"]["dnabert6_tiny"].update(k=3)),
         "corpus.max_len"),
        (lambda c: c["splits"].update(train=1.2, dev=-0.1, test=-0.1), "splits.dev"),
        (lambda c: c["splits"].update(train=0.5), "splits"),  # does not sum to 1
        (_preset_without_lr, "pretrain_presets.demo.lr"),
        (lambda c: c["pretrain_presets"]["demo"].update(mask_schedule=[[10, 0.15]]),
         "pretrain_presets.demo"),
        (lambda c: c["pretrain_presets"]["demo"].update(mask_schedule=[[0, 1.5]]),
         "pretrain_presets.demo"),
        (lambda c: c["tasks"]["splice"].update(window=0), "tasks.splice.window"),
        (lambda c: c["tasks"]["splice"].update(window=-100), "tasks.splice.window"),
        (lambda c: c["motifs"].update(candidate_len=3), "motifs"),
        # a demo narrowPeak no world writes
        (lambda c: c["annotations"]["demo_hs"]["peaks"].update(
            X={"url": "resources/demo/demo_hs/peaks/NOPE.narrowPeak.gz"}), "annotations.demo_hs.peaks.X"),
        (lambda c: c["simulate"]["demo_hs"].update(peaks={"bad-name": {}}), "simulate.demo_hs.peaks"),
        # remote sources need a checksum or an explicit opt-out
        (lambda c: c["genomes"]["demo_hs"]["fasta"].update(url="https://example.org/g.fa.gz"),
         "genomes.demo_hs.fasta"),
    ],
)
def test_cross_key_errors_name_the_key(mutate, key: str) -> None:
    cfg = copy.deepcopy(_load("config.yaml"))
    mutate(cfg)
    with pytest.raises(ConfigError, match=r"config key `" + key.replace(".", r"\.")):
        load_config(cfg)


def test_the_longest_corpus_piece_a_bert_reads_is_accepted() -> None:
    """509 + k bp is 512 tokens: the limit itself loads (the control of the corpus.max_len cases)."""
    cfg = copy.deepcopy(_load("config.yaml"))
    cfg["corpus"].update(max_len=515)
    assert load_config(cfg).corpus.max_len == 515
    cfg["corpus"].update(max_len=516)
    with pytest.raises(ConfigError, match=r"at most 515 bp, and longer pieces would be cut"):
        load_config(cfg)


@pytest.mark.parametrize("section", ["tasks", "genomes", "language_models", "pretrain_presets"])
@pytest.mark.parametrize("bad", ["../../x", "a/b", ".hidden", "x y", ""])
def test_unsafe_keys_are_refused(section: str, bad: str) -> None:
    cfg = _load("config.yaml")
    first = next(iter(cfg[section]))
    cfg[section][bad] = cfg[section][first]
    with pytest.raises(ConfigError, match=r"`" + section):
        load_config(cfg)


def test_checksum_none_is_an_explicit_opt_out(caplog) -> None:
    cfg = _load("config.yaml")
    cfg["genomes"]["demo_hs"]["fasta"] = {"url": "https://example.org/g.fa.gz", "checksum": "none"}
    with caplog.at_level("WARNING", logger="dnalm.settings"):
        load_config(cfg)
    assert "genomes.demo_hs.fasta" in caplog.text and "without a checksum" in caplog.text


def test_canonical_ignores_key_order() -> None:
    a = {"url": "x", "md5": "0" * 32, "nested": {"b": 1, "a": [{"z": 1, "y": 2}]}}
    b = {"nested": {"a": [{"y": 2, "z": 1}], "b": 1}, "md5": "0" * 32, "url": "x"}
    assert repr(settings.canonical(a)) == repr(settings.canonical(b))
    assert repr(settings.canonical(a)) != repr(settings.canonical({**a, "url": "y"}))


def test_model_names() -> None:
    assert settings.model_lm("dnabert6_tiny-scratch") == "dnabert6_tiny"
    assert settings.model_lm("cnn") is None
    assert settings.is_scratch("x-scratch") and not settings.is_scratch("x")


def test_local_sources() -> None:
    from dnalm import paths
    from dnalm.fetch import local_path

    cfg = load_config(_load("config.yaml"))
    assert paths.local_source_inputs(cfg, "fasta", {"genome": "demo_hs"}) == [
        "resources/demo/demo_hs/genome.fa.gz"
    ]
    hg = load_config(_load("hg38.yaml"))
    assert paths.local_source_inputs(hg, "fasta", {"genome": "hg38"}) == []
    assert paths.source(hg, "fasta", {"genome": "hg38"})["md5"]
    assert local_path("file:///data/x.fa") == "/data/x.fa"
    assert local_path("https://example.org/x.fa") is None


def test_rule_params_leave_out_job_selection() -> None:
    """Adding a task or a model to a section must not change the params of existing jobs."""
    from dnalm import paths

    a = load_config(_load("config.yaml"))
    cfg = _load("config.yaml")
    cfg["finetune"]["models"].append("cnn_lstm")
    cfg["motifs"]["tasks"] = cfg["motifs"]["tasks"][:1]
    cfg["variants"]["scatter"] = 1
    b = load_config(cfg)
    for section in ("finetune", "motifs", "variants", "attention"):
        assert paths.rule_params(a, section) == paths.rule_params(b, section), section
    assert "window" in paths.rule_params(a, "motifs") and "models" not in paths.rule_params(a, "finetune")


def test_dataset_inputs_dispatch() -> None:
    from dnalm import paths

    cfg = _load("config.yaml")
    c = load_config(cfg)
    assert paths.dataset_inputs(c, "tf_mm_ctcf")["peaks"] == (
        "resources/annotations/demo_mm/peaks/CTCF_mm.narrowPeak.gz")
    assert paths.dataset_inputs(c, "prom300_tata")["epd"] == "resources/annotations/demo_hs/epd.tsv"
    cfg["tasks"]["mine"] = {"kind": "imported", "format": "gue_csv", "path": "some/dir"}
    assert paths.dataset_inputs(load_config(cfg), "mine") == {
        "path": ["some/dir/train.csv", "some/dir/dev.csv", "some/dir/test.csv"]
    }


def _snakemake(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )


def test_dry_run_whole_demo_dag() -> None:
    r = _snakemake("-n", "--quiet", "rules")
    assert r.returncode == 0, r.stdout + r.stderr
    for rule in ("demo_simulate", "genome_prepare", "dataset_build", "bert_pretrain",
                 "bert_finetune", "baseline_finetune", "summary_build"):
        assert rule in r.stdout + r.stderr, rule


def test_dry_run_production_config() -> None:
    r = _snakemake("-n", "--quiet", "rules", "--configfile", "config/hg38.yaml",
                   "--replace-workflow-config")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "genome_download" in r.stdout + r.stderr
    assert "demo_simulate" not in r.stdout + r.stderr


def test_bad_config_fails_before_any_job(tmp_path: Path) -> None:
    cfg = _load("config.yaml")
    cfg["tasks"]["tf_ctcf"]["negatvies"] = "gc_matched"
    cfg["corpus"]["min_len"] = 4
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(cfg))
    r = _snakemake("-n", "--configfile", str(p), "--replace-workflow-config")
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert "tasks.tf_ctcf.negatvies" in out and "corpus.min_len" in out


def _tiny_genome_config(root: Path, reorder: bool, contigs: str = "^chr[12]$") -> Path:
    fa = root / "data" / "g.fa"
    md5 = hashlib.md5(fa.read_bytes()).hexdigest()
    fasta = {"url": "data/g.fa", "md5": md5}
    genome = {"fasta": fasta, "contigs": contigs}
    corpus = {"min_len": 10, "max_len": 100, "coverage": 1, "seed": 3}
    if reorder:
        fasta = dict(reversed(list(fasta.items())))
        genome = {"contigs": contigs, "fasta": fasta}
        corpus = dict(reversed(list(corpus.items())))
    cfg = {"corpus": corpus, "genomes": {"g1": genome}} if reorder else {
        "genomes": {"g1": genome}, "corpus": corpus}
    p = root / ("reordered.yaml" if reorder else "config.yaml")
    p.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return p


@pytest.mark.slow
def test_reordering_config_keys_reruns_nothing(tmp_path: Path) -> None:
    """Params are canonical: the same values in another key order plan no job; a changed value
    (the control) plans the affected jobs again."""
    wf = copy_workflow(tmp_path / "wf")
    (wf / "data").mkdir()
    rng = __import__("random").Random(5)
    seq = lambda n: "".join(rng.choice("ACGT") for _ in range(n))  # noqa: E731
    (wf / "data" / "g.fa").write_text(f">chr1\n{seq(3000)}\n>chr2\n{seq(2000)}\n>chrUn\n{seq(500)}\n")
    target = "results/corpus/g1/stats.json"
    first = _tiny_genome_config(wf, reorder=False)
    r = _snakemake("--configfile", str(first), "--replace-workflow-config", target, cwd=wf)
    assert r.returncode == 0, r.stdout + r.stderr
    again = _tiny_genome_config(wf, reorder=True)
    r = _snakemake("-n", "--configfile", str(again), "--replace-workflow-config", target, cwd=wf)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Nothing to be done" in r.stdout + r.stderr, r.stdout + r.stderr
    changed = _tiny_genome_config(wf, reorder=True, contigs="^chr1$")
    r = _snakemake("-n", "--configfile", str(changed), "--replace-workflow-config", target, cwd=wf)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "genome_prepare" in r.stdout + r.stderr and "Params have changed" in r.stdout + r.stderr


def _defaults(fn) -> dict:
    import inspect

    return {n: p.default for n, p in inspect.signature(fn).parameters.items()
            if p.default is not inspect.Parameter.empty}  # fmt: skip


@pytest.mark.parametrize(
    ("section", "func"),
    [
        ("motifs", "dnalm.motifs:discover_motifs"),
        ("variants", "dnalm.variants:summarise_variants"),
        ("variants", "dnalm.variants:score_variant_shard"),
        ("corpus", "dnalm.corpus:build_corpus_shard"),
        ("finetune", "dnalm.finetune:finetune"),
        ("attention", "dnalm.attention:write_attention_outputs"),
    ],
)
def test_library_defaults_agree_with_config_defaults(section: str, func: str) -> None:
    """Config defaults are declared once (dnalm.settings); a library function called without
    the config must not quietly use another value for the same knob."""
    import importlib

    mod, name = func.split(":")
    fn = getattr(importlib.import_module(mod), name)
    model = type(settings.Config.model_fields[section].default_factory())
    cfg_defaults = {n: f.get_default(call_default_factory=True) for n, f in model.model_fields.items()}
    cfg_defaults = {n: v for n, v in cfg_defaults.items() if isinstance(v, int | float | str)}
    shared = set(_defaults(fn)) & set(cfg_defaults)
    assert shared, (func, section)
    for key in shared:
        assert _defaults(fn)[key] == cfg_defaults[key], f"{func}({key}=) vs {section}.{key}"


def _imported(c: dict, **kw) -> None:
    c["tasks"]["imp"] = {"kind": "imported", "format": "dnabert_tsv", "path": "resources/imp.tsv", **kw}


@pytest.mark.parametrize(
    "mutate, key, says",
    [
        # a plain path is a project file; a file elsewhere is named by a file: URL
        (lambda c: c["genomes"]["demo_hs"]["fasta"].update(url="/etc/passwd"),
         "genomes.demo_hs.fasta.url", "relative to the project"),
        (lambda c: c["genomes"]["demo_hs"]["fasta"].update(url="../../../etc/passwd"),
         "genomes.demo_hs.fasta.url", "leaves the project"),
        (lambda c: c["annotations"]["demo_hs"]["peaks"]["CTCF_demo"].update(url="../x.narrowPeak.gz"),
         "annotations.demo_hs.peaks.CTCF_demo.url", "leaves the project"),
        (lambda c: c["genomes"]["demo_hs"]["fasta"].update(checksums_url="/etc/MD5SUMS"),
         "genomes.demo_hs.fasta.checksums_url", "relative to the project"),
        (lambda c: _imported(c, path="/data/x.tsv"), "tasks.imp.path", "relative to the project"),
        (lambda c: _imported(c, format="fasta_labels", labels="../l.tsv"), "tasks.imp.labels", "leaves"),
        (lambda c: c["language_models"].update(imp={"pretrained": "/models/dnabert6"}),
         "language_models.imp.pretrained", "relative to the project"),
        # URLs the fetcher would refuse only while the DAG is built, blaming another rule
        (lambda c: c["genomes"]["demo_hs"]["fasta"].update(url="file://host.example.org/g.fa"),
         "genomes.demo_hs.fasta.url", "remote host"),
        (lambda c: c["genomes"]["demo_hs"]["fasta"].update(url="https://", checksum="none"),
         "genomes.demo_hs.fasta.url", "no host"),
        (lambda c: c["genomes"]["demo_hs"]["fasta"].update(url="https://e.org/g.fa\nrm -rf /",
                                                          checksum="none"),
         "genomes.demo_hs.fasta.url", "control character"),
        # a pattern error says what the pattern means, not the regex
        (lambda c: c["genomes"]["demo_hs"]["fasta"].update(url="ssh://host/g.fa"), "genomes.demo_hs.fasta.url",
         "must be an http(s):// or ftp:// URL, a file: URL, or a path inside the project, got 'ssh://host/g.fa'"),
        (lambda c: c["genomes"]["demo_hs"]["fasta"].update(md5="abc"), "genomes.demo_hs.fasta.md5",
         "must be an MD5 digest (32 hex digits)"),
        # haplotype VCFs are sources like any other
        (lambda c: c["haplotypes"].update(real={"vcf": {"url": "https://e.org/x.vcf.gz"},
                                                "index": {"url": "https://e.org/x.vcf.gz.tbi"},
                                                "region": "chr1:1-1000"}),
         "haplotypes.real.vcf", "needs md5"),
        (lambda c: c["haplotypes"].update(real={"vcf": {"url": "https://e.org/x.vcf.gz",
                                                        "md5": "0" * 32, "checksum": "none"},
                                                "index": {"url": "idx.tbi"}, "region": "chr1:1-1000"}),
         "haplotypes.real.vcf.checksum", "contradicts"),
        # seeds numpy would refuse in a job (and `seed-1/` paths no rule makes)
        (lambda c: c["splits"].update(seed=-1), "splits.seed", "greater than or equal to 0"),
        (lambda c: c["tasks"]["tf_ctcf_scarce"].update(seeds=[-1, 2]), "tasks.tf_ctcf_scarce.seeds.0",
         "greater than or equal to 0"),
        (lambda c: c["splits"].update(train=0, dev=0.5, test=0.5), "splits.train", "greater than 0"),
        (lambda c: c["pretrain_presets"]["demo"].update(lr=float("inf")), "pretrain_presets.demo.lr",
         "finite"),
        (lambda c: c["tasks"]["tf_ctcf"].update(holdout_chroms={"dev": ["chr1"], "test": ["chr1"]}),
         "tasks.tf_ctcf.holdout_chroms", "both dev and test"),
        (lambda c: c["language_models"].update(kmer_ridge=c["language_models"]["dnabert6_tiny"]),
         "language_models.kmer_ridge", "reserved"),
        (lambda c: c["predict"]["prom300_notata_test"].update(model="prom300_notat/dnabert6_tiny/seed1"),
         "predict.prom300_notata_test.model", "is not a task of this config"),
        # contigs the demo genome does not have: empty dev/test splits, a scan job failing late
        (lambda c: c["tasks"]["tf_ctcf"].update(holdout_chroms={"dev": ["chrZZ"], "test": ["chr2"]}),
         "tasks.tf_ctcf.holdout_chroms.dev[0]", "is not a contig of genome 'demo_hs'"),
        (lambda c: c["scan"]["prom300_chrX"].update(contigs=["chrZZ"]), "scan.prom300_chrX.contigs[0]",
         "is not a contig of genome 'demo_hs'"),
        (lambda c: c["genomes"]["demo_hs"].update(contigs="^chromosome[0-9]+$"), "genomes.demo_hs.contigs",
         "keeps none of the genome's contigs"),
        # a seed listed twice: one run, read twice by the summary (n_seeds 3 for 2 runs)
        (lambda c: c["tasks"]["tf_ctcf_scarce"].update(seeds=[1, 1, 2]), "tasks.tf_ctcf_scarce.seeds",
         "1 listed more than once"),
        (lambda c: c["tasks"]["tf_p53"].update(models=["cnn", "cnn", "dnabert6_tiny"]), "tasks.tf_p53.models",
         "cnn listed more than once"),
        # keys another kind reads: ignored without a word before (the windows stayed 101 bp)
        (lambda c: c["tasks"]["tf_p53"].update(window=500), "tasks.tf_p53.window",
         "a tfbs task does not read it"),
        (lambda c: c["tasks"]["prom300_tata"].update(experiment="CTCF_demo", top_n=5),
         "tasks.prom300_tata.experiment", "only tfbs tasks do"),
        (lambda c: c["tasks"]["tf_p53"].update(subset="tata"), "tasks.tf_p53.subset", "promoter"),
        (lambda c: c["tasks"]["expression"].update(genome="hg99"), "tasks.expression.genome",
         "an expression task does not read it"),
    ],
)
def test_sources_paths_seeds_and_numbers_are_checked_at_load(mutate, key: str, says: str) -> None:
    """Each of these passed the config and the dry run before (a path outside the project read as
    an input, a job failing on a seed, a traceback naming an unrelated rule)."""
    cfg = copy.deepcopy(_load("config.yaml"))
    mutate(cfg)
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    line = next((ln for ln in str(e.value).splitlines() if f"config key `{key}`" in ln), None)
    assert line is not None and says in line, str(e.value)


def test_file_urls_and_project_paths_stay_allowed() -> None:
    cfg = _load("config.yaml")
    cfg["genomes"]["demo_hs"]["fasta"] = {"url": "file:///data/genomes/demo.fa.gz"}
    _imported(cfg)
    load_config(cfg)


def test_an_unknown_task_genome_is_reported_once() -> None:
    cfg = _load("config.yaml")
    cfg["tasks"]["tf_p53"]["genome"] = "hg99"
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    assert "tasks.tf_p53.genome" in str(e.value) and "hg99" not in str(e.value).replace(
        "unknown genome 'hg99'", "")


def test_duplicate_keys_and_bad_yaml_name_the_file_and_line(tmp_path: Path) -> None:
    """YAML keeps the last of two equal keys: a second `tf_p53:` would silently replace the first."""
    text = (REPO / "config" / "config.yaml").read_text()
    lines = text.splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("  tf_p53:"))
    dup = tmp_path / "dup.yaml"
    lines.insert(at + 1, "  tf_p53: {genome: demo_hs, kind: tfbs, experiment: LOWQ_demo}")
    dup.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=rf"dup\.yaml:{at + 2}: duplicate key 'tf_p53' \(first given at line {at + 1}\)"):
        settings.read_config_file(dup)
    assert settings.read_config_file(REPO / "config" / "config.yaml") == _load("config.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("splits: {train: 0.8\ntasks: [\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:2:\d+: not valid YAML"):
        settings.read_config_file(bad)
    top = tmp_path / "list.yaml"
    top.write_text("- 1\n")
    with pytest.raises(ConfigError, match=r"list\.yaml:1: a config file holds a mapping"):
        settings.read_config_file(top)
    # the checker and the workflow both refuse the duplicate, before any job, naming the line
    r = subprocess.run([sys.executable, "-m", "dnalm.settings", str(dup)], capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert r.returncode == 2 and f"dup.yaml:{at + 2}: duplicate key" in r.stderr and "Traceback" not in r.stderr
    r = _snakemake("-n", "--configfile", str(dup), "--replace-workflow-config")
    assert r.returncode != 0 and f"dup.yaml:{at + 2}: duplicate key 'tf_p53'" in r.stdout + r.stderr
    r = subprocess.run([sys.executable, "-m", "dnalm.settings", str(REPO / "config" / "config.yaml")],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0 and r.stdout.startswith("ok: ")


@pytest.mark.parametrize("names", [["config.yaml"], ["hg38.yaml", "mm10.yaml"]])
def test_the_canonical_config_rules_read_back_validates(names) -> None:
    """Rules reload the validated config with every default written out (plan_tables does):
    the per-kind key check must not take a written-out default for a user's setting."""
    raw: dict = {}
    for n in names:
        settings.deep_update(raw, settings.read_config_file(REPO / "config" / n))
    canon = settings.canonical(load_config(raw))
    assert "flank" in canon["tasks"][next(t for t, s in canon["tasks"].items() if s["kind"] != "tfbs")]
    load_config(yaml.safe_load(yaml.safe_dump(canon)))
