"""Pinned conda envs agree with the Python lock that `make` installs (conda channels are unreachable here)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _lock() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;]+)", line)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(3)
    return pins


def _env_pins(path: Path) -> dict[str, str]:
    env = yaml.safe_load(path.read_text())
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict) and "pip" in dep:
            for p in dep["pip"]:
                name, ver = p.split("==")
                pins[name.lower().replace("_", "-")] = ver
    return pins


def test_env_pins_match_lock() -> None:
    lock = _lock()
    envs = sorted((REPO / "workflow/envs").glob("*.yaml"))
    assert len(envs) >= 2
    for env in envs:
        pins = _env_pins(env)
        assert pins, env
        for name, ver in pins.items():
            assert name in lock, f"{env.name}: {name} is not in requirements.lock"
            assert lock[name] == ver, f"{env.name}: {name}=={ver} but requirements.lock has {lock[name]}"


def test_every_env_fully_pinned() -> None:
    for env in (REPO / "workflow/envs").glob("*.yaml"):
        spec = yaml.safe_load(env.read_text())
        for dep in spec["dependencies"]:
            if isinstance(dep, str):
                assert re.match(r"^[\w\-.]+=[\w.]+$", dep), f"{env.name}: unpinned {dep}"


def test_every_rule_has_a_conda_env_log_and_resources() -> None:
    text = "\n".join(p.read_text() for p in (REPO / "workflow/rules").glob("*.smk"))
    rules = re.split(r"\n(?=(?:rule|checkpoint) \w+:)", text)
    n = 0
    for block in rules:
        m = re.match(r"(?:rule|checkpoint) (\w+):", block)
        if not m:
            continue
        n += 1
        name = m.group(1)
        assert "conda:" in block, f"rule {name} has no conda env"
        assert "log:" in block, f"rule {name} has no log"
        env = re.search(r'conda:\s*\n\s*"\.\./envs/(\w+)\.yaml"', block)
        assert env and (REPO / "workflow/envs" / f"{env.group(1)}.yaml").exists(), name
    assert n >= 10


def test_pyproject_pins_match_lock() -> None:
    import tomllib

    lock = _lock()
    from packaging.requirements import Requirement

    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    for d in deps:
        req = Requirement(d)
        assert req.specifier, f"{d}: give a compatible range, not a bare name"
        assert "==" not in str(req.specifier), f"{d}: exact pins belong in requirements.lock"
        # the lock's pin satisfies the package's range
        assert req.specifier.contains(lock[req.name.lower().replace("_", "-")]), (d, lock[req.name.lower()])
