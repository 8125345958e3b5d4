"""Every path, input function and rule parameter of the DAG (the one module ``common.smk`` calls).

All functions take the validated :class:`dnalm.settings.Config`. Paths under ``results/`` and
``resources/`` are the public interface (docs/ARCHITECTURE.md); the rule files only name the
output patterns and call these functions for everything that depends on the config.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dnalm.fetch import local_path
from dnalm.settings import BASELINES, SCRATCH_SUFFIX, Config, canonical, model_lm

__all__ = [
    "alternation",
    "collection_manifest",
    "collection_peaks",
    "collection_runs",
    "collection_summary_files",
    "collection_table",
    "attention_truth_inputs",
    "dataset_inputs",
    "expression_source",
    "expression_table",
    "expression_tasks",
    "final_outputs",
    "finetune_outputs",
    "finetune_params",
    "motif_params",
    "genome_files",
    "known_motif_file",
    "known_motif_inputs",
    "known_motif_source",
    "known_motif_source_inputs",
    "local_source_inputs",
    "region_params",
    "regression_outputs",
    "rule_params",
    "source",
    "task_pattern",
]

#: Keys of a section that pick *which* jobs exist, not what a job computes: they stay out of the
#: params of that section's rules, so adding a task or a model does not rerun existing jobs.
_SELECTION = {"finetune": ("models", "seeds"), "attention": ("tasks", "model"),
              "motifs": ("tasks", "known_motifs", "sources"),
              "variants": ("tasks", "model", "classifier", "scatter"),
              "attribution": ("tasks", "models", "task_models", "methods", "variants"),
              "modisco": ("tasks", "models", "methods")}  # fmt: skip
SPLIT_NAMES = ("train", "dev", "test")


def alternation(keys: Iterable[str]) -> str:
    """A regex matching exactly the given keys (for wildcard constraints)."""
    names = sorted(set(keys))
    return "|".join(re.escape(n) for n in names) if names else r"(?!x)x"


def rule_params(cfg: Config, section: str) -> dict[str, Any]:
    """A whole config section as a rule's params: plain, key-sorted, without selection keys."""
    data = canonical(getattr(cfg, section))
    for key in _SELECTION.get(section, ()):
        data.pop(key, None)
    return data


# ----------------------------------------------------------------------------- genome + sources


#: The fetched genome FASTA as downloaded (a temp() output of rule genome_download).
GENOME_DOWNLOAD = "resources/genomes/{genome}/download/genome.fasta.raw"
_GENOME_DOWNLOAD_RE = re.compile(r"(?:.*/)?resources/genomes/([^/]+)/download/genome\.fasta\.raw")


def download_origin(path: str | Path) -> str | None:
    """The config key a downloaded file came from (``genomes.<g>.fasta`` for
    :data:`GENOME_DOWNLOAD`), so that an error in it names what the user configured; None for
    any other path."""
    m = _GENOME_DOWNLOAD_RE.fullmatch(Path(path).as_posix())
    return f"genomes.{m[1]}.fasta" if m else None


def genome_files(genome: str) -> dict[str, str]:
    """The prepared genome's files (bgzip FASTA, its two indexes, contigs.tsv)."""
    gdir = f"resources/genomes/{genome}"
    return {
        "fasta": f"{gdir}/genome.fa.gz",
        "fai": f"{gdir}/genome.fa.gz.fai",
        "gzi": f"{gdir}/genome.fa.gz.gzi",
        "contigs": f"{gdir}/contigs.tsv",
    }


def _source_spec(cfg: Config, kind: str, wc: dict[str, str]):
    g = wc["genome"]
    if kind in ("fasta", "assembly_report"):
        return getattr(cfg.genomes[g], kind)
    ann = cfg.annotations.get(g)
    if ann is None:
        return None
    if kind == "peaks":
        return ann.peaks.get(wc["experiment"])
    return getattr(ann, kind)


def source(cfg: Config, kind: str, wc: dict[str, str]) -> dict[str, Any]:
    """The source entry ``{url, md5?, sha256?, checksum?}`` of a fetch rule ({} when unset).

    ``kind`` is ``fasta`` / ``assembly_report`` (under ``genomes.<g>``) or an annotations key
    (``epd``, ``epd_motifs``, ``gtf``, ``dbsnp``, ``clinvar``, ``peaks``).
    """
    spec = _source_spec(cfg, kind, wc)
    return canonical(spec) if spec is not None else {}


def local_source_inputs(cfg: Config, kind: str, wc: dict[str, str]) -> list[str]:
    """The source as an input file when it is local (so producers, e.g. the simulator, run first)."""
    spec = _source_spec(cfg, kind, wc)
    if spec is None:
        return []
    path = local_path(spec.url)
    return [path] if path is not None else []


# ----------------------------------------------------------------------------- datasets


def dataset_inputs(cfg: Config, task: str) -> dict[str, str | list[str]]:
    """Input files of a task's ``dataset_build`` job, by kind.

    Genome tasks take the prepared genome plus the normalised annotation (``epd``, ``peaks``
    or ``gtf``); imported tasks take only their own files.
    """
    col = _collection_of(cfg, task)
    if col is not None:
        name, exp = col
        return {**genome_files(cfg.collections[name].genome), "peaks": collection_peaks(name, exp)}
    spec = cfg.tasks[task]
    if spec.kind == "expression":
        return {"table": expression_table(cfg, task)}
    if spec.kind == "imported":
        p = Path(spec.path)
        out: dict[str, str | list[str]] = {}
        if spec.format == "gue_csv":
            out["path"] = [str(p / f"{s}.csv") for s in SPLIT_NAMES]
        elif spec.format == "dnabert_tsv" and p.is_dir():
            out["path"] = [str(p / f"{s}.tsv") for s in SPLIT_NAMES if (p / f"{s}.tsv").exists()]
        else:
            out["path"] = str(p)
        if spec.labels:
            out["labels"] = str(spec.labels)
        if spec.genome is not None:  # rows are checked against the genome (dnalm.importers)
            out.update(genome_files(spec.genome))
        return out
    g = spec.genome
    out = dict(genome_files(g))
    adir = f"resources/annotations/{g}"
    if spec.kind == "promoter":
        out["epd"] = f"{adir}/epd.tsv"
    elif spec.kind == "tfbs":
        out["peaks"] = f"{adir}/peaks/{spec.experiment}.narrowPeak.gz"
    elif spec.kind in ("splice", "pas", "tis"):
        out["gtf"] = f"{adir}/genes.gtf.gz"
    return out


def splice_loop_tasks(cfg: Config) -> list[str]:
    """Splice tasks with ``hard_negatives`` (their dataset is the last hard-negative round)."""
    return [t for t, spec in cfg.tasks.items() if spec.hard_negatives is not None]


def dataset_build_pattern(cfg: Config) -> str:
    """``{task}`` of rule dataset_build: every task but the hard-negative loop tasks."""
    loop = splice_loop_tasks(cfg)
    if not loop:
        return task_pattern(cfg)
    return rf"(?!(?:{alternation(loop)})/)(?:{task_pattern(cfg)})"


def splice_round_files(task: str, r: int | str) -> dict[str, str]:
    """Round ``r``'s dataset of a hard-negative loop (round 0 = the ordinary build)."""
    d = f"results/datasets/{task}/rounds/r{r}"
    return {**{s: f"{d}/{s}.tsv.gz" for s in SPLIT_NAMES}, "card": f"{d}/card.json"}


def splice_loop_dir(task: str, r: int | str | None = None) -> str:
    """``results/splice_loop/{task}`` or its round ``r`` folder (model, round.json, added.tsv.gz)."""
    d = f"results/splice_loop/{task}"
    return d if r is None else f"{d}/r{r}"


def splice_loop_rounds(cfg: Config, task: str) -> int:
    """Number of hard-negative rounds after round 0."""
    return cfg.tasks[task].hard_negatives.rounds


def splice_loop_heldout(task: str) -> str:
    """The fixed GT/AG non-sites each round's false-positive rate is measured on."""
    return f"{splice_loop_dir(task)}/heldout.tsv.gz"


def splice_mine_inputs(cfg: Config, task: str, r: int | str) -> dict[str, str | list[str]]:
    """Inputs of hard-negative round ``r`` (>= 1): genome + GTF, round ``r - 1`` and its model."""
    prev = int(r) - 1
    return {**dataset_inputs(cfg, task),
            **{f"prev_{k}": v for k, v in splice_round_files(task, prev).items()},
            "model": f"{splice_loop_dir(task, prev)}/model", "heldout": splice_loop_heldout(task)}  # fmt: skip


def splice_loop_seed(cfg: Config, task: str) -> int:
    """Seed of the loop's models: the task's first fine-tuning seed."""
    return cfg.task_seeds(task)[0]


def splice_train_inputs(cfg: Config, task: str, r: int | str) -> dict[str, str]:
    """Inputs of rule splice_loop_train: round ``r``'s dataset and the held-out pool.

    The last round's model is the task's own fine-tuning run of ``hard_negatives.model`` (same
    data, settings and seed) when the task fine-tunes that model and the loop sets no
    ``epochs``/``min_steps`` of its own: ``trained`` names that run, which is then reused.
    """
    out = {**splice_round_files(task, r), "heldout": splice_loop_heldout(task)}
    hn = cfg.tasks[task].hard_negatives
    if (int(r) == hn.rounds and hn.model in cfg.task_models(task)
            and hn.epochs is None and hn.min_steps is None):  # fmt: skip
        out["trained"] = f"{finetune_dir(task, hn.model, splice_loop_seed(cfg, task))}/metrics.json"
    return out


def splice_round_jsons(cfg: Config, task: str) -> list[str]:
    """``round.json`` of rounds 0..N of a loop task."""
    return [f"{splice_loop_dir(task, r)}/round.json" for r in range(splice_loop_rounds(cfg, task) + 1)]


def splice_loop_table(task: str) -> str:
    """The per-round table of a loop task."""
    return f"{splice_loop_dir(task)}/rounds.tsv"


def splice_loop_outputs(cfg: Config) -> list[str]:
    """The per-round table of every loop task."""
    return [splice_loop_table(t) for t in splice_loop_tasks(cfg)]


def expression_table(cfg: Config, task: str) -> str:
    """An expression task's table: its local file, else where rule expression_download puts it."""
    path = local_path(cfg.tasks[task].table.url)
    return path if path is not None else f"resources/expression/{task}/table.txt.gz"


def expression_source(cfg: Config, task: str) -> dict[str, Any]:
    """``tasks.<task>.table`` as params of rule expression_download."""
    return canonical(cfg.tasks[task].table)


def expression_tasks(cfg: Config, remote: bool = False) -> list[str]:
    """Expression (regression) tasks; with ``remote``, only those whose table is downloaded."""
    return [t for t, spec in cfg.tasks.items() if spec.kind == "expression"
            and (not remote or local_path(spec.table.url) is None)]  # fmt: skip


def regression_outputs(cfg: Config, name: str = "metrics.json") -> list[str]:
    """``name`` of every k-mer ridge run of the expression tasks (rule expression_ridge)."""
    return [f"{finetune_dir(t, 'kmer_ridge', s)}/{name}" for t in expression_tasks(cfg) for s in cfg.task_seeds(t)]


def gpt_regression_outputs(cfg: Config, name: str = "metrics.json") -> list[str]:
    """``name`` of every GPT regression run of the expression tasks (rule gpt_regress)."""
    return [f"{finetune_dir(t, m, s)}/{name}" for t in expression_tasks(cfg)
            for m in cfg.regression_models(t) for s in cfg.task_seeds(t)]  # fmt: skip


def regression_table() -> str:
    """Expression regression, every model side by side (rule regression_summary)."""
    return "results/summary/regression.tsv"


def dataset_files(task: str) -> dict[str, str]:
    """The three splits and the card of a task."""
    d = f"results/datasets/{task}"
    return {**{s: f"{d}/{s}.tsv.gz" for s in SPLIT_NAMES}, "card": f"{d}/card.json"}


def imported_tasks(cfg: Config) -> list[str]:
    """Tasks of kind ``imported`` (each gets a BED of its rows with coordinates)."""
    return [t for t, spec in cfg.tasks.items() if spec.kind == "imported"]


def imported_bed(task: str) -> str:
    """BED6 of an imported task's rows with coordinates (rule imported_bed)."""
    return f"results/datasets/{task}/regions.bed"


def task_params(cfg: Config, task: str) -> dict[str, Any]:
    """A task's config entry as rule params (without ``models``/``seeds``, which select jobs,
    nor ``min_steps`` and ``long_input``, which only the fine-tuning rules read).

    A collection task ``<collection>__<id>`` gets a tfbs entry built from ``collections.<c>``:
    its genome, experiment ``<id>`` and the collection's ``task`` keys.
    """
    col = _collection_of(cfg, task)
    if col is not None:
        name, exp = col
        spec = cfg.collections[name]
        return canonical({"kind": "tfbs", "genome": spec.genome, "experiment": exp,
                          **canonical(spec.task)})  # fmt: skip
    data = canonical(cfg.tasks[task])
    data.pop("models", None)
    data.pop("seeds", None)
    data.pop("min_steps", None)  # training length and pooling: the fine-tuning rules' params
    data.pop("long_input", None)  # (dnalm.paths.finetune_params); a dataset reads neither
    return data


# ----------------------------------------------------------------------------- pretraining


def corpus_stats(genome: str) -> str:
    """``stats.json`` of a genome's corpus (written after all of its shards)."""
    return f"results/corpus/{genome}/stats.json"


def pretrain_corpus_stats(cfg: Config, lm: str) -> str:
    """The corpus a trained language model reads (one corpus per genome serves every k)."""
    return corpus_stats(cfg.language_models[lm].genome)


def pretrain_params(cfg: Config, lm: str) -> dict[str, Any]:
    """k, size, preset name and the full preset of a trained language model."""
    spec = cfg.language_models[lm]
    return {"k": spec.k, "size": spec.size, "preset_name": spec.preset,
            "preset": canonical(cfg.pretrain_presets[spec.preset])}  # fmt: skip


def lm_dir(model: str) -> str:
    """The pretrained model directory a fine-tuned model starts from."""
    return f"results/pretrain/{model_lm(model)}/model"


def scratch_reads_architecture_only(cfg: Config, model: str) -> bool:
    """Whether a fine-tuning run's ``input.lm`` is marked ancient: a ``-scratch`` control of a
    language model the workflow trains reads only the architecture from its directory (the
    config; the weights are random), so retraining the LM (new steps, lr, corpus) must not rerun
    it. A change of architecture still does, through :func:`scratch_params`. An imported LM's
    control keeps the plain input: its checkpoint may be replaced in place."""
    lm = model_lm(model)
    return model.endswith(SCRATCH_SUFFIX) and lm is not None and (
        lm in cfg.trained_lms() or lm in cfg.gpt_lms())


def scratch_params(cfg: Config, model: str) -> dict[str, Any] | bool:
    """``params.scratch`` of the fine-tuning rules: False for a pretrained run (and baselines);
    for a ``-scratch`` control, what fixes the architecture it reads from its LM directory
    (arch, k, size, the imported checkpoint), so that a change there reruns the control while
    a retrained LM alone does not (:func:`scratch_reads_architecture_only`)."""
    lm = model_lm(model)
    if not model.endswith(SCRATCH_SUFFIX) or lm is None:
        return False
    spec = cfg.language_models[lm]
    return {"arch": spec.arch, "k": spec.k, "size": spec.size, "pretrained": spec.pretrained}


def bert_models(cfg: Config) -> list[str]:
    """Every BERT model name: each BERT language model and its ``-scratch`` control."""
    return [m for lm, spec in cfg.language_models.items() if spec.arch == "bert"
            for m in (lm, lm + SCRATCH_SUFFIX)]  # fmt: skip


def gpt_models(cfg: Config) -> list[str]:
    """Every GPT model name (rules gpt_finetune, gpt_regress): each GPT LM and its ``-scratch`` control."""
    return [m for lm in cfg.gpt_lms() for m in (lm, lm + SCRATCH_SUFFIX)]


# ----------------------------------------------------------------------------- fine-tuning


def finetune_dir(task: str, model: str, seed: int) -> str:
    return f"results/finetune/{task}/{model}/seed{seed}"


def finetune_ckpt_dir(task: str, model: str, seed: int | str) -> str:
    """Step checkpoints of one fine-tuning run (undeclared, so a rerun finds them)."""
    return f"{finetune_dir(task, model, seed)}/checkpoints"


def finetune_params(cfg: Config, rule: str, task: str, model: str) -> dict[str, Any]:
    """The resolved fine-tuning recipe of one run, as its rule's params
    (:meth:`dnalm.settings.Finetune.recipe`, with the task's own ``min_steps``/``long_input``).

    Only what the run reads: changing ``lr.baseline`` reruns no BERT, ``gpt.patience`` no
    baseline, ``long_input`` no baseline or GPT, and a task's ``min_steps`` only that task.
    """
    ft = cfg.finetune
    if rule == "bert_finetune":
        return ft.recipe(model, long_input=cfg.task_long_input(task), min_steps=cfg.task_min_steps(task))
    rec = ft.recipe(model, gpt=rule == "gpt_finetune", min_steps=cfg.task_min_steps(task))
    rec.pop("long_input", None)  # gpt_regress: a GPT reads none
    return rec


def finetune_outputs(cfg: Config, name: str = "metrics.json") -> list[str]:
    """``name`` of every fine-tuning run (task x model x seed)."""
    return [
        f"{finetune_dir(t, m, s)}/{name}"
        for t in cfg.tasks
        for m in cfg.task_models(t)
        for s in cfg.task_seeds(t)
    ]


def scarce_tasks(cfg: Config) -> list[str]:
    """Data-scarce tasks (``tasks.<t>.max_train`` set) fine-tuned with an LM and its scratch control."""
    out = []
    for t, spec in cfg.tasks.items():
        models = cfg.task_models(t)
        if spec.max_train is not None and any(m + SCRATCH_SUFFIX in models for m in models):
            out.append(t)
    return out


def benefit_pairs(cfg: Config) -> list[tuple[str, str]]:
    """``(task, lm)`` of rule pretraining_benefit: each LM with its ``-scratch`` control on the
    data-scarce tasks, and each GPT LM with its ``-scratch`` control on every task listing both."""
    scarce, gpt = set(scarce_tasks(cfg)), set(cfg.gpt_lms())
    out = []
    for t in cfg.tasks:
        models = cfg.task_models(t)
        out += [(t, m) for m in models if m + SCRATCH_SUFFIX in models and (t in scarce or m in gpt)]
    return out


def benefit_outputs(cfg: Config, name: str = "metrics.json") -> list[str]:
    """``name`` of every LM and ``-scratch`` run of :func:`benefit_pairs` (rule pretraining_benefit)."""
    return [f"{finetune_dir(t, model, s)}/{name}" for t, m in benefit_pairs(cfg)
            for model in (m, m + SCRATCH_SUFFIX) for s in cfg.task_seeds(t)]  # fmt: skip


def first_seed_run(cfg: Config, task: str, model: str, name: str) -> str:
    """A file of the first seed's run: interpretation stages read that model."""
    return f"{finetune_dir(task, model, cfg.task_seeds(task)[0])}/{name}"


# ----------------------------------------------------------------------------- interpretation


def known_motif_file(db: str) -> str:
    """Where rule known_motifs_download puts ``motifs.sources.<db>`` (the bytes as fetched)."""
    return f"resources/known_motifs/{db}.txt"


def known_motif_inputs(cfg: Config, task: str) -> list[str]:
    """The known-motif file of the task's genome (``motifs.known_motifs.<genome>``), or [].

    A value that is a key of ``motifs.sources`` names that source's fetched file
    (:func:`known_motif_file`); any other value is a project-relative path (MEME, JASPAR or
    TRANSFAC; config validation keeps it inside the project).
    """
    ref = cfg.motifs.known_motifs.get(cfg.tasks[task].genome or "")
    if not ref:
        return []
    return [known_motif_file(ref)] if ref in cfg.motifs.sources else [ref]


def known_motif_source(cfg: Config, db: str) -> dict[str, Any]:
    """The ``motifs.sources.<db>`` entry ``{url, md5?, sha256?, checksum?}`` as rule params."""
    return canonical(cfg.motifs.sources[db])


def known_motif_source_inputs(cfg: Config, db: str) -> list[str]:
    """A local ``motifs.sources.<db>`` file as an input (so its producer, e.g. the simulator, runs first)."""
    path = local_path(cfg.motifs.sources[db].url)
    return [path] if path is not None else []


def motif_params(cfg: Config) -> dict[str, Any]:
    """The motifs section as rule motif_discover's params, without the key of the region rule
    that is not in use (:func:`region_params`)."""
    data = rule_params(cfg, "motifs")
    data.pop("mean_ratio" if cfg.motifs.region_rule == "quantile" else "quantile", None)
    return data


def region_params(cfg: Config) -> dict[str, Any]:
    """The high-attention region rule (``motifs.min_len``, ``region_rule``, ``min_ratio``,
    ``mean_ratio``, ``quantile``) as params of rule attention_extract, whose regions.bed uses it.

    ``quantile`` only under ``region_rule: quantile`` and ``mean_ratio`` only under ``dnabert``
    (a key the active rule never reads would rerun attention, motifs and variants for nothing);
    ``min_ratio`` always, as the summary's flat-attention count uses it under either rule.
    """
    m = cfg.motifs
    out = {"min_len": m.min_len, "region_rule": m.region_rule, "min_ratio": m.min_ratio}
    out.update({"quantile": m.quantile} if m.region_rule == "quantile" else {"mean_ratio": m.mean_ratio})
    return out


def attention_truth_inputs(cfg: Config, task: str) -> list[str]:
    """``truth/positions.tsv`` of the demo world whose genome the task uses, or [].

    A genome is a demo world's when its FASTA is that world's ``resources/demo/<world>/genome.fa.gz``
    (``simulate.<world>``); the attention stage then scores attention against the planted sites.
    """
    g = cfg.tasks[task].genome
    if g is None or g not in cfg.genomes:
        return []
    fasta = local_path(cfg.genomes[g].fasta.url)
    if fasta is None:
        return []
    for world in cfg.simulate:
        if Path(fasta) == Path(f"resources/demo/{world}/genome.fa.gz"):
            return [f"resources/demo/{world}/truth/positions.tsv"]
    return []


def vcf_inputs(cfg: Config, task: str) -> dict[str, str]:
    """Normalised dbSNP / ClinVar VCFs (+ index, + counts) configured for a task's genome."""
    g = cfg.tasks[task].genome
    ann = cfg.annotations.get(g)
    out = {}
    for src in ("dbsnp", "clinvar"):
        if ann is not None and getattr(ann, src) is not None:
            base = f"resources/annotations/{g}/{src}"
            out[src] = f"{base}.vcf.gz"
            out[f"{src}_tbi"] = f"{base}.vcf.gz.tbi"
            out[f"{src}_counts"] = f"{base}.normalise.json"
    return out


def variant_classifier(cfg: Config, model: str) -> str:
    """The fine-tuned model that scores the variants of ``results/variants/<task>/<model>/``:
    ``variants.classifier``, or ``model`` (``variants.model``) when that is null."""
    return cfg.variants.classifier or model


def variant_model_inputs(cfg: Config, task: str, model: str) -> dict[str, str]:
    """Genome, attention regions of ``model``, datasets + card, the scoring classifier (first
    seed; :func:`variant_classifier`) and ``model``'s LM (zero-shot LLR)."""
    g = cfg.tasks[task].genome
    gf = genome_files(g)
    return {
        "fasta": gf["fasta"],
        "fai": gf["fai"],
        "gzi": gf["gzi"],
        "regions": f"results/attention/{task}/{model}/regions.bed",
        **dataset_files(task),
        "classifier": first_seed_run(cfg, task, variant_classifier(cfg, model), "model"),
        "lm": lm_dir(model),
    }


def variant_shards(cfg: Config, task: str, model: str) -> list[str]:
    """Shard tables of rule variant_score_shard: ``shards/{i}-of-{n}.tsv.gz``, n = variants.scatter."""
    n = cfg.variants.scatter
    return [f"results/variants/{task}/{model}/shards/{i}-of-{n}.tsv.gz" for i in range(1, n + 1)]


def variant_gather_inputs(cfg: Config, task: str, model: str) -> dict[str, Any]:
    """Inputs of the gather rule variant_score: every shard (table + ``.json``), the genome,
    datasets, card and classifier (null, mutation maps), and the VCF normalise counts."""
    model_in = variant_model_inputs(cfg, task, model)
    keep = ("fasta", "fai", "gzi", "train", "dev", "test", "card", "classifier")
    out: dict[str, Any] = {k: model_in[k] for k in keep}
    shards = variant_shards(cfg, task, model)
    out["shards"] = shards
    out["shard_meta"] = [p[: -len(".tsv.gz")] + ".json" for p in shards]
    out.update({k: v for k, v in vcf_inputs(cfg, task).items() if k.endswith("_counts")})
    return out


def attribution_dir(task: str, model: str, seed: int | str) -> str:
    """Attribution maps of one fine-tuning run: ``{method}.npz`` (+ ``.json``, ``.bw``)."""
    return f"results/attribution/{task}/{model}/seed{seed}"


def attribution_has_coordinates(cfg: Config, task: str) -> bool:
    """Whether a task's rows carry genome coordinates (then a bigWig is written)."""
    spec = cfg.tasks.get(task)
    return spec is not None and spec.genome is not None  # imported tasks: with tasks.<t>.genome


def attribution_models(cfg: Config, task: str) -> list[str]:
    """Models attributed on a task: ``attribution.task_models.<task>``, else ``attribution.models``."""
    att = cfg.attribution
    return list(att.task_models.get(task, att.models))


def attribution_outputs(cfg: Config) -> list[str]:
    """Every attribution file: task x model (first seed) x method, ``.npz`` and ``.bw``."""
    att = cfg.attribution
    out = []
    for t in att.tasks:
        seed = cfg.task_seeds(t)[0]
        for m in attribution_models(cfg, t):
            d = attribution_dir(t, m, seed)
            for method in att.methods:
                out.append(f"{d}/{method}.npz")
                if attribution_has_coordinates(cfg, t):
                    out.append(f"{d}/{method}.bw")
    if att.variants != "off":
        for t in attribution_variant_tasks(cfg):
            seed = cfg.task_seeds(t)[0]
            out += [f"{attribution_dir(t, m, seed)}/variants_ism.tsv.gz" for m in attribution_models(cfg, t)]
    return out


def attribution_variant_tasks(cfg: Config) -> list[str]:
    """Attribution tasks whose variants are scored (also in ``variants.tasks``)."""
    return [t for t in cfg.attribution.tasks if t in cfg.variants.tasks]


def attribution_variant_inputs(cfg: Config, task: str, model: str, seed: int | str) -> dict[str, str]:
    """The variants stage's table, the genome (+ index) and the fine-tuning run's metrics and card."""
    gf = genome_files(cfg.tasks[task].genome)
    return {
        "scores": f"results/variants/{task}/{cfg.variants.model}/scores.tsv.gz",
        "fasta": gf["fasta"], "fai": gf["fai"], "gzi": gf["gzi"],
        "metrics": f"{finetune_dir(task, model, int(seed))}/metrics.json",
        "card": dataset_files(task)["card"],
    }


def attribution_fai(cfg: Config, task: str) -> str:
    """The ``.fai`` of a task's genome (contig sizes of the bigWig header)."""
    return genome_files(cfg.tasks[task].genome)["fai"]


# ----------------------------------------------------------------------------- attribution motifs


def modisco_selection(cfg: Config) -> tuple[list[str], list[str], list[str]]:
    """Tasks, models and methods of TF-MoDISco: ``modisco.<key>``, or ``attribution.<key>`` when null."""
    mod, att = cfg.modisco, cfg.attribution
    return (list(att.tasks if mod.tasks is None else mod.tasks),
            list(att.models if mod.models is None else mod.models),
            list(att.methods if mod.methods is None else mod.methods))  # fmt: skip


def modisco_models(cfg: Config, task: str) -> list[str]:
    """Models TF-MoDISco reads on a task: ``modisco.models`` (those attributed on it), else all
    attributed on it (:func:`attribution_models`)."""
    have = attribution_models(cfg, task)
    chosen = cfg.modisco.models
    return have if chosen is None else [m for m in chosen if m in have]


def attribution_motif_dir(task: str, model: str, seed: int | str, method: str) -> str:
    """One TF-MoDISco run (``dnalm.attribution_motifs.OUTPUT_FILES`` inside)."""
    return f"results/attribution_motifs/{task}/{model}/seed{seed}/{method}"


def attribution_motif_runs(cfg: Config, task: str) -> list[dict[str, Any]]:
    """The TF-MoDISco runs of a task: ``{model, seed, method, dir}`` (first seed, as attribution)."""
    tasks, _, methods = modisco_selection(cfg)
    if task not in tasks:
        return []
    seed = cfg.task_seeds(task)[0]
    return [{"model": m, "seed": seed, "method": meth, "dir": attribution_motif_dir(task, m, seed, meth)}
            for m in modisco_models(cfg, task) for meth in methods]  # fmt: skip


def attribution_motif_inputs(cfg: Config, task: str, model: str, seed: int | str, method: str) -> dict[str, Any]:
    """Inputs of rule attribution_motifs: the attribution file, the model's metrics, the task
    card, the known motifs of the task's genome and, on a demo world, ``truth/positions.tsv``."""
    return {
        "attribution": f"{attribution_dir(task, model, seed)}/{method}.npz",
        "metrics": f"{finetune_dir(task, model, seed)}/metrics.json",
        "card": dataset_files(task)["card"],
        "known": known_motif_inputs(cfg, task),
        "truth": attention_truth_inputs(cfg, task),
    }


def interpretation_files(task: str) -> dict[str, str]:
    """The side-by-side attention-vs-attribution table and figure of a task."""
    d = f"results/summary/interpretation/{task}"
    return {"tsv": f"{d}.tsv", "png": f"{d}.png", "svg": f"{d}.svg"}


def interpretation_inputs(cfg: Config, task: str) -> dict[str, Any]:
    """Inputs of rule interpretation_summary, by row: the attention motifs (when the task is in
    ``motifs.tasks``) and every TF-MoDISco run of the task, plus the known motifs."""
    att: dict[str, dict[str, str]] = {}
    if task in cfg.motifs.tasks and cfg.attention.model:
        m = cfg.attention.model
        att[m] = {"summary": f"results/motifs/{task}/{m}/summary.json",
                  "matches": f"results/motifs/{task}/{m}/matches.tsv",
                  "site_summary": f"results/attention/{task}/{m}/summary.json",
                  "metrics": first_seed_run(cfg, task, m, "metrics.json")}  # fmt: skip
    runs = [{"model": r["model"], "seed": r["seed"], "method": r["method"],
             "summary": f"{r['dir']}/summary.json", "matches": f"{r['dir']}/matches.tsv"}
            for r in attribution_motif_runs(cfg, task)]  # fmt: skip
    return {"attention": att, "attribution": runs, "known": known_motif_inputs(cfg, task)}


def interpretation_input_files(cfg: Config, task: str) -> list[str]:
    """Every file of :func:`interpretation_inputs` (the rule's input list)."""
    ins = interpretation_inputs(cfg, task)
    out = [p for d in ins["attention"].values() for p in d.values()]
    out += [r[k] for r in ins["attribution"] for k in ("summary", "matches")]
    return out + list(ins["known"])


# ----------------------------------------------------------------------------- collections


def task_pattern(cfg: Config) -> str:
    """Wildcard constraint of ``{task}``: a configured task or ``<collection>__<experiment id>``."""
    pattern = alternation(cfg.tasks)
    if cfg.collections:
        pattern += rf"|(?:{alternation(cfg.collections)})__[A-Za-z0-9][A-Za-z0-9_.-]*"
    return pattern


def _collection_of(cfg: Config, task: str) -> tuple[str, str] | None:
    """``(collection, experiment)`` of a collection task, None for a configured task."""
    if task in cfg.tasks or "__" not in task:
        return None
    name, exp = task.split("__", 1)
    if name not in cfg.collections:
        raise ValueError(f"task {task!r}: no collection {name!r} (collections: {sorted(cfg.collections)})")
    return name, exp


def collection_table(name: str) -> str:
    """The fetched metadata table of a collection."""
    return f"resources/collections/{name}/table.txt"


def collection_manifest(name: str) -> str:
    """The checkpoint output: one row per experiment kept (``dnalm.tf_collections``)."""
    return f"resources/collections/{name}/manifest.tsv"


def collection_peaks(name: str, experiment: str) -> str:
    """One experiment's verified narrowPeak, contigs renamed to the genome's names."""
    return f"resources/collections/{name}/peaks/{experiment}.narrowPeak.gz"


def collection_table_inputs(cfg: Config, name: str) -> list[str]:
    """The table as an input file when it is local (so its producer, e.g. the demo, runs first)."""
    path = local_path(cfg.collections[name].table.url)
    return [path] if path is not None else []


def collection_manifest_params(cfg: Config, name: str) -> dict[str, Any]:
    """Params of checkpoint collection_manifest: format, table URL, base_url and filters."""
    col = cfg.collections[name]
    out = {"format": col.format, "table_url": col.table.url, "filters": canonical(col.filters)}
    if col.base_url is not None:
        out["base_url"] = col.base_url
    return out


def collection_row(name: str, experiment: str) -> dict[str, str]:
    """Params of rule collection_peaks: the experiment's url and md5 ({} before the manifest exists)."""
    from dnalm.tf_collections import manifest_entry

    manifest = Path(collection_manifest(name))
    if not manifest.exists():
        return {}
    e = manifest_entry(manifest, experiment)
    return {"md5": e.md5, "url": e.url}


def demo_peak_files(cfg: Config, world: str) -> list[str]:
    """The narrowPeak files a demo world writes (listed by rule demo_files_txt)."""
    from dnalm.sim.spec import output_files, world_spec

    peaks = world_spec(canonical(cfg.simulate), world)["peaks"]
    return [f"resources/demo/{world}/{f}" for f in output_files(peaks) if f.startswith("peaks/")]


def collection_runs(cfg: Config, name: str, experiments: Iterable[str], fname: str = "metrics.json") -> list[str]:
    """``fname`` of every fine-tuning run of a collection (experiment x model x seed)."""
    col = cfg.collections[name]
    return [
        f"{finetune_dir(f'{name}__{e}', m, s)}/{fname}"
        for e in experiments
        for m in cfg.collection_models(name)
        for s in col.seeds
    ]


def collection_summary_inputs(cfg: Config, name: str, manifest: str) -> dict[str, Any]:
    """Inputs of rule collection_summary: the manifest and every run's ``metrics.json``."""
    from dnalm.tf_collections import read_manifest

    exps = [e.id for e in read_manifest(manifest)]
    return {"manifest": manifest, "metrics": collection_runs(cfg, name, exps, "metrics.json")}


def collection_summary_files(name: str) -> dict[str, str]:
    """The cross-experiment summary of a collection (rule collection_summary)."""
    d = f"results/summary/collections/{name}"
    return {"tsv": f"{d}.tsv", "wilcoxon": f"{d}_wilcoxon.tsv", "png": f"{d}.png", "svg": f"{d}.svg"}


# ----------------------------------------------------------------------------- use a trained model

#: Config blocks of the ``dnalm`` subcommand rules (workflow/rules/usemodel.smk).
USEMODEL_SECTIONS = ("predict", "embed", "scan", "score")


def usemodel_outputs(section: str, name: str) -> dict[str, str]:
    """Outputs of one ``predict`` / ``embed`` / ``scan`` / ``score`` job under ``results/<section>/<name>/``."""
    d = f"results/{section}/{name}"
    files = {
        "predict": {"tsv": "predictions.tsv"},
        "embed": {"npy": "embeddings.npy", "index": "embeddings.index.tsv"},
        "scan": {"bedgraph": "scan.bedGraph", "bigwig": "scan.bw", "bed": "scan.bed", "json": "scan.json"},
        "score": {"vcf": "variants.vcf.gz", "tsv": "variants.tsv", "json": "variants.json"},
    }[section]
    return {key: f"{d}/{f}" for key, f in files.items()}


def _model_inputs(cfg: Config, ref: str, key: str, allow_lm: bool) -> dict[str, str]:
    from dnalm.settings.checks import model_ref

    m = model_ref(cfg, ref, allow_lm=allow_lm)
    out = {key: m.path}
    if m.kind == "run":
        out[f"{key}_card"] = dataset_files(m.task)["card"]
    return out


def usemodel_inputs(cfg: Config, section: str, name: str) -> dict[str, str]:
    """Inputs of one ``dnalm`` subcommand job: ``model`` (+ ``model_card`` for a fine-tuning run
    of this config), the genome's ``fasta``/``fai``/``gzi``, the run's ``fasta``/``bed``/
    ``regions``/``vcf``/``truth`` (``seqs`` for a predict/embed FASTA) and ``lm``."""
    run = getattr(cfg, section)[name]
    out = _model_inputs(cfg, run.model, "model", allow_lm=section == "embed")
    genome = getattr(run, "genome", None)
    if genome is not None:
        gf = genome_files(genome)
        out.update(fasta=gf["fasta"], fai=gf["fai"], gzi=gf["gzi"])
    if getattr(run, "fasta", None) is not None:
        out["seqs"] = run.fasta
    for key in ("bed", "regions", "vcf", "truth"):
        if isinstance(getattr(run, key, None), str):  # score's regions: CHR:START-END, no file
            out[key] = getattr(run, key)
    if getattr(run, "lm", None) is not None:
        out.update(_model_inputs(cfg, run.lm, "lm", allow_lm=True))
    return out


def usemodel_params(cfg: Config, section: str, name: str) -> dict[str, Any]:
    """The run's config entry as rule params (plain, key-sorted; unset keys left out)."""
    return canonical(getattr(cfg, section)[name])


def usemodel_final_outputs(cfg: Config) -> list[str]:
    """Every configured ``predict`` / ``embed`` / ``scan`` / ``score`` job's outputs."""
    return [f for section in USEMODEL_SECTIONS for name in getattr(cfg, section)
            for f in usemodel_outputs(section, name).values()]  # fmt: skip


# ----------------------------------------------------------------------------- haplotypes


def haplotype_files(name: str) -> dict[str, str]:
    """Files of one artificial-genome experiment (workflow/rules/haplotypes.smk)."""
    r, d = f"resources/haplotypes/{name}", f"results/haplotypes/{name}"
    return {
        "source": f"{r}/source.vcf.gz", "source_tbi": f"{r}/source.vcf.gz.tbi",
        "train": f"{d}/train.npz", "held_out": f"{d}/held_out.npz",
        "artificial": f"{d}/artificial.npz", "vcf": f"{d}/artificial.vcf.gz",
        "tbi": f"{d}/artificial.vcf.gz.tbi", "generate": f"{d}/generate.json",
        "metrics": f"{d}/metrics.tsv", "summary": f"{d}/summary.json", "figures": f"{d}/figures",
        "gpt_model": f"{d}/gpt/model", "gpt_samples": f"{d}/gpt/samples.npz",
        "gpt_log": f"{d}/gpt/train_log.tsv", "gpt_info": f"{d}/gpt/generate.json",
    }  # fmt: skip


def haplotype_sets(cfg: Config, kind: str) -> list[str]:
    """Experiments whose real haplotypes come from ``kind``: ``simulate`` or ``vcf``."""
    return [n for n, h in cfg.haplotypes.items() if getattr(h, kind) is not None]


def haplotype_params(cfg: Config, name: str, step: str) -> dict[str, Any]:
    """Params of one haplotypes rule (``simulate``, ``fetch``, ``split``, ``generate``, ``evaluate``)."""
    h = cfg.haplotypes[name]
    keys = {
        "simulate": (), "fetch": ("vcf", "index"),
        "split": ("region", "min_maf", "max_sites", "held_out_fraction", "split_seed"),
        "generate": ("generators", "markov_order", "n_artificial", "seed"),
        "gpt": ("n_artificial", "seed"),
        "evaluate": ("ld_window", "n_components", "n_boot", "seed"),
    }[step]  # fmt: skip
    if step == "simulate":
        return {**canonical(h.simulate), "min_maf": h.min_maf, "max_sites": h.max_sites}
    if step == "gpt":
        g = canonical(h.gpt)
        return {**g, "lm": None if h.gpt.lm is None else lm_dir(h.gpt.lm),
                **{k: canonical(getattr(h, k)) for k in keys}}
    return {k: canonical(getattr(h, k)) for k in keys}


def haplotype_generate_inputs(cfg: Config, name: str) -> dict[str, str]:
    """Inputs of rule haplotypes_generate: the training set, and each trained model's samples."""
    f = haplotype_files(name)
    out = {"train": f["train"]}
    if "gpt" in cfg.haplotypes[name].generators:
        out |= {"gpt": f["gpt_samples"], "gpt_info": f["gpt_info"]}
    return out


def haplotype_gpt_inputs(cfg: Config, name: str) -> dict[str, str]:
    """Inputs of rule haplotypes_gpt: the training set, and the pretrained GPT it starts from."""
    lm = cfg.haplotypes[name].gpt.lm
    return {"train": haplotype_files(name)["train"], **({"lm": lm_dir(lm)} if lm else {})}


# ----------------------------------------------------------------------------- targets


def final_outputs(cfg: Config) -> list[str]:
    """Everything ``rule all`` builds."""
    out: list[str] = ["results/summary/software.tsv", "results/report/overview.html"]
    out += [dataset_files(t)["card"] for t in cfg.tasks]
    out += [imported_bed(t) for t in imported_tasks(cfg)]
    for lm in cfg.trained_lms() + cfg.gpt_lms():
        out.append(f"results/pretrain/{lm}/train_log.tsv")
        out.append(pretrain_corpus_stats(cfg, lm))
    out += finetune_outputs(cfg)
    out += regression_outputs(cfg)
    if expression_tasks(cfg):
        out.append(regression_table())
    if cfg.tasks and cfg.finetune.models:
        out.append("results/summary/benchmarks.tsv")
    if benefit_pairs(cfg):
        out.append("results/summary/pretraining_benefit.tsv")
    if cfg.finetune.models and pooling_groups(cfg):
        out.append(long_input_summary_file())
    att = cfg.attention
    out += [f"results/attention/{t}/{att.model}/landscape.png" for t in att.tasks]
    out += [f"results/motifs/{t}/{att.model}/matches.tsv" for t in cfg.motifs.tasks]
    var = cfg.variants
    out += [f"results/variants/{t}/{var.model}/summary.json" for t in var.tasks]
    out += [collection_summary_files(name)["tsv"] for name in cfg.collections]
    out += attribution_outputs(cfg)
    out += [interpretation_files(t)["tsv"] for t in modisco_selection(cfg)[0]]
    out += usemodel_final_outputs(cfg)
    out += [haplotype_files(name)["metrics"] for name in cfg.haplotypes]
    out += splice_loop_outputs(cfg)
    return list(dict.fromkeys(out))


def long_input_summary_file() -> str:
    """Pooling comparison of long-input tasks (rule long_input_summary)."""
    return "results/summary/long_input.tsv"


def pooling_groups(cfg: Config) -> dict[str, dict[str, str]]:
    """Long-input pooling comparison groups, ``{group: {task: pooling}}`` (rule params)."""
    from dnalm.long_input_summary import pooling_groups as groups

    return groups(cfg)


def baseline_models() -> list[str]:
    return list(BASELINES)
