"""Cross-key config checks and the DAG's target lists.

JSON Schema (``workflow/schemas/config.schema.yaml``) checks shapes and unknown keys; this
module checks what a schema cannot express (references between sections) and raises
``ValueError`` naming the offending key. ``common.smk`` calls only these functions.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

BASELINES = ("cnn", "cnn_lstm", "cnn_gru", "kmer_lr")
SCRATCH_SUFFIX = "-scratch"


def alternation(keys: Mapping[str, Any] | list[str]) -> str:
    """A regex matching exactly the given keys (for wildcard constraints)."""
    names = sorted(keys)
    if not names:
        return r"(?!x)x"
    return "|".join(re.escape(n) for n in names)


def _err(key: str, msg: str) -> ValueError:
    return ValueError(f"config key `{key}`: {msg}")


def check_config(config: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` naming the key when sections reference each other wrongly."""
    genomes = config.get("genomes", {})
    for g, spec in genomes.items():
        try:
            re.compile(spec.get("contigs", ".*"))
        except re.error as e:
            raise _err(f"genomes.{g}.contigs", f"invalid regex: {e}") from None
    for g in config.get("annotations", {}):
        if g not in genomes:
            raise _err(f"annotations.{g}", f"genome {g!r} is not defined under `genomes`")
    lms = config.get("language_models", {})
    presets = config.get("pretrain_presets", {})
    for lm, spec in lms.items():
        if lm.endswith(SCRATCH_SUFFIX) or lm in BASELINES:
            raise _err(f"language_models.{lm}", "name is reserved (baseline or -scratch)")
        if "pretrained" in spec:
            continue
        if spec.get("genome") not in genomes:
            raise _err(f"language_models.{lm}.genome", f"unknown genome {spec.get('genome')!r}")
        if spec.get("preset", "demo") not in presets:
            raise _err(f"language_models.{lm}.preset", f"unknown preset {spec.get('preset')!r}")
    tasks = config.get("tasks", {})
    for t, spec in tasks.items():
        kind = spec["kind"]
        if kind == "imported":
            for key in ("format", "path"):
                if key not in spec:
                    raise _err(f"tasks.{t}.{key}", "required for kind: imported")
            continue
        g = spec.get("genome")
        if g not in genomes:
            raise _err(f"tasks.{t}.genome", f"unknown genome {g!r}")
        ann = config.get("annotations", {}).get(g, {})
        if kind == "promoter":
            if "epd" not in ann:
                raise _err(f"annotations.{g}.epd", f"needed by promoter task {t!r}")
            w = spec.get("window")
            if not (isinstance(w, list) and len(w) == 2 and w[0] < w[1]):
                raise _err(f"tasks.{t}.window", f"expected [upstream, downstream], got {w!r}")
            if spec.get("subset", "all") != "all" and "epd_motifs" not in ann:
                raise _err(f"annotations.{g}.epd_motifs", f"needed by TATA subset of task {t!r}")
        elif kind == "tfbs":
            exp = spec.get("experiment")
            if exp not in ann.get("peaks", {}):
                raise _err(f"tasks.{t}.experiment", f"{exp!r} is not in annotations.{g}.peaks")
        elif kind == "splice" and "gtf" not in ann:
            raise _err(f"annotations.{g}.gtf", f"needed by splice task {t!r}")
    ft = config.get("finetune", {})
    for m in ft.get("models", []):
        _check_model_name(m, lms, "finetune.models")
    for t, spec in tasks.items():
        for m in spec.get("models", []):
            _check_model_name(m, lms, f"tasks.{t}.models")
    for section in ("attention", "motifs", "variants"):
        sec = config.get(section, {})
        for t in sec.get("tasks", []):
            if t not in tasks:
                raise _err(f"{section}.tasks", f"unknown task {t!r}")
        if sec.get("tasks") and section != "motifs" and sec.get("model") not in lms:
            raise _err(f"{section}.model", f"must name a language model, got {sec.get('model')!r}")
    for t in config.get("motifs", {}).get("tasks", []):
        if t not in config.get("attention", {}).get("tasks", []):
            raise _err("motifs.tasks", f"task {t!r} also needs to be in attention.tasks")
    for t in config.get("variants", {}).get("tasks", []):
        g = tasks[t].get("genome")
        ann = config.get("annotations", {}).get(g, {})
        if "dbsnp" not in ann and "clinvar" not in ann:
            raise _err(f"annotations.{g}", f"variants task {t!r} needs dbsnp and/or clinvar")
        if t not in config.get("attention", {}).get("tasks", []):
            raise _err("variants.tasks", f"task {t!r} also needs to be in attention.tasks")


def _check_model_name(m: str, lms: Mapping[str, Any], key: str) -> None:
    base = m[: -len(SCRATCH_SUFFIX)] if m.endswith(SCRATCH_SUFFIX) else m
    if m not in BASELINES and base not in lms:
        raise _err(key, f"unknown model {m!r} (a language model, <lm>-scratch, or {BASELINES})")


def trained_lms(config: Mapping[str, Any]) -> list[str]:
    """Language models pretrained by the workflow (rule bert_pretrain)."""
    return [lm for lm, spec in config.get("language_models", {}).items() if "pretrained" not in spec]


def imported_lms(config: Mapping[str, Any]) -> list[str]:
    """Language models imported from a local ``pretrained:`` checkpoint (rule lm_import)."""
    return [lm for lm, spec in config.get("language_models", {}).items() if "pretrained" in spec]


def task_models(config: Mapping[str, Any], task: str) -> list[str]:
    """Fine-tuned model names for a task (the task's own list, else finetune.models)."""
    spec = config["tasks"][task]
    return list(spec.get("models", config.get("finetune", {}).get("models", [])))


def model_lm(model: str) -> str | None:
    """The language model a fine-tuned model starts from (None for baselines)."""
    if model in BASELINES:
        return None
    return model[: -len(SCRATCH_SUFFIX)] if model.endswith(SCRATCH_SUFFIX) else model


def is_scratch(model: str) -> bool:
    return model.endswith(SCRATCH_SUFFIX)


def seeds(config: Mapping[str, Any]) -> list[int]:
    return list(config.get("finetune", {}).get("seeds", [1]))


def finetune_outputs(config: Mapping[str, Any]) -> list[str]:
    return [
        f"results/finetune/{t}/{m}/seed{s}/metrics.json"
        for t in config.get("tasks", {})
        for m in task_models(config, t)
        for s in seeds(config)
    ]


def final_outputs(config: Mapping[str, Any]) -> list[str]:
    """Everything `rule all` builds."""
    out: list[str] = ["results/summary/software.tsv"]
    for t in config.get("tasks", {}):
        out.append(f"results/datasets/{t}/card.json")
    for lm, spec in config.get("language_models", {}).items():
        if "pretrained" not in spec:
            out.append(f"results/pretrain/{lm}/train_log.tsv")
            out.append(f"results/corpus/{spec['genome']}/stats.json")
    out += finetune_outputs(config)
    if config.get("tasks") and config.get("finetune", {}).get("models"):
        out.append("results/summary/benchmarks.tsv")
    att = config.get("attention", {})
    for t in att.get("tasks", []):
        out.append(f"results/attention/{t}/{att['model']}/landscape.png")
    mot = config.get("motifs", {})
    for t in mot.get("tasks", []):
        out.append(f"results/motifs/{t}/{att['model']}/matches.tsv")
    var = config.get("variants", {})
    for t in var.get("tasks", []):
        out.append(f"results/variants/{t}/{var['model']}/summary.json")
    return out


def is_local(url: str) -> bool:
    """True for plain paths and file: URLs (which Snakemake can track as inputs)."""
    return url.startswith("file:") or "://" not in url


def local_path(url: str) -> str:
    """Path of a local source: ``file:`` URLs (incl. ``file://localhost/``, %-escapes) or a plain path."""
    if not url.startswith("file:"):
        return url
    parsed = urllib.parse.urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        raise ValueError(f"{url}: file: URLs must name a local path (host {parsed.netloc!r})")
    path = urllib.parse.unquote(parsed.path)
    # file:relative/path keeps its relative meaning (urlparse gives "relative/path")
    return path


def local_source_inputs(config: Mapping[str, Any], kind: str, wc: Mapping[str, str]) -> list[str]:
    """Input files for a fetch rule when its source is local (so producers, e.g. the simulator, run first).

    ``kind`` is ``fasta`` / ``assembly_report`` (under genomes.<g>) or an annotations key
    (``epd``, ``epd_motifs``, ``gtf``, ``dbsnp``, ``clinvar``, ``peaks``).
    """
    g = wc["genome"]
    if kind in ("fasta", "assembly_report"):
        src = config["genomes"][g].get(kind)
    elif kind == "peaks":
        src = config.get("annotations", {}).get(g, {}).get("peaks", {}).get(wc["experiment"])
    else:
        src = config.get("annotations", {}).get(g, {}).get(kind)
    if not src or not is_local(src["url"]):
        return []
    return [local_path(src["url"])]


def source(config: Mapping[str, Any], kind: str, wc: Mapping[str, str]) -> dict[str, Any]:
    """The source spec ({url, md5, sha256}) for a fetch rule, or {} if none is configured."""
    g = wc["genome"]
    if kind in ("fasta", "assembly_report"):
        return dict(config["genomes"][g].get(kind) or {})
    if kind == "peaks":
        return dict(config.get("annotations", {}).get(g, {}).get("peaks", {}).get(wc["experiment"]) or {})
    return dict(config.get("annotations", {}).get(g, {}).get(kind) or {})


def pretrain_corpus_stats(config: Mapping[str, Any], lm: str) -> str:
    """The corpus stats.json of a trained LM's genome (written after all shards; any k)."""
    spec = config["language_models"][lm]
    return f"results/corpus/{spec['genome']}/stats.json"


def pretrain_preset(config: Mapping[str, Any], lm: str) -> dict[str, Any]:
    """The pretraining preset dict of a trained LM."""
    spec = config["language_models"][lm]
    return dict(config["pretrain_presets"][spec.get("preset", "demo")])


def vcf_inputs(config: Mapping[str, Any], task: str) -> dict[str, str]:
    """Normalised dbSNP / ClinVar VCFs (+ index, + counts) configured for a task's genome."""
    g = config["tasks"][task]["genome"]
    ann = config.get("annotations", {}).get(g, {})
    out = {}
    for src in ("dbsnp", "clinvar"):
        if src in ann:
            base = f"resources/annotations/{g}/{src}"
            out[src] = f"{base}.vcf.gz"
            out[f"{src}_tbi"] = f"{base}.vcf.gz.tbi"
            out[f"{src}_counts"] = f"{base}.normalise.json"
    return out


def variant_model_inputs(config: Mapping[str, Any], task: str, model: str) -> dict[str, str]:
    """Genome, attention regions, datasets + card, fine-tuned classifier (first seed) and pretrained LM."""
    g = config["tasks"][task]["genome"]
    seed = seeds(config)[0]
    return {
        "fasta": f"resources/genomes/{g}/genome.fa.gz",
        "fai": f"resources/genomes/{g}/genome.fa.gz.fai",
        "gzi": f"resources/genomes/{g}/genome.fa.gz.gzi",
        "regions": f"results/attention/{task}/{model}/regions.bed",
        "train": f"results/datasets/{task}/train.tsv.gz",
        "dev": f"results/datasets/{task}/dev.tsv.gz",
        "test": f"results/datasets/{task}/test.tsv.gz",
        "card": f"results/datasets/{task}/card.json",
        "classifier": f"results/finetune/{task}/{model}/seed{seed}/model",
        "lm": f"results/pretrain/{model}/model",
    }


def variant_shards(config: Mapping[str, Any], task: str, model: str) -> list[str]:
    """Shard tables of rule variant_score_shard: ``shards/{i}-of-{n}.tsv.gz``, n = variants.scatter."""
    n = int(config.get("variants", {}).get("scatter", 1))
    return [f"results/variants/{task}/{model}/shards/{i}-of-{n}.tsv.gz" for i in range(1, n + 1)]


def variant_gather_inputs(config: Mapping[str, Any], task: str, model: str) -> dict[str, Any]:
    """Inputs of the gather rule variant_score: all shards (tables + ``.json`` metadata), the
    genome, datasets and classifier (null, mutation maps) and the VCF normalise counts."""
    model_in = variant_model_inputs(config, task, model)
    out: dict[str, Any] = {k: model_in[k] for k in
                           ("fasta", "fai", "gzi", "train", "dev", "test", "card", "classifier")}
    shards = variant_shards(config, task, model)
    out["shards"] = shards
    out["shard_meta"] = [p[: -len(".tsv.gz")] + ".json" for p in shards]
    out.update({k: v for k, v in vcf_inputs(config, task).items() if k.endswith("_counts")})
    return out
