"""Cross-key checks: every reference between config sections, as (config path, problem) pairs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dnalm.settings.model import (
    BASELINES,
    KMER_RIDGE,
    SCRATCH_SUFFIX,
    Annotations,
    Config,
    Source,
    canonical,
    model_lm,
)


def known_motif_problem(ref: str, sources: Mapping[str, Source]) -> str | None:
    """Why a ``motifs.known_motifs`` value is neither a ``motifs.sources`` key nor a project path."""
    if ref in sources:
        return None
    if not ref.strip():
        return "empty value: name a key of `motifs.sources` or a project-relative file"
    if "/" not in ref and "\\" not in ref and "." not in ref:
        return (f"{ref!r} is not a key of `motifs.sources` ({sorted(sources)}) and does not look "
                "like a file path")
    p = PurePosixPath(ref.replace("\\", "/"))
    if p.is_absolute() or re.match(r"^[A-Za-z]:", ref) or "://" in ref or ref.startswith("file:"):
        return (f"{ref!r} must be a path relative to the project (or a key of `motifs.sources`, "
                "whose url may point anywhere)")
    if ".." in p.parts:
        return f"{ref!r} leaves the project directory ('..' is not allowed)"
    return None


def project_path_problem(value: str) -> str | None:
    """Why ``value`` is not a file path inside the project (relative, no ``..``, no URL)."""
    if not value.strip():
        return "empty path"
    p = PurePosixPath(value.replace("\\", "/"))
    if p.is_absolute() or re.match(r"^[A-Za-z]:", value) or "://" in value or value.startswith("file:"):
        return f"{value!r} must be a path relative to the project directory"
    if ".." in p.parts:
        return f"{value!r} leaves the project directory ('..' is not allowed)"
    return None


#: Task keys read by some kinds only: set on another kind they would be ignored without a word.
TASK_KEY_KINDS: dict[str, tuple[str, ...]] = {
    "experiment": ("tfbs",),
    "top_n": ("tfbs",),
    "flank": ("tfbs",),
    "subset": ("promoter",),
    "negatives": ("promoter", "tfbs"),
    "window": ("promoter", "splice", "pas", "tis", "expression"),
    "table": ("expression",),
    "promoter_tss": ("expression",),
    "genome": ("promoter", "tfbs", "splice", "pas", "tis", "imported"),
    "format": ("imported",),
    "path": ("imported",),
    "labels": ("imported",),
    "holdout_chroms": ("promoter", "tfbs", "splice", "pas", "tis", "imported"),
}


def source_url_problem(url: str) -> str | None:
    """Why a source URL cannot be fetched: a control character, a scheme or host the fetcher
    refuses, or a plain path outside the project (a file elsewhere is named by a ``file:`` URL,
    which is fetched, i.e. copied into ``resources/`` and checked like a download)."""
    from dnalm.fetch import local_path

    if any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return f"{url!r} holds a control character"
    try:
        local = local_path(url)
    except ValueError as e:
        return str(e)
    if local is not None and not url.startswith("file:"):
        problem = project_path_problem(url)
        if problem:
            return (f"{problem}; a plain path is a project file (name a file elsewhere by its "
                    "file: URL, e.g. file:///data/genome.fa.gz, to fetch it into resources/)")
    return None


BERT_POSITIONS = 512  # a BERT language model's positions (dnalm.modeling, pretraining's max_tokens)
_RUN_REF = re.compile(r"^(?P<task>[^/]+)/(?P<model>[^/]+)/seed(?P<seed>\d+)$")


@dataclass(frozen=True)
class ModelRef:
    """A ``model:`` value of the ``predict``/``embed``/``scan``/``score`` blocks, resolved.

    ``kind`` is ``run`` (a fine-tuning run of this config: ``task``, ``model``, ``seed``),
    ``lm`` (a ``language_models`` key in ``model``) or ``path`` (a project-relative directory).
    """

    kind: str
    path: str
    task: str | None = None
    model: str | None = None
    seed: int | None = None


def model_ref(c: Config, ref: str, allow_lm: bool = False) -> ModelRef:
    """Resolve a model reference: ``<task>/<model>/seed<s>``, an ``<lm>`` key or a project path.

    Raises
    ------
    ValueError
        Why the reference names no fine-tuning run of the config, a language model where a
        classifier is needed, or a path outside the project.
    """
    m = _RUN_REF.match(ref)
    if m:
        task, model, seed = m["task"], m["model"], int(m["seed"])
        col = task.split("__", 1)[0] if "__" in task else None
        if task in c.tasks or col in c.collections:
            models = c.task_models(task) if task in c.tasks else c.collection_models(col)
            seeds = c.task_seeds(task) if task in c.tasks else c.collections[col].seeds
            if model not in models:
                raise ValueError(f"{ref!r}: model {model!r} is not fine-tuned on task {task!r} "
                                 f"(its models: {models})")
            if model in BASELINES:
                raise ValueError(f"{ref!r}: {model!r} is a baseline; the dnalm commands run BERT models")
            if seed not in seeds:
                raise ValueError(f"{ref!r}: seed {seed} is not among the task's seeds {seeds}")
            return ModelRef("run", f"results/finetune/{task}/{model}/seed{seed}/model", task,
                            model, seed)
        if not Path(ref).exists():
            raise ValueError(f"{ref!r}: {task!r} is not a task of this config (tasks: "
                             f"{sorted(c.tasks)}), and no directory {ref!r} exists")
    if ref in c.language_models:
        if not allow_lm:
            raise ValueError(f"{ref!r} is a language model; this command needs a fine-tuned "
                             "classifier (`<task>/<model>/seed<s>` or a model directory)")
        return ModelRef("lm", f"results/pretrain/{ref}/model", model=ref)
    problem = project_path_problem(ref)
    if problem:
        raise ValueError(f"{problem} (or `<task>/<model>/seed<s>` of a fine-tuning run"
                         + (", or a language_models key)" if allow_lm else ")"))
    return ModelRef("path", ref.rstrip("/"))


_DEMO_FASTA = re.compile(r"^resources/demo/(?P<world>[^/]+)/genome\.fa\.gz$")


def _genome_contig_names(c: Config, genome: str) -> set[str] | None:
    """Contig names a genome is known to hold before it is prepared: a demo world's chromosomes
    (every alias) for a genome its simulator writes, else None (only the contigs regex is known)."""
    m = _DEMO_FASTA.match(c.genomes[genome].fasta.url)
    if not m or m["world"] not in c.simulate:
        return None
    from dnalm.sim.presets import PRESETS
    from dnalm.sim.spec import world_spec

    preset = PRESETS[world_spec(canonical(c.simulate), m["world"])["preset"]]
    return {a for ch in preset.chroms for a in (ch.ucsc, ch.name, ch.refseq, ch.genbank)}


def _contig_problem(c: Config, genome: str, name: str) -> str | None:
    """Why ``name`` is not a contig ``genome`` keeps (known names of a demo world, else the
    ``genomes.<g>.contigs`` regex); None when it may be one."""
    try:
        keep = re.compile(c.genomes[genome].contigs)
    except re.error:  # reported as genomes.<g>.contigs
        return None
    known = _genome_contig_names(c, genome)
    if known is not None and name not in known:
        return (f"{name!r} is not a contig of genome {genome!r} (it has "
                f"{', '.join(sorted(n for n in known if n.startswith('chr')))})")
    if not keep.fullmatch(name):
        return f"{name!r} is not kept by genomes.{genome}.contigs ({c.genomes[genome].contigs!r})"
    return None


def _score_region_checks(c: Config, name: str, genome: str, regions: list[str]) -> list[tuple[str, str]]:
    """``score.<name>.regions``: each parses and names a contig the genome keeps."""
    from dnalm.score_vcf import parse_region

    if not regions or genome not in c.genomes:
        return []
    errs = []
    try:
        keep = re.compile(c.genomes[genome].contigs)
    except re.error:  # reported as genomes.<g>.contigs
        return []
    known = _genome_contig_names(c, genome)
    for i, text in enumerate(regions):
        path = f"score.{name}.regions[{i}]"
        try:
            contig = parse_region(text).contig
        except ValueError as e:
            errs.append((path, str(e)))
            continue
        # as score-variants matches contigs: as written, or with a chr prefix added / removed
        names = {contig, f"chr{contig}", contig.removeprefix("chr")}
        if known is not None and not names & known:
            errs.append((path, f"contig {contig!r} is not in genome {genome!r} (it has "
                               f"{', '.join(sorted(n for n in known if n.startswith('chr')))})"))
        elif known is None and not any(keep.fullmatch(n) for n in names):
            errs.append((path, f"contig {contig!r} is not kept by genomes.{genome}.contigs "
                               f"({c.genomes[genome].contigs!r})"))
    return errs


def _val_contig_checks(c: Config) -> list[tuple[str, str]]:
    """``genomes.<g>.val_contigs``: each a contig the genome keeps, once, and not all of them."""
    errs = []
    for g, spec in c.genomes.items():
        try:
            keep = re.compile(spec.contigs)
        except re.error:  # reported as genomes.<g>.contigs
            continue
        known = _genome_contig_names(c, g)
        if known is not None and not any(keep.fullmatch(n) for n in known):
            errs.append((f"genomes.{g}.contigs", f"{spec.contigs!r} keeps none of the genome's "
                                                 f"contigs ({', '.join(sorted(known))})"))
        for i, name in enumerate(spec.val_contigs):
            path = f"genomes.{g}.val_contigs[{i}]"
            if name in spec.val_contigs[:i]:
                errs.append((path, f"{name!r} is listed twice"))
            elif not keep.fullmatch(name):
                errs.append((path, f"{name!r} is not kept by genomes.{g}.contigs ({spec.contigs!r})"))
            elif known is not None and name not in known:
                errs.append((path, f"{name!r} is not a contig of genome {g!r} (it has "
                                   f"{', '.join(sorted(n for n in known if n.startswith('chr')))})"))
        if known is not None and spec.val_contigs:
            kept = {n for n in known if keep.fullmatch(n)}
            if kept and kept <= set(spec.val_contigs):
                errs.append((f"genomes.{g}.val_contigs", "every kept contig is held out: nothing is "
                                                          "left to pretrain on"))
    return errs


def _usemodel_checks(c: Config) -> list[tuple[str, str]]:
    """The ``predict``, ``embed``, ``scan`` and ``score`` blocks: models, genomes, input paths."""
    errs: list[tuple[str, str]] = []
    for section in ("predict", "embed", "scan", "score"):
        for name, run in getattr(c, section).items():
            p = f"{section}.{name}"
            try:
                model_ref(c, run.model, allow_lm=section == "embed")
            except ValueError as e:
                errs.append((f"{p}.model", str(e)))
            genome = getattr(run, "genome", None)
            if genome is not None and genome not in c.genomes:
                errs.append((f"{p}.genome", f"unknown genome {genome!r}"))
            for key in ("fasta", "bed", "regions", "vcf", "truth"):
                value = getattr(run, key, None)
                # (score's `regions` is a list of CHR:START-END, not a path: checked below)
                if isinstance(value, str) and (problem := project_path_problem(value)):
                    errs.append((f"{p}.{key}", problem))
    for name, run in c.predict.items():
        p = f"predict.{name}"
        if (run.fasta is None) == (run.bed is None):
            errs.append((p, "give exactly one of fasta and bed"))
        if run.bed is not None and run.genome is None:
            errs.append((f"{p}.genome", "required with bed"))
        if run.fasta is not None and run.genome is not None:
            errs.append((f"{p}.genome", "only used with bed; remove it"))
        if run.fasta is not None and run.anchor != "centre":
            errs.append((f"{p}.anchor", "only used with bed"))
    for name, run in c.scan.items():
        if run.contigs is not None and run.regions is not None:
            errs.append((f"scan.{name}", "give at most one of contigs and regions"))
        for i, contig in enumerate(run.contigs or []):
            problem = _contig_problem(c, run.genome, contig) if run.genome in c.genomes else None
            if problem:
                errs.append((f"scan.{name}.contigs[{i}]", problem))
    for name, run in c.score.items():
        errs += _score_region_checks(c, name, run.genome, run.regions or [])
    for name, run in c.score.items():
        if run.lm is None:
            continue
        try:
            ref = model_ref(c, run.lm, allow_lm=True)
        except ValueError as e:
            errs.append((f"score.{name}.lm", str(e)))
            continue
        if ref.kind == "run":
            errs.append((f"score.{name}.lm", f"{run.lm!r} is a fine-tuned classifier; name a "
                         "language model (a language_models key or a model directory)"))
        elif ref.kind == "lm" and c.language_models[run.lm].arch == "gpt":
            errs.append((f"score.{name}.lm", f"{run.lm!r} is a GPT language model; the zero-shot "
                         "LLR masks the k-mers at the site and needs a BERT masked language model"))
    return errs


def cross_checks(c: Config) -> list[tuple[str, str]]:
    """Every reference between sections, as (config path, problem) pairs."""
    errs: list[tuple[str, str]] = []
    add = lambda path, msg: errs.append((path, msg))  # noqa: E731

    for g, spec in c.genomes.items():
        try:
            re.compile(spec.contigs)
        except re.error as e:
            add(f"genomes.{g}.contigs", f"invalid regex: {e}")
    for g in c.annotations:
        if g not in c.genomes:
            add(f"annotations.{g}", f"genome {g!r} is not defined under `genomes`")
    errs += _val_contig_checks(c)
    errs += _demo_peak_checks(c)
    errs += _plan_checks(c)
    errs += _usemodel_checks(c)
    for g, ref in c.motifs.known_motifs.items():
        if g not in c.genomes:
            add(f"motifs.known_motifs.{g}", f"genome {g!r} is not defined under `genomes`")
        problem = known_motif_problem(ref, c.motifs.sources)
        if problem:
            add(f"motifs.known_motifs.{g}", problem)

    # sources: a remote file carries a checksum or opts out explicitly
    def source(path: str, s: Source | None) -> None:
        if s is None:
            return
        for key, url in (("url", s.url), ("checksums_url", s.checksums_url)):
            problem = source_url_problem(url) if url is not None else None
            if problem:
                add(f"{path}.{key}", problem)
        if s.is_local:
            return
        if s.md5 is None and s.sha256 is None and s.checksums_url is None and s.checksum is None:
            add(path, f"remote source {s.url!r} needs md5, sha256 or checksums_url (or `checksum: none` "
                "to fetch it unverified)")
        elif s.checksum == "none" and (s.md5 or s.sha256 or s.checksums_url):
            add(f"{path}.checksum", "`none` contradicts the md5/sha256/checksums_url given")

    for g, spec in c.genomes.items():
        source(f"genomes.{g}.fasta", spec.fasta)
        source(f"genomes.{g}.assembly_report", spec.assembly_report)
    for g, ann in c.annotations.items():
        for key in ("epd", "epd_motifs", "gtf", "dbsnp", "clinvar"):
            source(f"annotations.{g}.{key}", getattr(ann, key))
        for exp, s in ann.peaks.items():
            source(f"annotations.{g}.peaks.{exp}", s)
    for key, s in c.motifs.sources.items():
        source(f"motifs.sources.{key}", s)
    for h, hs in c.haplotypes.items():
        source(f"haplotypes.{h}.vcf", hs.vcf)
        source(f"haplotypes.{h}.index", hs.index)

    # language models and presets
    for lm, spec in c.language_models.items():
        if lm.endswith(SCRATCH_SUFFIX) or lm in BASELINES or lm == KMER_RIDGE:
            add(f"language_models.{lm}", "name is reserved (a baseline or a -scratch control)")
        if spec.pretrained is not None and (problem := project_path_problem(spec.pretrained)):
            add(f"language_models.{lm}.pretrained", problem)
        if spec.arch == "gpt":
            if spec.size not in ("tiny", "dnagpt_s"):
                add(f"language_models.{lm}.size", f"{spec.size!r} is a BERT size; a gpt model is tiny or dnagpt_s")
            if spec.k != 6:
                add(f"language_models.{lm}.k", f"a gpt model reads non-overlapping 6-mers, got k = {spec.k}")
            if spec.pretrained is not None:
                add(f"language_models.{lm}.pretrained", "importing is for BERT checkpoints; a gpt model is pretrained by the workflow")
        elif spec.size == "dnagpt_s":
            add(f"language_models.{lm}.size", "dnagpt_s is a gpt size; set arch: gpt, or use tiny, small or base")
        if spec.pretrained is not None:
            continue
        if spec.genome not in c.genomes:
            add(f"language_models.{lm}.genome", f"unknown genome {spec.genome!r}")
        if spec.preset not in c.pretrain_presets:
            add(f"language_models.{lm}.preset", f"unknown preset {spec.preset!r} (pretrain_presets: {sorted(c.pretrain_presets)})")
    ks = [m.k for m in c.language_models.values() if m.pretrained is None]
    if ks and c.corpus.min_len < max(ks):
        add("corpus.min_len", f"{c.corpus.min_len} is shorter than k = {max(ks)} of a language model (a piece needs one k-mer)")
    if c.corpus.max_len < 2 * c.corpus.min_len:
        add("corpus.max_len", f"{c.corpus.max_len} must be >= 2 * corpus.min_len = {2 * c.corpus.min_len}")
    bert_ks = [m.k for m in c.language_models.values() if m.pretrained is None and m.arch == "bert"]
    if bert_ks and c.corpus.max_len > BERT_POSITIONS - 3 + min(bert_ks):
        k = min(bert_ks)
        add("corpus.max_len", f"{c.corpus.max_len} bp is longer than a BERT language model (k = {k}) reads: "
            f"{BERT_POSITIONS} positions hold [CLS], [SEP] and {BERT_POSITIONS - 2} k-mers, at most "
            f"{BERT_POSITIONS - 3 + k} bp, and longer pieces would be cut there")

    # a seed or model listed twice would be run once and counted twice in every mean over seeds
    lists = [("finetune.seeds", c.finetune.seeds), ("finetune.models", c.finetune.models)]
    for t, spec in c.tasks.items():
        lists += [(f"tasks.{t}.seeds", spec.seeds or []), (f"tasks.{t}.models", spec.models or [])]
    for name, col in c.collections.items():
        lists += [(f"collections.{name}.seeds", col.seeds), (f"collections.{name}.models", col.models or [])]
    for sec in ("attention", "motifs", "variants", "attribution"):
        lists.append((f"{sec}.tasks", getattr(c, sec).tasks))
    for path, values in lists:
        twice = sorted({str(v) for v in values if list(values).count(v) > 1})
        if twice:
            add(path, f"{', '.join(twice)} listed more than once")

    # tasks
    for t, spec in c.tasks.items():
        p = f"tasks.{t}"
        for key in sorted(spec.model_fields_set & set(TASK_KEY_KINDS)):
            kinds, value = TASK_KEY_KINDS[key], getattr(spec, key)
            # a default written out (as the canonical config every rule reads back holds) is fine
            if spec.kind not in kinds and value is not None and value != type(spec).model_fields[key].default:
                article = "an" if spec.kind[0] in "aeiou" else "a"
                add(f"{p}.{key}", f"{article} {spec.kind} task does not read it (only "
                                  f"{', '.join(kinds)} tasks do)")
        if spec.hard_negatives is not None and spec.kind != "splice":
            add(f"{p}.hard_negatives", f"only splice tasks take hard_negatives, not kind {spec.kind}")
        if spec.kind == "imported":
            for key in ("format", "path"):
                if getattr(spec, key) is None:
                    add(f"{p}.{key}", "required for kind: imported")
            for key in ("path", "labels"):
                value = getattr(spec, key)
                if value is not None and (problem := project_path_problem(value)):
                    add(f"{p}.{key}", problem)
            if spec.label_set is not None and len(set(spec.label_set)) < 2:
                add(f"{p}.label_set", f"needs at least two distinct labels, got {spec.label_set}")
            if spec.genome is not None and spec.genome not in c.genomes:
                add(f"{p}.genome", f"unknown genome {spec.genome!r} (the genome of the rows' chrom/start/end/strand)")
            continue
        if spec.kind == "expression":  # a table of its own, no genome
            if spec.table is None:
                add(f"{p}.table", "required for kind: expression")
            else:
                source(f"{p}.table", spec.table)
            w = spec.window
            if w is not None and not (isinstance(w, list) and len(w) == 2 and w[0] <= 0 <= w[1] and w[0] < w[1]):
                add(f"{p}.window", f"expected [upstream <= 0, downstream >= 0] around the TSS, got {w!r}")
            for m in spec.models or []:
                if model_lm(m) not in c.gpt_lms():
                    add(f"{p}.models", f"{m!r}: an expression task (a regression) lists GPT language "
                                       f"models only (<lm> or <lm>-scratch of {c.gpt_lms()}); the k-mer "
                                       "ridge baseline is always fit")
            continue
        g = spec.genome
        if g not in c.genomes:
            add(f"{p}.genome", f"unknown genome {g!r}")
            continue
        if spec.holdout_chroms:
            both = sorted(set(spec.holdout_chroms.get("dev", [])) & set(spec.holdout_chroms.get("test", [])))
            if both:
                add(f"{p}.holdout_chroms", f"contig(s) {both} are in both dev and test")
            for part, names in spec.holdout_chroms.items():
                for i, name in enumerate(names):
                    if problem := _contig_problem(c, g, name):  # it would leave that split empty
                        add(f"{p}.holdout_chroms.{part}[{i}]", problem)
        ann = c.annotations.get(g, Annotations())
        w = spec.window
        if spec.kind == "promoter":
            if ann.epd is None:
                add(f"annotations.{g}.epd", f"needed by promoter task {t!r}")
            if not (isinstance(w, list) and len(w) == 2 and w[0] <= 0 <= w[1] and w[0] < w[1]):
                add(f"{p}.window", f"expected [upstream <= 0, downstream >= 0] around the TSS, got {w!r}")
            if spec.subset != "all" and ann.epd_motifs is None:
                add(f"annotations.{g}.epd_motifs", f"needed by the {spec.subset} subset of task {t!r}")
        elif spec.kind == "tfbs":
            if spec.experiment not in ann.peaks:
                add(f"{p}.experiment", f"{spec.experiment!r} is not in annotations.{g}.peaks")
        elif spec.kind == "splice":
            if ann.gtf is None:
                add(f"annotations.{g}.gtf", f"needed by splice task {t!r}")
            if w is not None and (not isinstance(w, int) or isinstance(w, bool) or w <= 0):
                add(f"{p}.window", f"splice window must be a positive number of bp, got {w!r}")
        elif spec.kind in ("pas", "tis"):
            if ann.gtf is None:
                add(f"annotations.{g}.gtf", f"needed by {spec.kind} task {t!r}")
            if w is not None and (not isinstance(w, int) or isinstance(w, bool) or w < 12):
                add(f"{p}.window", f"{spec.kind} window must be a number of bp >= 12, got {w!r}")
        if spec.hexamers is not None and spec.kind != "pas":
            add(f"{p}.hexamers", "only pas tasks take hexamers")
        if spec.kind == "splice" and w is None:
            add(f"{p}.window", "required for kind: splice")
        if spec.label_set is not None:
            add(f"{p}.label_set", "only imported tasks declare a label set")

    # models named by fine-tuning and interpretation
    def model_name(m: str, path: str) -> None:
        base = model_lm(m)
        if m not in BASELINES and base not in c.language_models:
            add(path, f"unknown model {m!r} (a language model, <lm>-scratch, or one of {list(BASELINES)})")

    for m in c.finetune.models:
        model_name(m, "finetune.models")
    for t, spec in c.tasks.items():
        for m in spec.models or []:
            model_name(m, f"tasks.{t}.models")
    for name in ("attention", "motifs", "variants"):
        sec = getattr(c, name)
        for t in sec.tasks:
            if t not in c.tasks:
                add(f"{name}.tasks", f"unknown task {t!r}")
    for name in ("attention", "variants"):
        sec = getattr(c, name)
        if not sec.tasks:
            continue
        if sec.model is None:
            add(f"{name}.model", "required when tasks are listed")
            continue
        lm = model_lm(sec.model)
        if lm not in c.language_models or sec.model in BASELINES or lm in c.gpt_lms():
            add(f"{name}.model", f"must name a fine-tuned BERT model (<lm> or <lm>-scratch), got {sec.model!r}")
        for t in sec.tasks:
            if t in c.tasks and sec.model not in c.task_models(t):
                add(f"{name}.model", f"{sec.model!r} is not fine-tuned on task {t!r} (tasks.{t}.models / finetune.models)")
    if c.variants.classifier is not None and c.variants.tasks:
        model_name(c.variants.classifier, "variants.classifier")
        for t in c.variants.tasks:
            if t in c.tasks and c.variants.classifier not in c.task_models(t):
                add("variants.classifier", f"{c.variants.classifier!r} is not fine-tuned on task {t!r} (tasks.{t}.models / finetune.models)")
    for t in c.motifs.tasks:
        if t not in c.attention.tasks:
            add("motifs.tasks", f"task {t!r} also needs to be in attention.tasks")
    for t in c.variants.tasks:
        if t not in c.tasks:
            continue
        if c.tasks[t].kind == "imported" and c.tasks[t].genome is None:
            add("variants.tasks", f"task {t!r} is imported without tasks.{t}.genome (no genome coordinates; give its rows chrom/start/end/strand columns and set genome)")
            continue
        g = c.tasks[t].genome
        if g not in c.genomes:
            continue  # tasks.<t>.genome is reported above
        ann = c.annotations.get(g, Annotations()) if g else Annotations()
        if ann.dbsnp is None and ann.clinvar is None:
            add(f"annotations.{g}", f"variants task {t!r} needs dbsnp and/or clinvar")
        if t not in c.attention.tasks:
            add("variants.tasks", f"task {t!r} also needs to be in attention.tasks")
    for t in c.attention.tasks:
        if t in c.tasks and c.tasks[t].kind == "imported" and c.tasks[t].genome is None:
            add("attention.tasks", f"task {t!r} is imported without tasks.{t}.genome (no genome coordinates; give its rows chrom/start/end/strand columns and set genome)")
    att_models = {"attribution.models": c.attribution.models}
    att_models.update({f"attribution.task_models.{t}": ms for t, ms in c.attribution.task_models.items()})
    for t in c.attribution.task_models:
        if t not in c.attribution.tasks:
            add(f"attribution.task_models.{t}", f"task {t!r} is not in attribution.tasks")
    for t in c.attribution.tasks:
        if t not in c.tasks:
            add("attribution.tasks", f"unknown task {t!r}")
            continue
        where = f"attribution.task_models.{t}" if t in c.attribution.task_models else "attribution.models"
        for m in att_models[where]:
            if m not in c.task_models(t):
                add(where, f"{m!r} is not fine-tuned on task {t!r} (tasks.{t}.models / finetune.models)")
        if not att_models[where]:
            add(where, f"required when tasks are listed (task {t!r} has no models to attribute)")
    for where, ms in att_models.items():
        for m in ms:
            if m == "kmer_lr":
                add(where, "kmer_lr has no model directory to attribute; use cnn, cnn_lstm, cnn_gru, a BERT or a GPT model")
            else:
                model_name(m, where)
    if c.attribution.variants != "off" and not any(t in c.variants.tasks for t in c.attribution.tasks):
        add("attribution.variants", "needs a task in both attribution.tasks and variants.tasks")
    # modisco: a subset of what attribution writes (its npz files are the inputs)
    for key in ("tasks", "models", "methods"):
        chosen, have = getattr(c.modisco, key), getattr(c.attribution, key)
        if key == "models":  # attributed on at least one task
            have = list(dict.fromkeys(m for ms in att_models.values() for m in ms))
        for x in chosen or []:
            if x not in have:
                add(f"modisco.{key}", f"{x!r} is not in attribution.{key} ({list(have)}): no attribution maps to read")

    # collections: a genome, a verifiable table, known models, task names of their own
    for name, col in c.collections.items():
        p = f"collections.{name}"
        if col.genome not in c.genomes:
            add(f"{p}.genome", f"unknown genome {col.genome!r}")
        source(f"{p}.table", col.table)
        if col.base_url is not None and (problem := source_url_problem(col.base_url)):
            add(f"{p}.base_url", problem)
        for m in col.models or []:
            model_name(m, f"{p}.models")
        if not c.collection_models(name):
            add(f"{p}.models", "no models to fine-tune (set it or finetune.models)")
        for key, values in col.filters.items():
            if not values:
                add(f"{p}.filters.{key}", "an empty list keeps no row")
        for t in c.tasks:
            if t.startswith(f"{name}__"):
                add(f"tasks.{t}", f"the prefix {name}__ is reserved for collection {name!r}")
    # haplotypes: the gpt generator starts from a GPT language model the workflow pretrains
    for name, hs in c.haplotypes.items():
        lm = hs.gpt.lm
        if lm is not None and "gpt" in hs.generators and lm not in c.gpt_lms():
            add(f"haplotypes.{name}.gpt.lm", f"{lm!r} is not a GPT language model pretrained here "
                f"(language_models with arch gpt: {c.gpt_lms()}); null starts from scratch")
    return errs


_DEMO_PEAK = re.compile(r"^resources/demo/(?P<world>[^/]+)/peaks/(?P<exp>[^/]+)\.narrowPeak\.gz$")


def _demo_peak_checks(c: Config) -> list[tuple[str, str]]:
    """A narrowPeak that a demo world is expected to write must be one of that world's experiments."""
    if not c.simulate:
        return []
    from dnalm.sim.spec import world_spec

    errs = []
    worlds = {}
    for g, ann in c.annotations.items():
        for exp, src in ann.peaks.items():
            m = _DEMO_PEAK.match(src.url)
            if not m or m["world"] not in c.simulate:
                continue
            w = m["world"]
            if w not in worlds:
                worlds[w] = set(world_spec(canonical(c.simulate), w)["peaks"])
            if m["exp"] not in worlds[w]:
                errs.append((f"annotations.{g}.peaks.{exp}", f"demo world {w!r} writes no experiment {m['exp']!r} (it writes {sorted(worlds[w])})"))
    return errs


def _plan_checks(c: Config) -> list[tuple[str, str]]:
    """`plan` entries name a genome, task, collection or rule that exists (a typo would be ignored)."""
    from dnalm.plan import stage_of

    errs = []
    named = (("genomes", c.plan.genomes, "genomes", c.genomes), ("task_rows", c.plan.task_rows, "tasks", c.tasks),
             ("collection_experiments", c.plan.collection_experiments, "collections", c.collections))
    for key, names, where, defined in named:
        errs += [(f"plan.{key}.{n}", f"{n!r} is not defined under `{where}`") for n in names if n not in defined]
    for i, rule in enumerate(c.plan.gpu_rules):
        try:
            stage_of(rule)
        except KeyError:
            errs.append((f"plan.gpu_rules.{i}", f"{rule!r} is not a rule of the workflow"))
    return errs


def unverified(c: Config) -> list[tuple[str, Source]]:
    out = []
    for g, spec in c.genomes.items():
        for key in ("fasta", "assembly_report"):
            s = getattr(spec, key)
            if s is not None and s.checksum == "none":
                out.append((f"genomes.{g}.{key}", s))
    for g, ann in c.annotations.items():
        for key in ("epd", "epd_motifs", "gtf", "dbsnp", "clinvar"):
            s = getattr(ann, key)
            if s is not None and s.checksum == "none":
                out.append((f"annotations.{g}.{key}", s))
        for exp, s in ann.peaks.items():
            if s.checksum == "none":
                out.append((f"annotations.{g}.peaks.{exp}", s))
    for name, col in c.collections.items():
        if col.table.checksum == "none":
            out.append((f"collections.{name}.table", col.table))
    for t, spec in c.tasks.items():
        if spec.table is not None and spec.table.checksum == "none":
            out.append((f"tasks.{t}.table", spec.table))
    for name, hs in c.haplotypes.items():
        for key in ("vcf", "index"):
            s = getattr(hs, key)
            if s is not None and s.checksum == "none":
                out.append((f"haplotypes.{name}.{key}", s))
    for name, s in c.motifs.sources.items():
        if s.checksum == "none":
            out.append((f"motifs.sources.{name}", s))
    return out
