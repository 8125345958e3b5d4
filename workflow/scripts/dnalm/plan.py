"""Size an allocation before running: jobs, CPU-hours, GPU-hours and disk per stage of a config.

:func:`plan` works from the validated config alone (presets, genome and task sizes, and the
throughput figures of ``plan``), so it runs before any download. Job counts follow the rules of
the DAG (one entry per rule, mapped to a stage by :data:`STAGES`); ``tests/test_plan.py`` checks
them against Snakemake's own dry run. Costs are estimates:

- pretraining: ``steps x sequences per step x tokens per sequence / training tokens per second``
  (tokens per sequence from the corpus piece lengths: half ``max_len``, half uniform);
- fine-tuning: training tokens (``max(epochs x batches, min_steps)`` steps) at the training
  rate plus dev/test forward passes at ``inference_speedup`` x that rate;
- attention, variants: forward passes over test windows, variants and their null;
- genome preparation and corpus: bases / a CPU rate; every other CPU job a fixed few minutes,
  ``splice_loop_train`` those minutes per model it trains (``hard_negatives.eval_seeds`` a round).

Jobs of ``plan.gpu_rules`` count as GPU-hours, every other job as CPU-hours. Sizes only known
after a download come from ``plan.genomes``, ``plan.task_rows`` and
``plan.collection_experiments`` (demo worlds: from their simulator preset); a size that is
missing makes its cells NaN (printed ``?``) and adds a note naming the key to set.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dnalm.settings import BASELINES, Config, Task, canonical, model_lm

__all__ = ["STAGES", "Plan", "format_plan", "plan", "write_plan"]

#: Stage -> the rules whose jobs it counts (``demo_simulate*`` rules go to download).
STAGES: dict[str, tuple[str, ...]] = {
    "download": ("demo_simulate", "genome_download", "genome_assembly_report", "genome_prepare",
                 "annotation_epd", "annotation_gtf", "annotation_peaks", "vcf_normalise",
                 "known_motifs_download", "demo_files_txt", "collection_table", "collection_manifest",
                 "collection_peaks", "expression_download"),
    "corpus": ("corpus_shard", "corpus_stats"),
    "pretrain": ("bert_pretrain", "lm_import", "gpt_pretrain"),
    "datasets": ("dataset_build", "splice_round0", "splice_loop_heldout", "splice_loop_train",
                 "splice_loop_mine", "splice_loop_final", "splice_loop_table", "imported_bed"),
    "finetune": ("bert_finetune", "baseline_finetune", "summary_build", "pretraining_benefit",
                 "collection_summary", "expression_ridge", "long_input_summary", "gpt_finetune",
                 "gpt_regress", "regression_summary"),
    "attention": ("attention_extract",),
    "motifs": ("motif_discover", "attribution_maps", "attribution_bigwig", "attribution_variants",
               "attribution_motifs", "interpretation_summary"),
    "variants": ("variant_score_shard", "variant_score"),
    "usemodel": ("dataset_fasta", "dnalm_predict", "dnalm_embed", "dnalm_scan", "dnalm_score"),
    "haplotypes": ("haplotypes_simulate", "haplotypes_fetch", "haplotypes_split", "haplotypes_gpt",
                   "haplotypes_generate", "haplotypes_evaluate"),
    "report": ("report_tables", "summary_section", "report_overview", "all"),
}  # fmt: skip
_GB = 1e9
_MAX_TOKENS = 512  # the model's positions
_VOCAB_SPECIAL = 5
#: bytes per base: bgzip FASTA, corpus shard (measured: bench/README.md, bench_corpus)
_FASTA_BYTES_PER_BP = 0.3
_SHARD_BYTES_PER_BP = 1.06


def stage_of(rule: str) -> str:
    """The stage a rule belongs to (``demo_simulate*`` -> download).

    Raises
    ------
    KeyError
        For a rule of no stage.
    """
    name = "demo_simulate" if rule.startswith("demo_simulate") else rule
    for stage, rules in STAGES.items():
        if name in rules:
            return stage
    raise KeyError(f"rule {rule!r} belongs to no stage of dnalm.plan.STAGES")


@dataclass
class Plan:
    """A config's plan: jobs per rule, and per-stage CPU-hours, GPU-hours and disk (GB)."""

    jobs: dict[str, int]
    cpu_hours: dict[str, float]
    gpu_hours: dict[str, float]
    disk_gb: dict[str, float]
    deferred: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: models trained per rule where one job trains several (``splice_loop_train``: eval_seeds each)
    trainings: dict[str, int] = field(default_factory=dict)

    def stage_jobs(self) -> dict[str, int]:
        """Job count per stage."""
        out = dict.fromkeys(STAGES, 0)
        for rule, n in self.jobs.items():
            out[stage_of(rule)] += n
        return out

    def rows(self) -> list[dict[str, Any]]:
        """One dict per stage (``stage, jobs, cpu_hours, gpu_hours, disk_gb``), then ``total``."""
        jobs = self.stage_jobs()
        rows = [{"stage": s, "jobs": jobs[s], "cpu_hours": self.cpu_hours.get(s, 0.0),
                 "gpu_hours": self.gpu_hours.get(s, 0.0), "disk_gb": self.disk_gb.get(s, 0.0)}
                for s in STAGES]  # fmt: skip
        total = {"stage": "total"}
        for key in ("jobs", "cpu_hours", "gpu_hours", "disk_gb"):
            total[key] = sum(r[key] for r in rows)
        return [*rows, total]

    def to_dict(self) -> dict[str, Any]:
        return {"stages": self.rows(), "jobs_per_rule": dict(self.jobs),
                "jobs_after_checkpoints": dict(self.deferred), "trainings_per_rule": dict(self.trainings),
                "notes": list(self.notes)}  # fmt: skip


# ----------------------------------------------------------------------------- sizes


def _bert_params(k: int, size: str) -> int:
    """Parameters of a k-mer BERT masked LM of a size preset (embeddings, encoder, MLM head)."""
    from dnalm.modeling import SIZES

    s = SIZES[size]
    h, n, inter = s["hidden_size"], s["num_hidden_layers"], s["intermediate_size"]
    vocab = 4**k + _VOCAB_SPECIAL
    emb = (vocab + _MAX_TOKENS + 2) * h + 2 * h
    layer = 4 * (h * h + h) + 2 * h + (h * inter + inter) + (inter * h + h) + 2 * h
    head = h * h + h + 2 * h + vocab
    return emb + n * layer + head


def _genome_size(cfg: Config, genome: str, notes: list[str]) -> tuple[float, float]:
    """(kept bp, kept contigs) of a genome: ``plan.genomes.<g>``, else its demo world's preset."""
    rx = re.compile(cfg.genomes[genome].contigs)
    declared = cfg.plan.genomes.get(genome)
    if declared is not None:
        return float(declared.size_bp), float(declared.contigs)
    world = _demo_world(cfg, genome)
    if world is not None:
        from dnalm.sim.presets import PRESETS

        spec = cfg.simulate[world]
        kept = [c for c in PRESETS[spec.preset].chroms if rx.fullmatch(c.ucsc)]
        return float(sum(int(c.length * spec.scale) for c in kept)), float(len(kept))
    notes.append(f"genome {genome}: size unknown; declare plan.genomes.{genome}.size_bp and .contigs")
    return math.nan, math.nan


def _demo_world(cfg: Config, genome: str) -> str | None:
    url = cfg.genomes[genome].fasta.url
    for world in cfg.simulate:
        if url.removeprefix("file:").startswith(f"resources/demo/{world}/"):
            return world
    return None


def _demo_promoters(cfg: Config, world: str, subset: str) -> float:
    """Promoters a demo world plants (genes x scale x TSSs per gene), of a TATA subset."""
    from dnalm.sim.presets import PRESETS

    spec = cfg.simulate[world]
    preset = PRESETS[spec.preset]
    n = preset.n_genes * spec.scale * (1 + preset.p_two_tss)
    share = {"all": 1.0, "tata": preset.tata_fraction, "notata": 1 - preset.tata_fraction}[subset]
    return n * share


def _window_bp(cfg: Config, spec: Task) -> int:
    if spec.kind == "promoter" and isinstance(spec.window, list):
        return spec.window[1] - spec.window[0] + 1
    if spec.kind in ("splice", "pas", "tis") and isinstance(spec.window, int):
        return spec.window
    if spec.kind == "expression" and isinstance(spec.window, list):
        return spec.window[1] - spec.window[0] + 1
    if spec.kind == "tfbs":
        return 2 * spec.flank + 1
    return cfg.plan.imported_length


def _task_rows(cfg: Config, task: str, spec: Task) -> dict[str, float]:
    """Estimated rows of a task's train/dev/test splits (declared, capped, or assumed)."""
    classes = 3 if spec.kind == "splice" else 2
    rows = cfg.plan.task_rows.get(task)
    world = _demo_world(cfg, spec.genome) if spec.genome in cfg.genomes else None
    if rows is None and spec.kind == "promoter" and world is not None:
        rows = 2 * _demo_promoters(cfg, world, spec.subset)  # one negative per promoter
    if rows is None and spec.kind == "tfbs" and world is not None:  # the world's peaks, one negative each
        from dnalm.sim.spec import world_spec

        peaks = world_spec(canonical(cfg.simulate), world)["peaks"].get(spec.experiment or "", {})
        n = peaks.get("n", 0) * cfg.simulate[world].scale
        rows = 2 * min(n, spec.top_n or n)
    if rows is None:
        rows = 2 * spec.top_n if spec.kind == "tfbs" and spec.top_n else cfg.plan.default_task_rows
    if spec.max_per_class is not None:
        rows = min(rows, classes * spec.max_per_class)
    split = cfg.splits
    out = {"train": rows * split.train, "dev": rows * split.dev, "test": rows * split.test}
    if spec.max_train is not None:
        out["train"] = min(out["train"], spec.max_train)
    return out


#: Rate class (``plan.*_tokens_per_s``) of a GPT size: DNAGPT-S's 12 x 768 x 12 heads are BERT-base's
#: dimensions (about the same FLOPs per token); the tiny GPT (4 x 128) sits between BERT tiny and
#: small and is costed as small (the slower rate, so its hours are not understated).
_GPT_RATE = {"tiny": "small", "dnagpt_s": "base"}
#: Positions of the GPT size presets (dnalm.gpt.model.GPT_SIZES, not imported: no torch here).
GPT_POSITIONS = {"tiny": 256, "dnagpt_s": 512}


def _gpt_tokens(bp: float, positions: int | None = None) -> float:
    """Tokens of a ``bp``-long piece under the GPT tokenizer (non-overlapping 6-mers, a short tail
    token, and about 4 special or task tokens), at most ``positions``."""
    n = math.ceil(bp / 6) + 4
    return min(n, positions) if positions else n


def _gpt_size(cfg: Config, model: str) -> str:
    """Size preset of a GPT model's language model."""
    return cfg.language_models[model_lm(model) or ""].size


def _lm_of(cfg: Config, model: str) -> tuple[int, str]:
    """(k, size) of a BERT model's language model (imported checkpoints: k 6, base)."""
    spec = cfg.language_models.get(model_lm(model) or "")
    if spec is None or spec.pretrained is not None:
        return 6, "base"
    return spec.k, spec.size


# ----------------------------------------------------------------------------- jobs


def _collection_tasks(cfg: Config, notes: list[str]) -> dict[str, Task]:
    """The tfbs tasks of ``collections`` (one per experiment), as far as they can be known.

    A collection whose table a demo world writes lists that world's experiments; any other
    collection has ``plan.collection_experiments.<c>`` experiments (unknown: none, and a note).
    """
    from dnalm.sim.spec import world_spec

    out: dict[str, Task] = {}
    for name, col in cfg.collections.items():
        url = col.table.url.removeprefix("file:")
        worlds = [w for w in cfg.simulate if url == f"resources/demo/{w}/peaks/files.txt"]
        if worlds:
            exps = sorted(world_spec(canonical(cfg.simulate), worlds[0])["peaks"])
        elif name in cfg.plan.collection_experiments:
            exps = [f"exp{i + 1}" for i in range(cfg.plan.collection_experiments[name])]
        else:
            exps = []
            notes.append(f"collection {name}: experiments unknown before its table is fetched; "
                         f"declare plan.collection_experiments.{name}")  # fmt: skip
        t = col.task
        for exp in exps:
            out[f"{name}__{exp}"] = Task(
                genome=col.genome, kind="tfbs", experiment=exp, negatives=t.negatives, top_n=t.top_n,
                flank=t.flank, max_per_class=t.max_per_class, max_train=t.max_train, k=t.k,
                models=cfg.collection_models(name), seeds=list(col.seeds))
    return out


@dataclass
class _Jobs:
    """Jobs per rule (those a dry run lists, and those only known after a checkpoint) and the
    wildcard values whose cost differs from job to job."""

    jobs: dict[str, int]
    deferred: dict[str, int]
    tasks: dict[str, Task]
    genomes: list[str]
    corpus_genomes: list[str]
    runs: list[tuple[str, str, int]]
    attention: list[tuple[str, str]]


def _jobs(cfg: Config, notes: list[str]) -> _Jobs:
    """Every job of the DAG by rule, mirroring the rules' inputs and ``dnalm.paths.final_outputs``."""
    from dnalm.paths import (
        attribution_has_coordinates,
        attribution_models,
        attribution_variant_tasks,
        benefit_pairs,
        expression_tasks,
        gpt_regression_outputs,
        modisco_models,
        modisco_selection,
        regression_outputs,
    )
    from dnalm.paths import pooling_groups as long_input_groups
    from dnalm.reporting import task_sections
    from dnalm.sim import rule_groups

    ctasks = _collection_tasks(cfg, notes)
    tasks: dict[str, Task] = {**cfg.tasks, **ctasks}
    used = {s.genome for s in tasks.values() if s.kind != "imported"}
    used |= {c.genome for c in cfg.collections.values()}
    used |= {g for sec in (cfg.predict, cfg.scan, cfg.score) for r in sec.values() if (g := r.genome)}
    lm_genomes = {cfg.language_models[lm].genome for lm in cfg.trained_lms() + cfg.gpt_lms()}
    genomes = [g for g in cfg.genomes if g in used | lm_genomes]
    jobs: dict[str, int] = {}
    deferred: dict[str, int] = {}

    def add(rule: str, n: int, later: bool = False) -> None:
        target = deferred if later else jobs
        if n:
            target[rule] = target.get(rule, 0) + n

    worlds = {w for g in genomes if (w := _demo_world(cfg, g)) is not None}
    for rule, members in rule_groups(canonical(cfg.simulate)).items():
        add(rule, len(worlds.intersection(members)))
    add("genome_download", len(genomes))
    add("genome_prepare", len(genomes))
    add("genome_assembly_report", sum(cfg.genomes[g].assembly_report is not None for g in genomes))
    own = cfg.tasks.values()
    kinds = {(s.genome, s.kind) for s in own}
    add("annotation_epd", sum((g, "promoter") in kinds for g in genomes))
    add("annotation_gtf", sum(any((g, k) in kinds for k in ("splice", "pas", "tis")) for g in genomes))
    add("expression_download", len(expression_tasks(cfg, remote=True)))
    add("annotation_peaks", len({(s.genome, s.experiment) for s in own if s.kind == "tfbs"}))
    var_genomes = {cfg.tasks[t].genome for t in cfg.variants.tasks}
    add("vcf_normalise", sum(getattr(cfg.annotations[g], src) is not None
                             for g in var_genomes if g in cfg.annotations
                             for src in ("dbsnp", "clinvar")))  # fmt: skip
    cols = cfg.collections
    tables = {c.table.url.removeprefix("file:") for c in cols.values()}
    add("demo_files_txt", sum(f"resources/demo/{w}/peaks/files.txt" in tables for w in cfg.simulate))
    for rule in ("collection_table", "collection_manifest", "collection_summary"):
        add(rule, len(cols))
    add("collection_peaks", len(ctasks), later=True)
    corpus_genomes = [g for g in cfg.genomes if g in lm_genomes]
    add("corpus_stats", len(corpus_genomes))
    add("bert_pretrain", len(cfg.trained_lms()))
    add("gpt_pretrain", len(cfg.gpt_lms()))
    used_lms = {model_lm(m) for t in cfg.tasks for m in cfg.task_models(t)}
    used_lms |= {model_lm(m) for s in ctasks.values() for m in s.models or ()}
    add("lm_import", sum(lm in used_lms for lm in cfg.imported_lms()))
    loop = {t: cfg.tasks[t].hard_negatives.rounds for t in cfg.tasks if cfg.tasks[t].hard_negatives}
    add("dataset_build", len(cfg.tasks) - len(loop))  # a loop task's dataset: splice_loop_final
    for rule in ("splice_round0", "splice_loop_heldout", "splice_loop_final", "splice_loop_table"):
        add(rule, len(loop))
    add("splice_loop_train", sum(n + 1 for n in loop.values()))  # costed by _splice_loop_trainings
    add("splice_loop_mine", sum(loop.values()))
    add("imported_bed", sum(cfg.tasks[t].kind == "imported" for t in cfg.tasks))
    add("dataset_build", len(ctasks), later=True)
    runs = {(t, m, s) for t in cfg.tasks for m in cfg.task_models(t) for s in cfg.task_seeds(t)}
    att_pairs = [(t, cfg.attention.model) for t in cfg.attention.tasks]
    att_pairs += [(t, cfg.attention.model) for t in cfg.motifs.tasks]
    att_pairs += [(t, cfg.variants.model) for t in cfg.variants.tasks]
    att_pairs = list(dict.fromkeys(att_pairs))
    runs |= {(t, m, cfg.task_seeds(t)[0]) for t, m in att_pairs}
    later = {(t, m, s) for t, spec in ctasks.items() for m in spec.models for s in spec.seeds}
    for group, is_later in ((runs, False), (later, True)):
        gpt = sum(model_lm(m) in cfg.gpt_lms() for _, m, _ in group)  # rule gpt_finetune
        add("bert_finetune", sum(m not in BASELINES for _, m, _ in group) - gpt, is_later)
        add("gpt_finetune", gpt, is_later)
        add("baseline_finetune", sum(m in BASELINES for _, m, _ in group), is_later)
    add("summary_build", int(bool(cfg.tasks and cfg.finetune.models)))
    add("pretraining_benefit", int(bool(benefit_pairs(cfg))))
    add("long_input_summary", int(bool(cfg.finetune.models and long_input_groups(cfg))))
    add("expression_ridge", len(regression_outputs(cfg)))
    add("gpt_regress", len(gpt_regression_outputs(cfg)))
    add("regression_summary", int(bool(expression_tasks(cfg))))
    add("attention_extract", len(att_pairs))
    add("motif_discover", len(cfg.motifs.tasks))
    mod_tasks, _, mod_methods = modisco_selection(cfg)
    add("attribution_motifs", sum(len(modisco_models(cfg, t)) for t in mod_tasks) * len(mod_methods))
    add("interpretation_summary", len(mod_tasks))
    att = cfg.attribution  # one maps job (every method) and one bigWig job per task x model
    n_att = {t: len(attribution_models(cfg, t)) for t in att.tasks}
    add("attribution_maps", sum(n_att.values()))
    add("attribution_bigwig", sum(attribution_has_coordinates(cfg, t) * n_att[t] for t in att.tasks))
    add("attribution_variants", (att.variants != "off") * sum(n_att[t] for t in attribution_variant_tasks(cfg)))
    known = {cfg.motifs.known_motifs.get(cfg.tasks[t].genome or "")
             for t in [*cfg.motifs.tasks, *mod_tasks]}  # fmt: skip
    add("known_motifs_download", len(known.intersection(cfg.motifs.sources)))
    add("variant_score_shard", len(cfg.variants.tasks) * cfg.variants.scatter)
    add("variant_score", len(cfg.variants.tasks))
    _usemodel_jobs(cfg, add)
    hap = cfg.haplotypes.values()
    add("haplotypes_simulate", sum(h.simulate is not None for h in hap))
    add("haplotypes_fetch", sum(h.vcf is not None for h in hap))
    for step in ("split", "generate", "evaluate"):
        add(f"haplotypes_{step}", len(cfg.haplotypes))
    add("haplotypes_gpt", sum("gpt" in h.generators for h in hap))
    add("report_tables", 1)
    tuned = {t: s for t, s in cfg.tasks.items() if cfg.task_models(t)}  # as workflow/rules/report.smk
    sections = task_sections(tuned) if cfg.tasks and cfg.finetune.models else {}
    add("summary_section", len(sections))
    add("report_overview", 1)
    add("all", 1)
    return _Jobs(jobs, deferred, tasks, genomes, corpus_genomes, sorted(runs | later), att_pairs)


def _usemodel_jobs(cfg: Config, add) -> None:
    """Jobs of the ``predict``/``embed``/``scan``/``score`` blocks (workflow/rules/usemodel.smk),
    and rule dataset_fasta for the ``results/datasets/<task>/<split>.fa`` inputs they name."""
    fastas = {r.fasta for sec in (cfg.predict, cfg.embed) for r in sec.values()}
    pattern = re.compile(r"^results/datasets/[^/]+/(train|dev|test)\.fa$")
    add("dataset_fasta", sum(bool(f and pattern.match(f)) for f in fastas))
    for section in ("predict", "embed", "scan", "score"):
        add(f"dnalm_{section}", len(getattr(cfg, section)))


# ----------------------------------------------------------------------------- costs


class _Costs:
    """Accumulates hours and GB per stage; rules of ``plan.gpu_rules`` count as GPU-hours."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.gpu_rules = set(cfg.plan.gpu_rules)
        self.cpu: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self.gpu: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self.disk: dict[str, float] = dict.fromkeys(STAGES, 0.0)

    def on_gpu(self, rule: str) -> bool:
        return rule in self.gpu_rules

    def rate(self, rule: str, size: str, train: bool = True) -> float:
        """Tokens per second of one job of ``rule`` for a model size (training or forward only)."""
        tp = self.cfg.plan
        r = getattr(tp.gpu_tokens_per_s if self.on_gpu(rule) else tp.cpu_tokens_per_s, size)
        return r if train else r * tp.inference_speedup

    def hours(self, rule: str, seconds: float) -> None:
        target = self.gpu if self.on_gpu(rule) else self.cpu
        target[stage_of(rule)] += seconds / 3600

    def gb(self, rule: str, nbytes: float) -> None:
        self.disk[stage_of(rule)] += nbytes / _GB


#: Rules whose cost is modelled from tokens or bases; every other CPU job costs cpu_minutes_per_job.
_MODELLED = ("genome_download", "genome_prepare", "corpus_shard", "bert_pretrain", "bert_finetune",
             "baseline_finetune", "attention_extract", "variant_score_shard", "variant_score",
             "gpt_pretrain", "gpt_finetune", "gpt_regress", "haplotypes_gpt",
             "splice_loop_train")  # fmt: skip


def _splice_loop_trainings(cfg: Config, task: str) -> list[int]:
    """Models each ``splice_loop_train`` job of a task trains, rounds 0..N (none: no loop).

    Every round trains ``hard_negatives.eval_seeds`` models (the mining model, then seeds
    ``seed + 1, ...`` scored on the held-out pool only); the last round copies its mining model
    from the task's own fine-tuning run when :func:`dnalm.paths.splice_train_inputs` names one.
    """
    from dnalm.paths import splice_train_inputs

    hn = cfg.tasks[task].hard_negatives
    if hn is None:
        return []
    per_round = [hn.eval_seeds] * (hn.rounds + 1)
    if "trained" in splice_train_inputs(cfg, task, hn.rounds):
        per_round[-1] -= 1
    return per_round


def _pretrain_tokens(cfg: Config, lm: str) -> float:
    """Real tokens one pretraining run trains on (all processes together).

    With a fixed per-process ``batch_size`` the global batch grows with the GPU count, but so
    does the number of GPUs sharing it: per-GPU hours count one process's share.
    """
    spec = cfg.language_models[lm]
    preset = cfg.pretrain_presets[spec.preset]
    seqs = preset.global_batch
    if seqs is None:
        seqs = (preset.batch_size or 1) * (preset.grad_accum or 1)
    c = cfg.corpus
    mean_bp = 0.5 * c.max_len + 0.5 * (c.min_len + c.max_len) / 2  # dnalm.corpus piece lengths
    return preset.steps * seqs * min(mean_bp - spec.k + 3, _MAX_TOKENS)


def _finetune_cost(cfg: Config, c: _Costs, rows: dict[str, float], window: int, model: str,
                   task: str, rule: str | None = None) -> None:
    """One fine-tuning run: max(epochs x batches, min_steps) training steps (the task's own
    min_steps, else finetune's), dev each epoch, test (GPT models: rule gpt_finetune, or
    ``rule`` gpt_regress; 6-mer tokens, their size's rate)."""
    ft = cfg.finetune
    min_steps = cfg.task_min_steps(task)
    if model_lm(model) in cfg.gpt_lms():
        gsize = _gpt_size(cfg, model)
        rule, size, tokens = rule or "gpt_finetune", _GPT_RATE[gsize], _gpt_tokens(window, GPT_POSITIONS[gsize])
        batches = max(1, math.ceil(rows["train"] / ft.batch_size))
        steps = max(ft.epochs * batches, min_steps)
        eval_tok = (rows["dev"] * steps / batches + rows["test"]) * tokens
        c.hours(rule, steps * ft.batch_size * tokens / c.rate(rule, size)
                + eval_tok / c.rate(rule, size, train=False))  # fmt: skip
        return
    base = model in BASELINES
    rule = "baseline_finetune" if base else "bert_finetune"
    k, size = _lm_of(cfg, model)
    tokens = window - k + 3
    batches = max(1, math.ceil(rows["train"] / ft.batch_size))
    steps = max(ft.epochs * batches, min_steps)
    train_tok = steps * ft.batch_size * tokens
    eval_tok = (rows["dev"] * steps / batches + rows["test"]) * tokens
    if base:
        c.hours(rule, (train_tok + eval_tok / cfg.plan.inference_speedup) / c.rate(rule, "baseline"))
    else:
        c.hours(rule, train_tok / c.rate(rule, size) + eval_tok / c.rate(rule, size, train=False))
        c.gb(rule, 4 * _bert_params(k, size))


def _costs(cfg: Config, jb: _Jobs, notes: list[str]) -> _Costs:
    tp = cfg.plan
    c = _Costs(cfg)
    sizes = {g: _genome_size(cfg, g, notes) for g in jb.genomes}
    for g in jb.genomes:
        c.gb("genome_prepare", 2 * _FASTA_BYTES_PER_BP * sizes[g][0])  # temp download + bgzip
        c.hours("genome_prepare", sizes[g][0] / (tp.prepare_mbp_per_s * 1e6))
    for g in {cfg.tasks[t].genome for t in cfg.variants.tasks}:
        ann = cfg.annotations.get(g or "")
        bp = sizes[g][0] if g in sizes else math.nan
        for src, share in (("dbsnp", 1.0), ("clinvar", 0.1)):  # ClinVar: about a tenth of dbSNP common
            if ann is not None and getattr(ann, src) is not None:
                c.gb("vcf_normalise", share * tp.vcf_bytes_per_bp * bp)
    for g in jb.corpus_genomes:
        bp = sizes[g][0] * cfg.corpus.coverage
        c.hours("corpus_shard", bp / 5 / (tp.corpus_mbp_per_s * 1e6))  # measured at coverage 5
        c.gb("corpus_shard", _SHARD_BYTES_PER_BP * bp)
    every = dict(jb.jobs)
    for rule, n in jb.deferred.items():
        every[rule] = every.get(rule, 0) + n
    for rule, n in every.items():
        if rule not in _MODELLED and not c.on_gpu(rule):
            c.hours(rule, n * tp.cpu_minutes_per_job * 60)
    for task in cfg.tasks:  # a cnn-sized model: cpu_minutes_per_job per model, a job at least one
        models = sum(max(1, n) for n in _splice_loop_trainings(cfg, task))
        c.hours("splice_loop_train", models * tp.cpu_minutes_per_job * 60)
    for lm in cfg.trained_lms():
        spec = cfg.language_models[lm]
        keep = cfg.pretrain_presets[spec.preset].keep_checkpoints
        c.hours("bert_pretrain", _pretrain_tokens(cfg, lm) / c.rate("bert_pretrain", spec.size))
        c.gb("bert_pretrain", 4 * _bert_params(spec.k, spec.size) * (1 + 3 * keep))  # + AdamW state
    from dnalm.paths import expression_tasks

    corpus = cfg.corpus
    mean_bp = 0.5 * corpus.max_len + 0.5 * (corpus.min_len + corpus.max_len) / 2
    for lm in cfg.gpt_lms():
        spec = cfg.language_models[lm]
        preset = cfg.pretrain_presets[spec.preset]
        seqs = preset.global_batch or (preset.batch_size or 1) * (preset.grad_accum or 1)
        tok = preset.steps * seqs * _gpt_tokens(mean_bp, GPT_POSITIONS.get(spec.size))
        c.hours("gpt_pretrain", tok / c.rate("gpt_pretrain", _GPT_RATE[spec.size]))
    rows = {t: _task_rows(cfg, t, spec) for t, spec in jb.tasks.items()}
    for task, model, _seed in jb.runs:
        _finetune_cost(cfg, c, rows[task], _window_bp(cfg, jb.tasks[task]), model, task)
    for task in expression_tasks(cfg):
        for model in cfg.regression_models(task):
            for _seed in cfg.task_seeds(task):
                _finetune_cost(cfg, c, rows.get(task) or _task_rows(cfg, task, cfg.tasks[task]),
                               _window_bp(cfg, cfg.tasks[task]), model, task, rule="gpt_regress")
    for hap in cfg.haplotypes.values():
        if "gpt" in hap.generators:
            g = hap.gpt
            size = cfg.language_models[g.lm].size if g.lm else g.size
            c.hours("haplotypes_gpt", g.steps * g.batch * _gpt_tokens(hap.max_sites or 10000)
                    / c.rate("haplotypes_gpt", _GPT_RATE[size]))  # fmt: skip
    for task, model in jb.attention:
        k, size = _lm_of(cfg, model)
        tokens = _window_bp(cfg, jb.tasks[task]) - k + 3
        test = rows[task]["test"]
        c.hours("attention_extract", test * tokens / c.rate("attention_extract", size, train=False))
        c.gb("attention_extract", test * tokens * 4 * 2)  # per-token scores, float32
    var = cfg.variants
    for task in var.tasks:
        k, size = _lm_of(cfg, var.model or "")
        window = _window_bp(cfg, jb.tasks[task])
        tokens = window - k + 3
        n_var = sum(rows[task].values()) / 2 * window * tp.snv_per_kb / 1000  # in positive windows
        shard_fwd = 3 * n_var  # ref and alt classifier windows, masked-LM likelihood ratio
        gather_fwd = 2 * var.null_size + var.top_mutation_maps * window * 3
        c.hours("variant_score_shard", shard_fwd * tokens / c.rate("variant_score_shard", size, False))
        c.hours("variant_score", gather_fwd * tokens / c.rate("variant_score", size, False))
        c.gb("variant_score", n_var * tp.bytes_per_variant)
    return c


def plan(cfg: Config) -> Plan:
    """The plan of a validated config: jobs per rule and costs per stage.

    Parameters
    ----------
    cfg : Config
        From :func:`dnalm.settings.load_config`.

    Returns
    -------
    Plan
        ``jobs`` holds every rule's job count, those known only after a checkpoint included
        (``corpus_shard``: one per kept chromosome; a collection's experiments); ``deferred``
        holds those alone, which a dry run cannot list before the checkpoint has run.
    """
    notes: list[str] = []
    jb = _jobs(cfg, notes)
    costs = _costs(cfg, jb, notes)
    deferred = dict(jb.deferred)
    n_shards = [_genome_size(cfg, g, [])[1] for g in jb.corpus_genomes]
    if n_shards and not any(math.isnan(n) for n in n_shards):
        deferred["corpus_shard"] = int(sum(n_shards))
    jobs = dict(jb.jobs)
    for rule, n in deferred.items():
        jobs[rule] = jobs.get(rule, 0) + n
    assumed = [t for t, spec in jb.tasks.items() if t not in cfg.plan.task_rows
               and not (spec.kind == "tfbs" and spec.top_n) and spec.max_per_class is None
               and spec.kind != "expression"  # no fine-tuning run to cost
               and not (spec.kind == "promoter" and spec.genome in cfg.genomes
                        and _demo_world(cfg, spec.genome) is not None)]  # fmt: skip
    if assumed:
        notes.append(f"tasks without plan.task_rows assume {cfg.plan.default_task_rows} rows: "
                     + ", ".join(assumed))  # fmt: skip
    loop_models = sum(sum(_splice_loop_trainings(cfg, t)) for t in cfg.tasks)
    trainings = {"splice_loop_train": loop_models} if loop_models else {}
    return Plan(jobs, costs.cpu, costs.gpu, costs.disk, deferred, list(dict.fromkeys(notes)), trainings)

# ----------------------------------------------------------------------------- output


def _fmt(x: float, digits: int = 1) -> str:
    if isinstance(x, float) and math.isnan(x):
        return "?"
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:,.{digits}f}" if abs(x) >= 0.1 or x == 0 else f"{x:.2g}"


def format_plan(p: Plan) -> str:
    """The plan as an aligned text table (stages, then the total), followed by its notes."""
    head = ["stage", "jobs", "CPU-hours", "GPU-hours", "disk GB"]
    body = [[r["stage"], _fmt(r["jobs"]), _fmt(r["cpu_hours"]), _fmt(r["gpu_hours"]), _fmt(r["disk_gb"])]
            for r in p.rows()]  # fmt: skip
    width = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]

    def line(cells: Iterable[str]) -> str:
        cells = list(cells)
        return "  ".join([cells[0].ljust(width[0])] + [c.rjust(w) for c, w in zip(cells[1:], width[1:], strict=True)])

    rule = "  ".join("-" * w for w in width)
    out = [line(head), rule, *(line(r) for r in body[:-1]), rule, line(body[-1])]
    out += [f"note: {n}" for n in p.notes]
    return "\n".join(out) + "\n"


def write_plan(cfg: Config, tsv: str | Path, json_path: str | Path, txt: str | Path) -> Plan:
    """Write the plan: a TSV (one row per stage, then ``total``), a JSON (stages, jobs per rule,
    notes) and the printed table (:func:`format_plan`) as text."""
    from dnalm.atomic import write_json, write_text

    p = plan(cfg)
    write_text(txt, format_plan(p))
    cols = ("stage", "jobs", "cpu_hours", "gpu_hours", "disk_gb")
    lines = ["\t".join(cols)]
    for r in p.rows():
        lines.append("\t".join(str(r[c]) if c in ("stage", "jobs") else f"{r[c]:.4g}" for c in cols))
    write_text(tsv, "\n".join(lines) + "\n")
    write_json(json_path, p.to_dict())
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m dnalm.plan CONFIG.yaml ...``: merge the configs, validate, print the plan."""
    import sys

    import yaml

    from dnalm.settings import deep_update, load_config

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print("usage: python -m dnalm.plan CONFIG.yaml [CONFIG.yaml ...]", file=sys.stderr)
        return 2
    merged: dict[str, Any] = {}
    for path in argv:
        with open(path) as fh:
            deep_update(merged, yaml.safe_load(fh) or {})
    sys.stdout.write(format_plan(plan(load_config(merged))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

