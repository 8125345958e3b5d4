"""The config's typed sections: every key, type, range and default, declared once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

BASELINES = ("cnn", "cnn_lstm", "cnn_gru", "kmer_lr")
#: The expression tasks' always-fit regression baseline (results/finetune/<task>/kmer_ridge/).
KMER_RIDGE = "kmer_ridge"
SCRATCH_SUFFIX = "-scratch"
#: Keys that become path components: a letter or digit first, then letters, digits, ``_ . -``.
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
_KEY_RE = re.compile(KEY_PATTERN)
Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
#: A random seed: numpy refuses negative ones, and fine-tuning seeds become `seed<s>` path parts.
Seed = Annotated[int, Field(ge=0)]
_URL = r"^(https?://|ftp://|file:|[^:]+$)"


class ConfigError(ValueError):
    """A config mistake; the message names every offending config path."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=False, allow_inf_nan=False)


# ----------------------------------------------------------------------------- sections


class Source(_Model):
    """A file to fetch: an http(s)/ftp/file URL or a plain path, with optional checksums."""

    url: str = Field(pattern=_URL, description="http://, https://, ftp://, a file: URL (any local file, fetched into resources/), or a path inside the project (relative, no ..).")
    md5: str | None = Field(None, pattern=r"^[0-9a-fA-F]{32}$", description="Expected MD5 of the downloaded bytes.")
    sha256: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$", description="Expected SHA-256 of the downloaded bytes.")
    checksums_url: str | None = Field(
        None,
        pattern=_URL,
        description="The publisher's checksum list for this file (md5sum/sha256sum lines such as GENCODE's "
        "MD5SUMS, an NCBI `<file>.md5`, UCSC md5sum.txt, an ENCODE files.txt's `md5sum=` field, a 1000 Genomes "
        "MANIFEST.txt): the "
        "file's entry there is verified like a pinned md5/sha256 (and must agree with one given).",
    )
    checksum: Literal["none"] | None = Field(
        None,
        description="`none`: a remote file with no published checksum, fetched unverified (logged as a "
        "warning). A remote URL needs md5, sha256, checksums_url or this explicit opt-out.",
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
#: Collection names: no ``__`` (it separates a collection from an experiment id in task names).
CollectionKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]+([._-][A-Za-z0-9]+)*$", max_length=40)]


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
    val_contigs: list[str] = Field(default_factory=list, description="Contigs held out of pretraining as its validation set (e.g. [chr21]): their corpus shards hold validation pieces only (one pass), every other contig's shard training pieces only, so the learning check scores sequence the model never saw. Empty: corpus.val_fraction of every contig's pieces, whose bases also occur in training pieces when corpus.coverage > 1.")


class Annotations(_Model):
    epd: Source | None = Field(None, description="EPDnew BED (8-column space-delimited, or 6-column TSS BED).")
    epd_motifs: Source | None = Field(None, description="EPDnew promoter_motifs.txt (TATA flags).")
    gtf: Source | None = Field(None, description="Gene annotation GTF (plain or gzip).")
    peaks: dict[Key, Source] = Field(default_factory=dict, description="ENCODE narrowPeak files keyed by experiment id.")
    dbsnp: Source | None = Field(None, description="dbSNP VCF (bgzip; RefSeq or 1-style names).")
    clinvar: Source | None = Field(None, description="ClinVar VCF (bgzip; 1-style names).")


class CorpusSpec(_Model):
    min_len: int = Field(10, ge=5, description="Shortest piece in bp (>= the k of every language model).")
    max_len: int = Field(510, ge=10, le=100000, description="Longest piece in bp (>= 2 * min_len; at most 509 + k, 512 tokens, for a BERT language model).")
    coverage: int = Field(5, ge=1, description="Passes over the genome, each with its own offset and seed (DNABERT used about 5).")
    seed: Seed = 1
    val_fraction: float = Field(0.01, ge=0, le=0.5, description="Share of pieces held out for validation.")


class LanguageModel(_Model):
    genome: Key | None = Field(None, description="Genome id whose corpus trains the model.")
    k: int = Field(6, ge=3, le=6)
    arch: Literal["bert", "gpt"] = Field("bert", description="bert: DNABERT-style masked LM (rule bert_pretrain); gpt: DNAGPT-style decoder with next-token, GC-content and order objectives (rule gpt_pretrain, k fixed at 6).")
    size: Literal["tiny", "small", "base", "dnagpt_s"] = Field("tiny", description="Size preset; bert: tiny|small|base (base = DNABERT's 12 x 768 x 12 heads); gpt: tiny|dnagpt_s (DNAGPT-S-512: 12 x 768 x 12 heads, 512 tokens).")
    preset: Key = Field("demo", description="Key of pretrain_presets.")
    pretrained: str | None = Field(None, description="HF-format DNABERT checkpoint directory inside the project (relative, no ..); skips pretraining.")


class PretrainPreset(_Model):
    """A pretraining recipe.

    The batch is stated one of two ways (exactly one): ``global_batch`` (sequences per optimizer
    step over all processes, the same for any number of GPUs; per-process batch and gradient
    accumulation are derived at run time, :func:`dnalm.pretrain.batch_plan`) or the fixed split
    ``batch_size`` (+ ``grad_accum``), whose global batch is ``batch_size * grad_accum * processes``.
    """

    steps: int = Field(ge=1, description="Optimizer steps to train.")
    global_batch: int | None = Field(
        None, ge=1,
        description="Sequences per optimizer step summed over all processes (DNABERT: 2000). Per-process "
        "batch and gradient accumulation are derived from the number of processes at run time and logged; "
        "it must divide evenly by that number. Exclusive with batch_size.",
    )
    micro_batch: int | None = Field(
        None, ge=1,
        description="With global_batch: the most sequences one process runs in one forward/backward pass "
        "(what fits in memory); also the validation batch size. Default: global_batch.",
    )
    batch_size: int | None = Field(
        None, ge=1,
        description="Fixed split instead of global_batch: sequences per process per micro-step; the global "
        "batch is then batch_size x grad_accum x processes and changes with the GPU count.",
    )
    lr: float = Field(gt=0)
    warmup_steps: int = Field(0, ge=0)
    schedule_steps: int | None = Field(
        None, ge=1,
        description="Horizon of the linear lr decay: the lr would reach 0 at this step. Default: steps. "
        "DNABERT set its schedule for 200k steps and stopped at 120k (steps 120000, schedule_steps 200000).",
    )
    grad_accum: int | None = Field(
        None, ge=1, description="With batch_size only: micro-steps per optimizer step. Default is 1."
    )
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
    gc_weight: float = Field(
        0.01, ge=0,
        description="GPT models only: weight of the GC-content MSE (on the standardised GC fraction) in "
        "the total loss, next to next-token and order cross-entropy. 0.01 is DNAGPT's lambda; a short run "
        "needs more for the GC objective to be learned (see the demo preset). Unused by BERT models.",
    )
    token_head_eps: float | None = Field(
        None, gt=0,
        description="GPT models only: AdamW eps of the token head's output layer (one row per vocabulary "
        "token); null uses eps. With small batches most of the 19,564 rows see a target only every few "
        "hundred steps, and at eps 1e-6 Adam turns their tiny softmax gradients into full-size steps, so "
        "the rare rows drift away from the unigram start; a larger eps (the demo's 1e-3) damps them. "
        "Unused by BERT models.",
    )

    @model_validator(mode="after")
    def _check(self) -> PretrainPreset:
        if (self.global_batch is None) == (self.batch_size is None):
            raise ValueError("global_batch: give exactly one of global_batch (sequences per optimizer step "
                             "over all processes) and batch_size (sequences per process per micro-step)")
        if self.global_batch is not None and self.grad_accum is not None:
            raise ValueError("grad_accum: is derived from global_batch and the number of processes; "
                             "remove it, or state batch_size instead of global_batch")
        if self.batch_size is not None and self.micro_batch is not None:
            raise ValueError("micro_batch: goes with global_batch; with batch_size the per-process "
                             "batch is batch_size itself")
        if self.global_batch is not None and self.micro_batch is not None and self.micro_batch > self.global_batch:
            raise ValueError(f"micro_batch: {self.micro_batch} is larger than global_batch {self.global_batch}")
        if self.schedule_steps is not None and self.schedule_steps < self.steps:
            raise ValueError(f"schedule_steps: {self.schedule_steps} is less than steps {self.steps} "
                             "(the lr would sit at 0 for the last steps)")
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


class HardNegatives(_Model):
    rounds: int = Field(2, ge=1, description="Rounds after round 0 (the ordinary dataset): each trains `model` on the previous round, scores a fresh GT/AG non-site pool and adds its false positives to train.")
    model: Literal["cnn", "cnn_lstm", "cnn_gru"] = Field("cnn", description="Model trained each round (a cheap one-hot baseline; SpliceFinder used its own CNN).")
    pool_size: int = Field(100000, ge=1, description="GT/AG non-sites drawn and scored per round (seeded; none near an annotated site or overlapping a dev/test/held-out row).")
    heldout_size: int = Field(10000, ge=1, description="Fixed GT/AG non-sites, overlapping no dataset row, on which each round's false-positive rate is measured.")
    threshold: float = Field(0.5, gt=0, lt=1, description="A pool row is a false positive when its splice-site probability 1 - P(non-site) exceeds this.")
    max_added_per_round: int = Field(2000, ge=1, description="At most this many false positives (most confident first) join the train split per round; dev and test never change.")
    epochs: int | None = Field(None, ge=1, description="Epochs of each round's model; default finetune.epochs.")
    min_steps: int | None = Field(None, ge=0, description="Minimum optimizer steps of each round's model; default finetune.min_steps.")
    eval_seeds: int = Field(1, ge=1, description="Models trained per round for the held-out metrics: the mining model plus eval_seeds - 1 more seeds (seed + 1, ...), so rounds.tsv shows the seed spread of the false-positive rate beside its binomial CI.")


class Task(_Model):
    genome: Key | None = Field(None, description="Genome id of the task (imported tasks: optional, the genome their rows' chrom/start/end/strand refer to; every row must then carry them, and the task may join attention, motifs and variants).")
    kind: Literal["promoter", "tfbs", "splice", "imported", "pas", "tis", "expression"]
    window: list[int] | int | None = Field(None, description="promoter: [upstream, downstream] around the TSS (TSS = 0, inclusive); splice, pas, tis: total bp (pas: default 606, hexamer at (window - 6) // 2; tis: default 603, ATG at (window - 3) // 2); expression: [upstream, downstream] around the TSS, cut from the table's PROMOTER column (default [-7000, 3499], Xpresso's 10.5 kb).")
    hexamers: list[str] | None = Field(None, description="pas: PAS hexamers, in order of preference; default AATAAA and its common variants (dnalm.pas_tis.PAS_HEXAMERS).")
    table: Source | None = Field(None, description="expression: an Xpresso-format table (ENSID, EXPRESSION, half-life features, PROMOTER; tab-separated, plain or gzip).")
    promoter_tss: int = Field(10000, ge=0, description="expression: 0-based index of the TSS in the table's PROMOTER column (Xpresso: 10000 of 20 kb).")
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
    models: list[str] | None = Field(None, description="Overrides finetune.models for this task. Expression tasks: GPT language models (<lm>, <lm>-scratch) fit as regressions by rule gpt_regress, beside the k-mer ridge.")
    max_per_class: int | None = Field(None, ge=1, description="Keep at most this many examples per class (seeded random subset, before splitting); default: all.")
    max_train: int | None = Field(None, ge=2, description="Keep at most this many training examples (seeded, an equal share per class, after splitting; dev and test keep every row): a data-scarce version of a task. Default: all.")
    seeds: list[Seed] | None = Field(None, min_length=1, description="Overrides finetune.seeds for this task (e.g. several seeds for data-scarce tasks).")
    min_steps: int | None = Field(None, ge=0, description="Overrides finetune.min_steps for this task's fine-tuning runs (rules bert_finetune, gpt_finetune, baseline_finetune, gpt_regress), e.g. 0 for a task whose models converge within their epochs; default finetune.min_steps.")
    long_input: Literal["mean", "max", "concat"] | None = Field(None, description="Overrides finetune.long_input for this task: how the pieces of inputs longer than the LM's positions (DNABERT-XL) are combined. Tasks that differ only in long_input form a pooling comparison (results/summary/long_input.tsv).")
    hard_negatives: HardNegatives | None = Field(None, description="splice: SpliceFinder-style rounds adding the false positives of a model to train (results/splice_loop/<task>/; docs/datasets.md). The last round's dataset is results/datasets/<task>/.")


class Splits(_Model):
    train: float = Field(0.8, gt=0, le=1)
    dev: float = Field(0.1, ge=0, le=1)
    test: float = Field(0.1, ge=0, le=1)
    seed: Seed = 1

    @model_validator(mode="after")
    def _sum(self) -> Splits:
        total = self.train + self.dev + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + dev + test must be 1, got {total:g}")
        return self


class FinetuneLR(_Model):
    bert: float = Field(3.0e-5, gt=0)
    baseline: float = Field(1.0e-3, gt=0)


class FinetuneGpt(_Model):
    lr: float | None = Field(None, gt=0, description="Learning rate of GPT classifiers; null: lr.bert.")
    patience: int | None = Field(None, ge=1, description="Early-stopping patience (epochs without a better dev MCC or dev loss) of GPT classifiers; null: patience. A pretrained GPT's <B> head starts at the order answer (one class for every input) and at lr 5e-4 sits at chance for its first ~75 steps before it learns, so on a small task (15 steps an epoch) patience 4 stops it at chance (the demo's pas: 2 of 3 seeds).")


class Finetune(_Model):
    models: list[str] = Field(default_factory=list, description="<lm>, <lm>-scratch, cnn, cnn_lstm, cnn_gru, kmer_lr. A GPT <lm> (arch: gpt) is fine-tuned by rule gpt_finetune (class token read at <B>).")
    seeds: list[Seed] = Field(default_factory=lambda: [1], min_length=1)
    epochs: int = Field(3, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: FinetuneLR = Field(default_factory=FinetuneLR)
    gpt: FinetuneGpt = Field(default_factory=FinetuneGpt, description="Overrides for GPT classifiers (rule gpt_finetune); unset keys take the settings above.")
    warmup_fraction: float = Field(0.1, ge=0, le=1)
    weight_decay: float = Field(0.01, ge=0)
    dropout: float = Field(0.1, ge=0, le=1)
    patience: int = Field(2, ge=1)
    min_steps: int = Field(0, ge=0, description="Step budget floor: small datasets get extra epochs so the schedule spans at least this many optimizer steps (early stopping may still end a run sooner).")
    long_input: Literal["mean", "max", "concat"] = "mean"
    checkpoint_every: int = Field(2000, ge=1, description="Optimizer steps between step checkpoints (results/finetune/<task>/<model>/seed<s>/checkpoints/; about 16 bytes per parameter, 1.4 GB for a base BERT); a retried or requeued job resumes from the newest one with the same settings and data. SIGUSR1/SIGTERM also checkpoint, then the job exits 1. Removed once the outputs are written.")
    keep_checkpoints: int = Field(1, ge=1, description="Newest fine-tuning step checkpoints kept while a job runs.")

    def recipe(self, model: str, gpt: bool = False, long_input: str | None = None,
               min_steps: int | None = None) -> dict[str, Any]:
        """The keyword arguments of :func:`dnalm.finetune.finetune` for one model's runs.

        ``lr`` is ``lr.baseline`` for a baseline and ``lr.bert`` otherwise; with ``gpt`` (a GPT
        classifier, rule gpt_finetune) ``gpt.lr`` and ``gpt.patience`` replace ``lr.bert`` and
        ``patience`` when set. ``long_input`` and ``min_steps`` (a task's own values) override
        ``finetune.long_input`` and ``finetune.min_steps`` when not None. Only a BERT reads
        ``long_input``, so a baseline's or GPT's recipe leaves it out: the recipe is what a rule
        passes as params, and a key a run does not read would rerun it when changed.
        """
        baseline = model in BASELINES
        gpt = gpt and not baseline
        out = {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": (self.lr.baseline if baseline
                   else self.gpt.lr if gpt and self.gpt.lr is not None else self.lr.bert),
            "warmup_fraction": self.warmup_fraction,
            "weight_decay": self.weight_decay,
            "dropout": self.dropout,
            "patience": self.gpt.patience if gpt and self.gpt.patience is not None else self.patience,
            "min_steps": self.min_steps if min_steps is None else int(min_steps),
            "checkpoint_every": self.checkpoint_every,
            "keep_checkpoints": self.keep_checkpoints,
        }
        if not (baseline or gpt):
            out["long_input"] = long_input or self.long_input
        return out


class Attention(_Model):
    tasks: list[Key] = Field(default_factory=list)
    model: str | None = Field(None, description="The fine-tuned BERT model whose attention is read: <lm> or the <lm>-scratch control (its first seed's run).")
    batch_size: int = Field(64, ge=1)
    n_heatmaps: int = Field(20, ge=1)
    n_permutations: int = Field(1000, ge=99, description="Label shuffles of the positives-minus-negatives landscape contrast (95% band per position, permutation p of the peak).")
    n_bootstrap: int = Field(1000, ge=100, description="Bootstrap resamples (sequences) of the planted-motif attention AUROC's 95% CI (demo worlds).")
    seed: Seed = Field(1, description="Seed of the permutations and the bootstrap.")


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
    known_motifs: dict[Key, str] = Field(default_factory=dict, description="Known motifs per genome id: a key of `motifs.sources` (fetched by rule known_motifs_download to resources/known_motifs/<key>.txt) or a project-relative path. Files are read as MEME, JASPAR or TRANSFAC, told apart by content.")
    sources: dict[Key, Source] = Field(default_factory=dict, description="Known-motif databases to fetch (e.g. JASPAR 2024 CORE vertebrates non-redundant), keyed by a name that `known_motifs` refers to.")

    @model_validator(mode="after")
    def _lens(self) -> Motifs:
        if self.candidates == "kmers" and self.candidate_len < self.min_len:
            raise ValueError(f"candidate_len: {self.candidate_len} must be >= min_len ({self.min_len})")
        return self


class Variants(_Model):
    tasks: list[Key] = Field(default_factory=list)
    model: str | None = None
    classifier: str | None = Field(None, description="Fine-tuned model of the task whose ref/alt predictions score the variants (diff, logOR, the random-SNV null, p-values, mutation maps): any fine-tuned model (<lm>, <lm>-scratch, cnn, ...); null: variants.model (DNABERT's SNP.py). variants.model still gives the high-attention regions that select dbSNP variants, the masked LM of the zero-shot LLR and the results path results/variants/<task>/<variants.model>/; summary.json names the classifier.")
    batch_size: int = Field(64, ge=1)
    null_size: int = Field(1000, ge=10)
    top_mutation_maps: int = Field(5, ge=0)
    seed: Seed = Field(1, description="Seed of the random-SNV null.")
    pvalue_null: Literal["neutral", "random_snv"] = Field("neutral", description="Null hypothesis of the variant p-values (dnalm.variants.pvalues): neutral = no effect beyond neutral mutations (the gain side of the random-SNV logOR, reflected about its median), random_snv = no more damaging than a random SNV in a positive window (cannot make motif-core variants significant, since random SNVs hit motif cores too).")
    tail_size: int = Field(100, ge=10, description="Largest reference values of the null that the generalised Pareto tail is fitted on (at most a quarter of them); p-values past the 10th largest come from the tail, so they are not floored at 1/(n+1).")
    context: Literal["region", "centred"] = Field("region", description="Classifier window of a variant: the nearest-centred positive dataset window of the task that contains it (region; DNABERT mutates the task's own sequences) or a window centred on the variant (centred). Variants in no positive window fall back to centred.")
    scatter: int = Field(1, ge=1, description="Number of variant_score_shard jobs per task; contigs of the genome's .fai are dealt round-robin by decreasing length.")


class Attribution(_Model):
    tasks: list[Key] = Field(default_factory=list, description="Tasks whose test positives get attribution maps: results/attribution/<task>/<model>/seed<s>/<method>.{npz,json} (+ .bw with coordinates).")
    models: list[str] = Field(default_factory=list, description="Fine-tuned models explained (their first seed's run): BERT models (<lm>, <lm>-scratch), GPT models (arch: gpt) and the neural baselines cnn, cnn_lstm, cnn_gru.")
    task_models: dict[Key, list[str]] = Field(default_factory=dict, description="Per-task replacement of `models` ({<task>: [models]}), for tasks whose fine-tuned models differ from the others' (e.g. a GPT fine-tuned on one task only); tasks not listed use `models`.")
    methods: list[Literal["ism", "ig"]] = Field(default_factory=lambda: ["ism", "ig"], min_length=1, description="ism = in-silico saturation mutagenesis (3 L + 1 forward rows per window); ig = integrated gradients on the input embeddings (one-hot, k-mer or GPT token embeddings) from dinucleotide-shuffled references.")
    max_sequences: int | None = Field(200, ge=1, description="Test positives explained per task (seeded subsample); null: all.")
    batch_size: int = Field(256, ge=1, description="Rows (mutants or IG path points) per forward pass; results do not depend on it.")
    ig_steps: int = Field(32, ge=1, description="Integrated gradients: midpoint-rule points along each path.")
    n_shuffles: int = Field(3, ge=1, description="Integrated gradients: dinucleotide-shuffled references per window (averaged).")
    seed: Seed = Field(1, description="Seed of the subsample and of the shuffles.")
    variants: Literal["off", "clinvar", "all"] = Field("off", description="ISM variant effects (results/attribution/<task>/<model>/seed<s>/variants_ism.{tsv.gz,json}) of the tasks also in variants.tasks: each variant of results/variants/<task>/<variants.model>/scores.tsv.gz read off its window's ISM map under each attribution model (attribution at the variant's base, allele effect, rank in its window), with pathogenic-vs-benign AUROCs; clinvar = ClinVar variants only, all = every scored variant.")


class Modisco(_Model):
    """TF-MoDISco (modisco-lite) on attribution maps: results/attribution_motifs/<task>/<model>/seed<s>/<method>/."""

    tasks: list[Key] | None = Field(None, description="Tasks whose attribution maps TF-MoDISco reads; null: every `attribution.tasks` entry.")
    models: list[str] | None = Field(None, description="Attributed models; null: every model attributed on the task (`attribution.models` or `attribution.task_models.<task>`). A listed model runs on the tasks it is attributed on.")
    methods: list[Literal["ism", "ig"]] | None = Field(None, description="Attribution methods; null: every `attribution.methods` entry.")
    max_seqs: int | None = Field(2000, ge=1, description="Positives TF-MoDISco reads at most per run (seeded subsample of the attribution file's positives); null: all.")
    window: int | None = Field(None, ge=8, description="Central bases of each row TF-MoDISco reads (modisco's -w); null: the whole row.")
    sliding_window_size: int = Field(21, ge=3, description="Seqlet core width (modisco-lite default 21).")
    flank_size: int = Field(10, ge=0, description="Bases added each side of a seqlet core (modisco-lite default 10).")
    max_seqlets: int = Field(20000, ge=10, description="Seqlets clustered at most per metacluster (modisco's max_seqlets_per_metacluster).")
    n_leiden_runs: int = Field(50, ge=1, description="Leiden clusterings (seeds) per round; the best-modularity one is kept (modisco-lite default 50).")
    min_metacluster_size: int = Field(100, ge=1, description="A sign's seqlets are clustered only when there are more than this many (modisco-lite default 100).")
    final_min_cluster_size: int = Field(20, ge=1, description="Seqlets a pattern needs at least (modisco-lite default 20).")
    target_seqlet_fdr: float = Field(0.2, gt=0, lt=1, description="FDR of the seqlet threshold against a Laplace null.")
    trim_threshold: float = Field(0.3, gt=0, le=1, description="Patterns are trimmed to the positions whose summed |CWM| reaches this share of the maximum before MEME output and TOMTOM (as `modisco report`).")
    n_bootstrap: int = Field(1000, ge=100, description="Row resamples of the planted-site AUROC's 95% CI of |attr| (demo worlds).")
    seed: Seed = Field(1, description="Seed of the subsample and the bootstrap.")

    @model_validator(mode="after")
    def _window(self) -> Modisco:
        need = self.sliding_window_size + 2 * self.flank_size + 1
        if self.window is not None and self.window < need:
            raise ValueError(f"window: {self.window} must be >= sliding_window_size + 2 x flank_size + 1 ({need})")
        return self


class CollectionTask(_Model):
    """The tfbs task every experiment of a collection becomes (``tasks.<t>`` keys of kind tfbs)."""

    negatives: Literal["substitute", "genomic", "gc_matched", "dinuc_shuffle"] = Field("gc_matched", description="Negative strategy (see docs/datasets.md); the paper: gc_matched (690), dinuc_shuffle (mouse).")
    top_n: int | None = Field(None, ge=1, description="Keep the top-N peaks by signalValue; default: all.")
    flank: int = Field(50, ge=1, description="bp each side of the summit (101 bp windows).")
    unknown_contigs: Literal["error", "skip"] = Field("skip", description="What to do with peaks on contigs not in the genome.")
    holdout_chroms: dict[Literal["dev", "test"], list[str]] | None = Field(None, description="Chromosome held-out split: {dev: [..], test: [..]}.")
    max_per_class: int | None = Field(None, ge=1, description="Keep at most this many examples per class (seeded, before splitting).")
    max_train: int | None = Field(None, ge=2, description="Keep at most this many training examples (seeded, after splitting).")
    k: int = Field(6, ge=3, le=6, description="k-mer size rows are checked against.")


class Collection(_Model):
    """A published metadata table expanded into one tfbs task per experiment (a checkpoint).

    Each listed peak file becomes task ``<collection>__<experiment id>`` (the file name up to its
    first dot for UCSC files.txt, the ENCODE file accession for a portal metadata.tsv); its
    download is verified against the md5 of its table row.
    """

    genome: Key = Field(description="Genome id the peak files' coordinates refer to.")
    table: Source = Field(description="The metadata table: UCSC encodeDCC files.txt, or an ENCODE portal metadata.tsv export.")
    format: Literal["ucsc_files_txt", "encode_metadata_tsv"] = Field("ucsc_files_txt", description="Table format (docs/collections.md).")
    base_url: str | None = Field(None, pattern=_URL, description="ucsc_files_txt: where the listed files live; default: the table's own directory.")
    filters: dict[str, list[str]] = Field(default_factory=dict, description="Keep rows whose field is one of the values: antibody, cell, lab, or any field of the table (files.txt key, metadata.tsv column). Default: every peak file.")
    task: CollectionTask = Field(default_factory=CollectionTask)
    models: list[str] | None = Field(None, description="Fine-tuned models of every experiment; default finetune.models.")
    seeds: list[Seed] = Field(default_factory=lambda: [1], min_length=1, description="Fine-tuning seeds of every experiment.")


_MODEL_REF = (
    "The model: `<task>/<model>/seed<s>` (a fine-tuning run of this config: "
    "results/finetune/<task>/<model>/seed<s>/model, with the task's card.json) or a model directory "
    "relative to the project."
)


class _UseModelRun(_Model):
    """Settings every ``dnalm`` subcommand rule shares (see README, "Use a trained model")."""

    model: str = Field(description=_MODEL_REF)
    batch_size: int = Field(64, ge=1, description="Sequences per forward pass (results do not depend on it).")


class _WindowedRun(_UseModelRun):
    window: int | None = Field(None, ge=1, description="Input length in bp when the model has no task card (a card's window_length must agree).")


class PredictRun(_WindowedRun):
    """One ``dnalm predict`` job: results/predict/<name>/predictions.tsv."""

    fasta: str | None = Field(None, description="Project-relative FASTA (plain or gzip) of sequences to score; exclusive with bed.")
    bed: str | None = Field(None, description="Project-relative BED of intervals to score in `genome` (windows of the model's length).")
    genome: Key | None = Field(None, description="Genome id (under `genomes`) the bed intervals refer to.")
    anchor: Literal["centre", "tss"] = Field("centre", description="bed: centre the window on each interval, or place it around the interval's TSS as the promoter task's card says.")
    window_policy: Literal["error", "centre"] = Field("error", description="fasta: records whose length differs from the window are an error, or (centre) cut to their centred middle.")
    rc_average: bool = Field(False, description="Average forward and reverse-complement probabilities.")


class EmbedRun(_UseModelRun):
    """One ``dnalm embed`` job: results/embed/<name>/embeddings.npy (+ embeddings.index.tsv)."""

    model: str = Field(description=_MODEL_REF + " A language model key (`<lm>`: results/pretrain/<lm>/model) is accepted too.")
    fasta: str = Field(description="Project-relative FASTA (plain or gzip).")
    pool: Literal["cls", "mean"] = Field("cls", description="[CLS] vector (a GPT: the hidden state at its <B> query) or the mean of the k-mer token vectors.")
    layer: int = Field(-1, description="Hidden-state index: 0 = embeddings, 1..L encoder layers, -1 the last.")


class ScanRun(_WindowedRun):
    """One ``dnalm scan`` job: results/scan/<name>/scan.{bedGraph,bw,bed,json}."""

    genome: Key = Field(description="Genome id (under `genomes`) to scan.")
    contigs: list[str] | None = Field(None, min_length=1, description="Contigs to scan whole (default: every contig); exclusive with regions.")
    regions: str | None = Field(None, description="Project-relative BED of intervals to scan (merged first).")
    stride: int | None = Field(None, ge=1, description="bp between window starts (default: window // 2).")
    threshold: float = Field(0.5, ge=0, le=1, description="Windows with probability >= threshold are merged into called regions.")
    min_len: int = Field(0, ge=0, description="Shortest called region in bp.")
    positive_class: int = Field(1, ge=0, description="Class whose probability is tracked.")
    max_n: float = Field(0.5, ge=0, le=1, description="Windows with a larger share of N are skipped.")
    strand: Literal["+", "-", "both"] = Field("both", description="Score windows as read, reverse-complemented, or both keeping the larger probability.")
    truth: str | None = Field(None, description="Project-relative BED of known sites (e.g. annotated TSSs): scan.json then reports recall (sites inside a called region) and precision (called regions holding a site).")


class ScoreRun(_WindowedRun):
    """One ``dnalm score-variants`` job: results/score/<name>/variants.{vcf.gz,tsv,json}."""

    genome: Key = Field(description="Genome id (under `genomes`) the VCF refers to.")
    vcf: str = Field(description="Project-relative VCF (plain or gzip); SNVs, MNVs and indels (left-normalised against the genome).")
    lm: str | None = Field(None, description="BERT (masked) language model for the zero-shot LLR of SNVs: a `language_models` key or a project-relative model directory; a GPT is refused.")
    positive_class: int = Field(1, ge=0, description="Class scored.")
    strict_ref: bool = Field(False, description="Fail on a REF that does not match the genome instead of skipping the allele.")
    regions: list[str] | None = Field(None, min_length=1, description="Score only the records overlapping these regions, `CHR` or `CHR:START-END` (1-based, inclusive, as bcftools view -r; `dnalm score-variants --region`); the output VCF holds only those. CHR must be a contig the genome keeps (genomes.<g>.contigs). Default: every record.")


class HaplotypeSim(_Model):
    """msprime demo haplotypes (dnalm.haplotypes.simulate_haplotypes): demes split from one ancestor and exchange migrants."""

    seed: int = Field(1, ge=0, description="Simulation seed; same seed, same VCF bytes.")
    n_demes: int = Field(3, ge=1, le=10, description="Demes (populations) sampled.")
    samples_per_deme: int = Field(100, ge=2, description="Diploid samples per deme (2 haplotypes each).")
    ne: float = Field(10000, gt=0, description="Effective size of each deme and of the ancestor.")
    split_generations: float = Field(2000, gt=0, description="Generations since the demes split.")
    migration_rate: float = Field(1.0e-4, ge=0, le=0.5, description="Symmetric migration rate per generation between demes.")
    length: int = Field(500000, ge=1000, description="Region length in bp.")
    recombination_rate: float = Field(2.0e-8, ge=0, description="Per bp per generation.")
    mutation_rate: float = Field(1.25e-8, gt=0, description="Per bp per generation.")


class HaplotypeGpt(_Model):
    """The GPT generator of haplotypes (dnalm.haplotypes.gpt_generator): a DnaGptModel fine-tuned with the next-token loss on the haplotypes as 6-mer tokens, then sampled from <R>."""

    lm: str | None = Field(None, description="Start from this GPT language model (a `language_models` key with arch gpt, rule gpt_pretrain); null: a fresh model of `size`.")
    size: Literal["tiny", "dnagpt_s"] = Field("tiny", description="Preset of a model built from scratch (lm null); its positions fit one haplotype row.")
    steps: int = Field(200, ge=1, description="Optimizer steps of fine-tuning.")
    lr: float = Field(1.0e-3, gt=0, description="Peak learning rate (AdamW, 10% warm-up, cosine decay).")
    batch: int = Field(32, ge=1, description="Haplotypes per step.")
    softmax: Literal["allowed", "full"] = Field("allowed", description="allowed: loss and sampling over the 64 tokens that are haplotypes at each position; full: over the whole vocabulary (DNAGPT's loss, about 300x the head cost; rows with a non-haplotype token are redrawn).")
    temperature: float = Field(1.0, gt=0, description="Sampling temperature.")


class HaplotypeSet(_Model):
    """One artificial-genome experiment: real phased haplotypes of a SNP region (simulated or a VCF region), a generator trained on some of them, and its evaluation against the rest (results/haplotypes/<name>/)."""

    simulate: HaplotypeSim | None = Field(None, description="Demo: simulate the haplotypes (exactly one of simulate / vcf).")
    vcf: Source | None = Field(None, description="Production: a phased, bgzipped VCF (e.g. 1000 Genomes phase 3 on GRCh38), read through its index.")
    index: Source | None = Field(None, description="The VCF's tabix index (.tbi); required with vcf.")
    region: str | None = Field(None, pattern=r"^[A-Za-z0-9_.]+:[0-9,]+-[0-9,]+$", description="vcf: contig:start-end (1-based, inclusive); a chr prefix the file lacks is accepted.")
    min_maf: float = Field(0.05, ge=0, lt=0.5, description="Skip SNPs with minor-allele frequency below this (monomorphic ones always).")
    max_sites: int | None = Field(300, ge=2, description="SNPs kept: the first ones of the region (vcf) or evenly spaced ones (simulate); null keeps all.")
    held_out_fraction: float = Field(0.2, gt=0, lt=1, description="Share of samples (both haplotypes) held out as the real set the artificial ones are compared with.")
    split_seed: int = Field(1, ge=0)
    generators: list[Literal["markov", "gpt"]] = Field(["markov"], min_length=1, description="Models drawn beside the controls; the first is the headline (artificial.vcf.gz, summary.json model). markov = order-k Markov chain over alleles (`markov_order`); gpt = a DNAGPT-style GPT fine-tuned on the haplotypes (`gpt`, rule haplotypes_gpt).")
    gpt: HaplotypeGpt = Field(default_factory=HaplotypeGpt, description="Settings of the gpt generator.")
    markov_order: int = Field(8, ge=0, le=20, description="Preceding sites the Markov chain conditions on.")
    n_artificial: int | None = Field(None, ge=2, description="Haplotypes drawn per sampler (model and each control); default: as many as the training set.")
    seed: int = Field(1, ge=0, description="Seed of the generation and of the bootstrap.")
    ld_window: int = Field(50, ge=1, description="LD correlation over site pairs at most this many SNPs apart.")
    n_components: int = Field(10, ge=1, description="PCs of the held-out real haplotypes the PCA overlap is measured in.")
    n_boot: int = Field(200, ge=0, description="Bootstrap resamples of the 95% intervals in metrics.tsv (0: none).")

    @model_validator(mode="after")
    def _one_source(self) -> HaplotypeSet:
        if (self.simulate is None) == (self.vcf is None):
            raise ValueError("give exactly one of `simulate` (demo) and `vcf` (a phased VCF region)")
        if self.vcf is not None and (self.index is None or self.region is None):
            raise ValueError("`vcf` needs `index` (its .tbi) and `region` (contig:start-end)")
        if len(set(self.generators)) != len(self.generators):
            raise ValueError(f"`generators` lists a model twice: {self.generators}")
        return self


class PlanRates(_Model):
    """Real (non-padding) tokens per second of one job, by model size (``baseline``: the CNNs)."""

    tiny: float = Field(gt=0)
    small: float = Field(gt=0)
    base: float = Field(gt=0)
    baseline: float = Field(gt=0)


class PlanGenome(_Model):
    size_bp: int = Field(ge=1, description="Bases kept after genomes.<g>.contigs (hg38 chr1-22, X, Y: 3,088,269,832).")
    contigs: int = Field(ge=1, description="Contigs kept (one corpus_shard job each).")


#: GPU rules of profiles/slurm-gpu (set-resources with gpu: 1).
PLAN_GPU_RULES = ("bert_pretrain", "bert_finetune", "baseline_finetune", "attention_extract",
                  "variant_score_shard", "variant_score", "gpt_pretrain", "gpt_finetune", "gpt_regress",
                  "haplotypes_gpt")  # fmt: skip


class Plan(_Model):
    """Figures behind ``snakemake plan`` (dnalm.plan): throughputs, genome and task sizes."""

    gpu_tokens_per_s: PlanRates = Field(
        default_factory=lambda: PlanRates(tiny=1.0e7, small=2.5e6, base=2.2e5, baseline=5.0e6),
        description="Training tokens/s of one GPU. Assumed (no GPU run measured yet, bench/README.md): base "
        "= an A100 at 40% MFU of its 312 TFLOP/s bf16 (about 567 MFLOP per training token); small and tiny "
        "the same GPU at 20% and 4% MFU; baseline a guess. Measure with python -m bench.bench_pretrain --gpu.",
    )
    cpu_tokens_per_s: PlanRates = Field(
        default_factory=lambda: PlanRates(tiny=11600, small=1900, base=80, baseline=1.0e5),
        description="Training tokens/s of one CPU job (2 threads). Measured (bench/README.md, bench_learning): "
        "tiny 11,600, small 1,600-2,200; base scaled from small by training FLOPs per token; baseline a guess.",
    )
    inference_speedup: float = Field(3.0, gt=0, description="Forward-only tokens/s over training tokens/s (forward is about a third of a training step's FLOPs).")
    gpu_rules: list[str] = Field(default_factory=lambda: list(PLAN_GPU_RULES), description="Rules whose jobs run on a GPU (GPU-hours); every other job counts as CPU-hours.")
    genomes: dict[Key, PlanGenome] = Field(default_factory=dict, description="Size of a genome before it is prepared (after that its chrom.sizes is read); demo worlds need none.")
    task_rows: dict[Key, int] = Field(default_factory=dict, description="Labelled rows of a task before splitting (e.g. prom300_all: 59196); default 2 x top_n for tfbs, else default_task_rows, capped by max_per_class.")
    default_task_rows: int = Field(10000, ge=1, description="Rows assumed for a task with no task_rows entry.")
    collection_experiments: dict[Key, int] = Field(default_factory=dict, description="Experiments a collection will list (known only once its table is fetched); a demo world's table lists that world's experiments.")
    imported_length: int = Field(300, ge=1, description="Row length in bp assumed for imported tasks.")
    prepare_mbp_per_s: float = Field(10.0, gt=0, description="genome_prepare: Mbp validated and bgzipped per second (assumed).")
    corpus_mbp_per_s: float = Field(34.0, gt=0, description="corpus_shard: Mbp of genome per second at coverage 1 x 5 (measured 34-74, bench_corpus).")
    cpu_minutes_per_job: float = Field(2.0, ge=0, description="CPU minutes of every other CPU job (annotations, datasets, motifs, summaries).")
    vcf_bytes_per_bp: float = Field(0.5, ge=0, description="Disk of the normalised dbSNP VCF per genome bp (dbSNP common b151: about 1.5 GB for 3.1 Gbp); ClinVar counts a tenth of it.")
    snv_per_kb: float = Field(12.0, ge=0, description="Variants scored per kb of positive windows (dbSNP common: about 37 M SNVs / 3.1 Gbp).")
    bytes_per_variant: float = Field(200.0, ge=0, description="Disk per scored variant (scores.tsv.gz and shards).")


class Config(_Model):
    """dnalm workflow configuration. Unknown keys are errors."""

    simulate: dict[Key, World] = Field(default_factory=dict, description="Demo worlds written by dnalm.sim into resources/demo/<world>/.")
    genomes: dict[Key, GenomeSpec] = Field(min_length=1, description="Reference genomes, keyed by genome id (<g> in paths).")
    annotations: dict[Key, Annotations] = Field(default_factory=dict, description="Annotation sources per genome id.")
    corpus: CorpusSpec = Field(default_factory=CorpusSpec)
    language_models: dict[Key, LanguageModel] = Field(default_factory=dict, description="Pretrained language models keyed by <lm>.")
    pretrain_presets: dict[Key, PretrainPreset] = Field(default_factory=dict)
    tasks: dict[Key, Task] = Field(default_factory=dict, description="Benchmark tasks keyed by <task>.")
    collections: dict[CollectionKey, Collection] = Field(default_factory=dict, description="TF ChIP-seq collections: one tfbs task per row of a metadata table (tasks <collection>__<id>).")
    splits: Splits = Field(default_factory=Splits)
    finetune: Finetune = Field(default_factory=Finetune)
    attention: Attention = Field(default_factory=Attention)
    motifs: Motifs = Field(default_factory=Motifs)
    variants: Variants = Field(default_factory=Variants)
    attribution: Attribution = Field(default_factory=Attribution, description="Per-base attribution maps (ISM, integrated gradients) of fine-tuned models on their tasks' test positives.")
    modisco: Modisco = Field(default_factory=Modisco, description="TF-MoDISco motifs from the attribution maps, TOMTOM against the known motifs, and the per-task side-by-side with the attention motifs (results/summary/interpretation/<task>.tsv).")
    plan: Plan = Field(default_factory=Plan, description="Figures behind `snakemake plan`: jobs, CPU-hours, GPU-hours and disk per stage.")
    haplotypes: dict[Key, HaplotypeSet] = Field(default_factory=dict, description="Artificial-genome experiments by name: results/haplotypes/<name>/ (metrics.tsv, summary.json, figures/, artificial.vcf.gz).")
    predict: dict[Key, PredictRun] = Field(default_factory=dict, description="`dnalm predict` jobs by name: results/predict/<name>/predictions.tsv.")
    embed: dict[Key, EmbedRun] = Field(default_factory=dict, description="`dnalm embed` jobs by name: results/embed/<name>/embeddings.npy + embeddings.index.tsv.")
    scan: dict[Key, ScanRun] = Field(default_factory=dict, description="`dnalm scan` jobs by name: results/scan/<name>/scan.{bedGraph,bw,bed,json}.")
    score: dict[Key, ScoreRun] = Field(default_factory=dict, description="`dnalm score-variants` jobs by name: results/score/<name>/variants.{vcf.gz,tsv,json}.")

    # ------------------------------------------------------------------ derived views

    def trained_lms(self) -> list[str]:
        """BERT language models pretrained by the workflow (rule bert_pretrain)."""
        return [n for n, m in self.language_models.items() if m.pretrained is None and m.arch == "bert"]

    def gpt_lms(self) -> list[str]:
        """GPT language models pretrained by the workflow (rule gpt_pretrain)."""
        return [n for n, m in self.language_models.items() if m.pretrained is None and m.arch == "gpt"]

    def imported_lms(self) -> list[str]:
        """Language models imported from a local ``pretrained:`` checkpoint (rule lm_import)."""
        return [n for n, m in self.language_models.items() if m.pretrained is not None]

    def task_models(self, task: str) -> list[str]:
        """Fine-tuned model names of a task (its own list, else ``finetune.models``).

        Expression (regression) tasks have none: the classifiers do not fit them; their
        baseline is the k-mer ridge of rule expression_ridge.
        """
        if self.tasks[task].kind == "expression":
            return []
        own = self.tasks[task].models
        return list(own if own is not None else self.finetune.models)

    def regression_models(self, task: str) -> list[str]:
        """GPT models fit to an expression task (its ``models`` list; rule gpt_regress).

        The k-mer ridge baseline (rule expression_ridge) is always fit and not listed here.
        """
        if self.tasks[task].kind != "expression":
            return []
        return list(self.tasks[task].models or [])

    def collection_models(self, name: str) -> list[str]:
        """Fine-tuned model names of every experiment of a collection (default ``finetune.models``)."""
        own = self.collections[name].models
        return list(own if own is not None else self.finetune.models)

    def task_long_input(self, task: str) -> str:
        """Pooling of a task's long (multi-piece) inputs (its own, else ``finetune.long_input``)."""
        spec = self.tasks.get(task)
        own = spec.long_input if spec is not None else None
        return own if own is not None else self.finetune.long_input

    def task_min_steps(self, task: str) -> int:
        """Step floor of a task's fine-tuning runs (its own, else ``finetune.min_steps``)."""
        spec = self.tasks.get(task)
        own = spec.min_steps if spec is not None else None
        return own if own is not None else self.finetune.min_steps

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
