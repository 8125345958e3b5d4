"""The workflow config, validated once at load into typed objects (the one home of its defaults).

``load_config(raw)`` turns the YAML mapping Snakemake reads into a :class:`Config`:

- every key, type, range and default is declared here once (pydantic models, unknown keys are errors);
- cross-key checks (a task's genome exists, ``corpus.min_len >= k``, splits sum to 1, ...) run at
  load, before any job;
- every error names the config path (``pretrain_presets.demo.lr``, ``tasks.splice.window``) and
  all errors are reported together as one :class:`ConfigError`;
- keys that become path components (genomes, tasks, language models, presets, worlds,
  experiments) must be safe identifiers, so no key can name a path outside ``results/``.

``workflow/schemas/config.schema.yaml`` is generated from these models (``python -m
dnalm.settings --schema``) and a test keeps it in sync. Rules receive whole sections through
:func:`canonical`, whose plain, key-sorted dicts make Snakemake's params comparison blind to the
order of keys in the YAML.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dnalm.settings.checks import cross_checks, unverified
from dnalm.settings.model import (
    _KEY_RE,
    _URL,
    BASELINES,
    KEY_PATTERN,
    SCRATCH_SUFFIX,
    Annotations,
    Attention,
    Collection,
    CollectionTask,
    Config,
    ConfigError,
    CorpusSpec,
    Finetune,
    GenomeSpec,
    LanguageModel,
    Motifs,
    PretrainPreset,
    SimPeak,
    Source,
    Splits,
    Task,
    Variants,
    World,
    canonical,
    deep_update,
    is_scratch,
    model_lm,
)

__all__ = [
    "BASELINES",
    "KEY_PATTERN",
    "SCRATCH_SUFFIX",
    "Annotations",
    "Attention",
    "Collection",
    "CollectionTask",
    "Config",
    "ConfigError",
    "CorpusSpec",
    "Finetune",
    "GenomeSpec",
    "LanguageModel",
    "Motifs",
    "PretrainPreset",
    "SimPeak",
    "Source",
    "Splits",
    "Task",
    "Variants",
    "World",
    "canonical",
    "check_config_files",
    "deep_update",
    "is_scratch",
    "json_schema",
    "load_config",
    "model_lm",
    "read_config_file",
]

log = logging.getLogger("dnalm.settings")


# ----------------------------------------------------------------------------- loading


#: What a pattern of the models means, for the error message (else pydantic's, naming the regex).
_PATTERN_WORDS = {
    _URL: "must be an http(s):// or ftp:// URL, a file: URL, or a path inside the project",
    r"^[0-9a-fA-F]{32}$": "must be an MD5 digest (32 hex digits)",
    r"^[0-9a-fA-F]{64}$": "must be a SHA-256 digest (64 hex digits)",
    KEY_PATTERN: f"must match {KEY_PATTERN} (it becomes a path component)",
}


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(x) for x in loc if not (isinstance(x, str) and x.startswith(("function-", "tagged-union"))))


def _format(errors: list[tuple[str, str]]) -> str:
    lines = [f"config key `{path}`: {msg}" for path, msg in errors]
    head = "invalid config" if len(lines) > 1 else ""
    return (head + ":\n  " + "\n  ".join(lines)) if head else lines[0]


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse one YAML/JSON config file, refusing what YAML would let pass unnoticed.

    A key given twice in one mapping (YAML keeps the last, so a second ``tf_p53:`` entry would
    silently replace the first) and a file that is not a mapping are errors, as are syntax
    errors; each names the file and line.

    Raises
    ------
    ConfigError
        ``<file>:<line>: ...``.
    """
    import yaml

    class Strict(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.setdefault(key, line)
            except TypeError:  # an unhashable key: construct_mapping says so
                continue
            if first != line:
                raise ConfigError(f"{path}:{line}: duplicate key {key!r} (first given at line "
                                  f"{first}); YAML would keep only the last one")
        return loader.construct_mapping(node, deep=True)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=Strict)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML: {e.problem or e.context}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: cannot read config: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: a config file holds a mapping of keys, got a "
                          f"{type(data).__name__}")
    return data


def check_config_files(paths: Iterable[str | Path]) -> None:
    """:func:`read_config_file` on every config file Snakemake read (``workflow.configfiles``)."""
    for path in paths:
        if Path(path).is_file():
            read_config_file(path)


def load_config(raw: Mapping[str, Any]) -> Config:
    """Validate the config mapping and return the typed :class:`Config` (defaults filled in).

    Raises
    ------
    ConfigError
        Naming every offending config path, e.g. ``config key `tasks.splice.window`: ...``.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(f"config must be a mapping, got {type(raw).__name__}")
    errors: list[tuple[str, str]] = []
    for section in ("genomes", "annotations", "tasks", "language_models", "pretrain_presets", "simulate",
                    "predict", "embed", "scan", "score"):
        for key in raw.get(section) or {}:
            if not isinstance(key, str) or not _KEY_RE.match(key):
                errors.append((f"{section}.{key}", f"key must match {KEY_PATTERN} (it becomes a path component)"))
    try:
        cfg = Config.model_validate(dict(raw))
    except ValidationError as e:
        for err in e.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            elif err["type"] == "string_pattern_mismatch":  # say what the pattern means
                pattern = (err.get("ctx") or {}).get("pattern", "")
                msg = f"{_PATTERN_WORDS.get(pattern, msg)}, got {err.get('input')!r}"
            elif err["type"] == "missing":
                msg = "required key is missing"
            errors.append((_loc(err["loc"]), msg))
        raise ConfigError(_format(errors)) from None
    errors += cross_checks(cfg)
    if errors:
        raise ConfigError(_format(errors))
    for path, s in unverified(cfg):
        log.warning("config key `%s`: %s is fetched without a checksum (checksum: none)", path, s.url)
    return cfg


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the config, generated from the models."""
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
