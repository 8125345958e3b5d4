"""The config's typed sections: every key, type, range and default, declared once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

BASELINES = ("cnn", "cnn_lstm", "cnn_gru", "kmer_lr")
SCRATCH_SUFFIX = "-scratch"
#: Keys that become path components: a letter or digit first, then letters, digits, ``_ . -``.
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
_KEY_RE = re.compile(KEY_PATTERN)
Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
_URL = r"^(https?://|ftp://|file:|[^:]+$)"


class ConfigError(ValueError):
    """A config mistake; the message names every offending config path."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=False)


# ----------------------------------------------------------------------------- sections


class Source(_Model):
    """A file to fetch: an http(s)/ftp/file URL or a plain path, with optional checksums."""

    url: str = Field(pattern=_URL, description="http://, https://, ftp://, file: URL, or a path relative to the working directory.")
    md5: str | None = Field(None, pattern=r"^[0-9a-fA-F]{32}$", description="Expected MD5 of the downloaded bytes.")
    sha256: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$", description="Expected SHA-256 of the downloaded bytes.")
    checksum: Literal["none"] | None = Field(
        None,
        description="`none`: a remote file with no published checksum, fetched unverified (logged as a "
        "warning). A remote URL needs md5, sha256 or this explicit opt-out.",
    )

    @property
    def is_local(self) -> bool:
        return self.url.startswith("file:") or "://" not in self.url


class SimPeak(_Model):
    """One simulated ChIP-seq experiment of a demo world.

    Unset numbers take the quality-dependent defaults of ``dnalm.sim.presets.PeakSpec``.
    """

    motif: Literal["CTCF_like", "P53_like", "TATA_like", "LOWQ_like", "none"] | None = Field(None, description="Planted PWM under the peaks; null or none: no motif.")
    quality: Literal["good", "low"] = Field("good", description="`low`: few peaks carry the motif, summits jitter widely (a low-quality experiment).")
    n: int | None = Field(None, ge=1, description="Number of peaks (default 1000 good / 800 low).")
    motif_fraction: float | None = Field(None, ge=0, le=1, description="Share of peaks with a motif instance (default 0.9 / 0.2).")
    jitter: int | None = Field(None, ge=0, le=100, description="bp between the motif and the summit (default 5 / 80).")
    half_width: tuple[int, int] | None = Field(None, description="Peak half-width range [lo, hi] bp, 1 <= lo < hi <= 2000 (default [100, 400] / [150, 600]).")
    signal: float | None = Field(None, gt=0, description="Mean signalValue (default 60 / 8).")


SimKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,100}$")]


class World(_Model):
    preset: Literal["human", "mouse"] = Field("human", description="Background model.")
    seed: int = Field(7, ge=0, description="Simulator seed; same seed, same bytes.")
    scale: float = Field(1.0, ge=0.1, le=10, description="Multiplies chromosome lengths and feature counts.")
    peaks: dict[SimKey, SimPeak] | None = Field(
        None, description="Simulated ChIP-seq experiments by name; default: the preset's own set."
    )


class GenomeSpec(_Model):
    fasta: Source
    assembly_report: Source | None = Field(None, description="NCBI assembly report used to map RefSeq / Ensembl / UCSC contig names.")
    contigs: str = Field(".*", description="Regex (Python re.fullmatch) selecting the contigs to keep, matched against the FASTA names.")


class Annotations(_Model):
    epd: Source | None = Field(None, description="EPDnew BED (8-column space-delimited, or 6-column TSS BED).")
    epd_motifs: Source | None = Field(None, description="EPDnew promoter_motifs.txt (TATA flags).")
    gtf: Source | None = Field(None, description="Gene annotation GTF (plain or gzip).")
    peaks: dict[Key, Source] = Field(default_factory=dict, description="ENCODE narrowPeak files keyed by experiment id.")
    dbsnp: Source | None = Field(None, description="dbSNP VCF (bgzip; RefSeq or 1-style names).")
    clinvar: Source | None = Field(None, description="ClinVar VCF (bgzip; 1-style names).")


class CorpusSpec(_Model):
    min_len: int = Field(10, ge=5, description="Shortest piece in bp (>= the k of every language model).")
    max_len: int = Field(510, ge=10, le=100000, description="Longest piece in bp (>= 2 * min_len).")
    coverage: int = Field(5, ge=1, description="Passes over the genome, each with its own offset and seed (DNABERT used about 5).")
    seed: int = 1
    val_fraction: float = Field(0.01, ge=0, le=0.5, description="Share of pieces held out for validation.")


class LanguageModel(_Model):
    genome: Key | None = Field(None, description="Genome id whose corpus trains the model.")
    k: int = Field(6, ge=3, le=6)
    arch: Literal["bert"] = "bert"
    size: Literal["tiny", "small", "base"] = Field("tiny", description="Size preset; base = DNABERT's 12 x 768 x 12 heads.")
    preset: Key = Field("demo", description="Key of pretrain_presets.")
    pretrained: str | None = Field(None, description="Local HF-format DNABERT checkpoint directory; skips pretraining.")


class PretrainPreset(_Model):
    """A pretraining recipe. The global batch is ``batch_size * grad_accum * world_size``."""

    steps: int = Field(ge=1)
    batch_size: int = Field(ge=1, description="Sequences per device per micro-step.")
    lr: float = Field(gt=0)
    warmup_steps: int = Field(0, ge=0)
    grad_accum: int = Field(1, ge=1)
    weight_decay: float = Field(0.01, ge=0)
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = Field(1.0e-6, gt=0)
    max_grad_norm: float = Field(1.0, ge=0, description="Gradient clipping; 0 switches it off.")
    mask_schedule: list[tuple[int, float]] = Field(
        [(0, 0.15)],
        description="[[from_step, masked_fraction], ...]: target share of masked tokens from each step on.",
    )
    checkpoint_every: int = Field(1000, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    log_every: int = Field(50, ge=1)
    num_workers: int = Field(0, ge=0)
    compile: bool = False
    seed: int = Field(42, ge=0)
    dropout: float | None = Field(
        None, ge=0, lt=1,
        description="Dropout of hidden states and attention probabilities while pretraining; null keeps "
        "the size preset's (DNABERT's 0.1). The saved model keeps the size preset's value, so fine-tuning "
        "is unaffected. 0 suits short runs on much more data than they see (no epoch repeats), and "
        "attention dropout is the costliest step of a small model's CPU training.",
    )

    @model_validator(mode="after")
    def _check(self) -> PretrainPreset:
        if not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas: must be two numbers in [0, 1), got {list(self.betas)}")
        s = self.mask_schedule
        if not s:
            raise ValueError("mask_schedule: must hold at least one [from_step, rate] pair")
        if s[0][0] != 0:
            raise ValueError(f"mask_schedule: must start at step 0, got {list(s[0])}")
        if any(b[0] <= a[0] for a, b in zip(s, s[1:], strict=False)):
            raise ValueError(f"mask_schedule: steps must increase, got {[list(x) for x in s]}")
        if any(not 0 < r < 1 for _, r in s):
            raise ValueError(f"mask_schedule: rates must be in (0, 1), got {[list(x) for x in s]}")
        return self


class Task(_Model):
    genome: Key | None = None
    kind: Literal["promoter", "tfbs", "splice", "imported"]
    window: list[int] | int | None = Field(None, description="promoter: [upstream, downstream] around the TSS (TSS = 0, inclusive); splice: total bp.")
    subset: Literal["tata", "notata", "all"] = "all"
    negatives: Literal["substitute", "genomic", "tata_genomic", "gc_matched", "dinuc_shuffle"] | None = Field(None, description="Negative strategy (see docs/datasets.md).")
    experiment: Key | None = Field(None, description="tfbs: key of annotations.<genome>.peaks.")
    top_n: int | None = Field(None, ge=1, description="tfbs: keep the top-N peaks by signalValue.")
    flank: int = Field(50, ge=1, description="tfbs: bp each side of the summit (101 bp windows).")
    unknown_contigs: Literal["error", "skip"] = Field("skip", description="What to do with records on contigs not in the genome.")
    holdout_chroms: dict[Literal["dev", "test"], list[str]] | None = Field(None, description="Chromosome held-out split: {dev: [..], test: [..]}.")
    format: Literal["dnabert_tsv", "gue_csv", "fasta_labels"] | None = Field(None, description="imported: input format.")
    path: str | None = Field(None, description="imported: file or folder.")
    labels: str | None = Field(None, description="imported fasta_labels: label table.")
    label_set: list[int] | None = Field(None, description="imported: the declared label values; default [0, 1] (binary).")
    k: int = Field(6, ge=3, le=6, description="k-mer size rows are checked against (rows shorter than k are refused).")
    models: list[str] | None = Field(None, description="Overrides finetune.models for this task.")
    max_per_class: int | None = Field(None, ge=1, description="Keep at most this many examples per class (seeded random subset, before splitting); default: all.")
    max_train: int | None = Field(None, ge=2, description="Keep at most this many training examples (seeded, an equal share per class, after splitting; dev and test keep every row): a data-scarce version of a task. Default: all.")
    seeds: list[int] | None = Field(None, min_length=1, description="Overrides finetune.seeds for this task (e.g. several seeds for data-scarce tasks).")


class Splits(_Model):
    train: float = Field(0.8, ge=0, le=1)
    dev: float = Field(0.1, ge=0, le=1)
    test: float = Field(0.1, ge=0, le=1)
    seed: int = 1

    @model_validator(mode="after")
    def _sum(self) -> Splits:
        total = self.train + self.dev + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + dev + test must be 1, got {total:g}")
        return self


class FinetuneLR(_Model):
    bert: float = Field(3.0e-5, gt=0)
    baseline: float = Field(1.0e-3, gt=0)


class Finetune(_Model):
    models: list[str] = Field(default_factory=list, description="<lm>, <lm>-scratch, cnn, cnn_lstm, cnn_gru, kmer_lr.")
    seeds: list[int] = Field(default_factory=lambda: [1], min_length=1)
    epochs: int = Field(3, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: FinetuneLR = Field(default_factory=FinetuneLR)
    warmup_fraction: float = Field(0.1, ge=0, le=1)
    weight_decay: float = Field(0.01, ge=0)
    dropout: float = Field(0.1, ge=0, le=1)
    patience: int = Field(2, ge=1)
    min_steps: int = Field(0, ge=0, description="Train at least this many optimizer steps: small datasets get extra epochs.")
    long_input: Literal["mean", "max", "concat"] = "mean"


class Attention(_Model):
    tasks: list[Key] = Field(default_factory=list)
    model: str | None = Field(None, description="The fine-tuned BERT model whose attention is read: <lm> or the <lm>-scratch control (its first seed's run).")
    batch_size: int = Field(64, ge=1)
    n_heatmaps: int = Field(20, ge=1)
    n_permutations: int = Field(1000, ge=99, description="Label shuffles of the positives-minus-negatives landscape contrast (95% band per position, permutation p of the peak).")
    n_bootstrap: int = Field(1000, ge=100, description="Bootstrap resamples (sequences) of the planted-motif attention AUROC's 95% CI (demo worlds).")
    seed: int = Field(1, description="Seed of the permutations and the bootstrap.")


class Motifs(_Model):
    tasks: list[Key] = Field(default_factory=list)
    min_len: int = Field(5, ge=2)
    window: int = Field(24, ge=4)
    pval_cutoff: float = Field(0.005, gt=0, le=1)
    min_n_motif: int = Field(3, ge=1)
    candidates: Literal["regions", "kmers"] = Field("regions", description="Candidate motifs: `regions` (DNABERT, each high-attention region string) or `kmers` (each distinct candidate_len-mer of a region; finds variable motif instances).")
    candidate_len: int = Field(8, ge=2, description="k of `candidates: kmers`; must be >= min_len.")
    positives: Literal["true_label", "predicted_label"] = "true_label"
    region_rule: Literal["dnabert", "quantile"] = Field("dnabert", description="High-attention bases: `dnabert` (score > mean_ratio x mean and > min_ratio x min; DNABERT's rule with the defaults) or `quantile` (score > the sequence's own `quantile`; for models whose attention is flat).")
    min_ratio: float = Field(10.0, ge=0, description="`region_rule: dnabert`: a high base exceeds min_ratio x the sequence's minimum attention (DNABERT: 10).")
    mean_ratio: float = Field(1.0, ge=0, description="`region_rule: dnabert`: a high base exceeds mean_ratio x the sequence's mean attention (DNABERT: 1).")
    quantile: float = Field(0.9, gt=0, lt=1, description="`region_rule: quantile`: a high base exceeds this quantile of its sequence's attention.")
    known_motifs: dict[Key, str] = Field(default_factory=dict, description="Known-motif MEME file per genome id.")

    @model_validator(mode="after")
    def _lens(self) -> Motifs:
        if self.candidates == "kmers" and self.candidate_len < self.min_len:
            raise ValueError(f"candidate_len: {self.candidate_len} must be >= min_len ({self.min_len})")
        return self


class Variants(_Model):
    tasks: list[Key] = Field(default_factory=list)
    model: str | None = None
    batch_size: int = Field(64, ge=1)
    null_size: int = Field(1000, ge=10)
    top_mutation_maps: int = Field(5, ge=0)
    seed: int = Field(1, description="Seed of the random-SNV null.")
    pvalue_null: Literal["neutral", "random_snv"] = Field("neutral", description="Null hypothesis of the variant p-values (dnalm.variants.pvalues): neutral = no effect beyond neutral mutations (the gain side of the random-SNV logOR, reflected about its median), random_snv = no more damaging than a random SNV in a positive window (cannot make motif-core variants significant, since random SNVs hit motif cores too).")
    tail_size: int = Field(100, ge=10, description="Largest reference values of the null that the generalised Pareto tail is fitted on (at most a quarter of them); p-values past the 10th largest come from the tail, so they are not floored at 1/(n+1).")
    context: Literal["region", "centred"] = Field("region", description="Classifier window of a variant: the nearest-centred positive dataset window of the task that contains it (region; DNABERT mutates the task's own sequences) or a window centred on the variant (centred). Variants in no positive window fall back to centred.")
    scatter: int = Field(1, ge=1, description="Number of variant_score_shard jobs per task; contigs of the genome's .fai are dealt round-robin by decreasing length.")


class Config(_Model):
    """dnalm workflow configuration. Unknown keys are errors."""

    simulate: dict[Key, World] = Field(default_factory=dict, description="Demo worlds written by dnalm.sim into resources/demo/<world>/.")
    genomes: dict[Key, GenomeSpec] = Field(min_length=1, description="Reference genomes, keyed by genome id (<g> in paths).")
    annotations: dict[Key, Annotations] = Field(default_factory=dict, description="Annotation sources per genome id.")
    corpus: CorpusSpec = Field(default_factory=CorpusSpec)
    language_models: dict[Key, LanguageModel] = Field(default_factory=dict, description="Pretrained language models keyed by <lm>.")
    pretrain_presets: dict[Key, PretrainPreset] = Field(default_factory=dict)
    tasks: dict[Key, Task] = Field(default_factory=dict, description="Benchmark tasks keyed by <task>.")
    splits: Splits = Field(default_factory=Splits)
    finetune: Finetune = Field(default_factory=Finetune)
    attention: Attention = Field(default_factory=Attention)
    motifs: Motifs = Field(default_factory=Motifs)
    variants: Variants = Field(default_factory=Variants)

    # ------------------------------------------------------------------ derived views

    def trained_lms(self) -> list[str]:
        """Language models pretrained by the workflow (rule bert_pretrain)."""
        return [n for n, m in self.language_models.items() if m.pretrained is None]

    def imported_lms(self) -> list[str]:
        """Language models imported from a local ``pretrained:`` checkpoint (rule lm_import)."""
        return [n for n, m in self.language_models.items() if m.pretrained is not None]

    def task_models(self, task: str) -> list[str]:
        """Fine-tuned model names of a task (its own list, else ``finetune.models``)."""
        own = self.tasks[task].models
        return list(own if own is not None else self.finetune.models)

    def task_seeds(self, task: str) -> list[int]:
        """Fine-tuning seeds of a task (its own list, else ``finetune.seeds``)."""
        own = self.tasks[task].seeds
        return list(own if own is not None else self.finetune.seeds)


# ----------------------------------------------------------------------------- names


def model_lm(model: str) -> str | None:
    """The language model a fine-tuned model starts from (None for baselines)."""
    if model in BASELINES:
        return None
    return model[: -len(SCRATCH_SUFFIX)] if model.endswith(SCRATCH_SUFFIX) else model


def is_scratch(model: str) -> bool:
    return model.endswith(SCRATCH_SUFFIX)


def canonical(obj: Any) -> Any:
    """A plain, key-sorted copy of a config object or section (for rule params).

    Pydantic models become dicts without unset optional keys (``None``); dict keys are sorted
    recursively and tuples become lists, so the ``repr`` Snakemake stores for params does not
    depend on the order of keys in the YAML.
    """
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json", exclude_none=True)
    if isinstance(obj, Mapping):
        return {str(k): canonical(obj[k]) for k in sorted(obj, key=str)}
    if isinstance(obj, list | tuple):
        return [canonical(x) for x in obj]
    return obj


def deep_update(base: dict[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``new`` into ``base`` recursively (as Snakemake merges several ``--configfile``)."""
    for key, val in new.items():
        if isinstance(val, Mapping) and isinstance(base.get(key), dict):
            deep_update(base[key], val)
        else:
            base[key] = val
    return base
