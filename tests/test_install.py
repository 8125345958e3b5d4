"""``pip install`` into an existing environment: compatible ranges in pyproject.toml that the exact
pins of requirements.lock satisfy, and an installed ``dnalm`` console script that runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _lock() -> dict[str, str]:
    """requirements.lock as {canonical name: version} (``name==version`` lines)."""
    pins = {}
    for ln, line in enumerate((REPO / "requirements.lock").read_text().splitlines(), 1):
        s = line.split("#", 1)[0].strip()
        if not s or s.startswith("-"):
            continue
        req = Requirement(s)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"requirements.lock:{ln}: {s!r} is not an exact pin"
        pins[canonicalize_name(req.name)] = specs[0].version
    return pins


def _requirements() -> list[tuple[str, Requirement]]:
    project = _pyproject()["project"]
    out = [("dependencies", Requirement(s)) for s in project["dependencies"]]
    for extra, reqs in project.get("optional-dependencies", {}).items():
        out += [(f"optional-dependencies.{extra}", Requirement(s)) for s in reqs]
    return out


def test_dependencies_are_ranges_not_pins():
    for where, req in _requirements():
        ops = {s.operator for s in req.specifier}
        assert ops, f"[project.{where}] {req}: give a compatible range (e.g. >=X,<Y)"
        assert not ops & {"==", "==="}, f"[project.{where}] {req}: an exact pin; pins belong in requirements.lock"


def test_every_lock_pin_satisfies_the_pyproject_range():
    pins = _lock()
    for where, req in _requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"[project.{where}] {req.name}: not pinned in requirements.lock"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {req.name}=={pins[name]}, outside [project.{where}] {req}"
        )


def test_console_script_is_declared():
    assert _pyproject()["project"]["scripts"]["dnalm"] == "dnalm.cli:main"
    assert (REPO / "LICENSE").is_file()


@pytest.mark.slow
def test_pip_install_into_an_existing_environment(tmp_path):
    """A new venv that sees an existing environment's packages gets dnalm with ``pip install
    --no-deps --no-build-isolation`` (offline) and a working ``dnalm`` command.

    ``--system-site-packages`` exposes the base interpreter's packages; the test's own
    environment (where torch, transformers, pip and setuptools live) is added through a ``.pth``
    line, as a site-wide install would provide them. The package is built from a copy of the
    sources, so the repository gets no build/ or egg-info directory.
    """
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "LICENSE", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "workflow/scripts/dnalm", src / "workflow/scripts/dnalm",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))  # fmt: skip
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
    (Path(site) / "existing_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    r = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                        "--no-index", str(src)], capture_output=True, text=True, timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    where = subprocess.run([str(py), "-c", "import dnalm; print(dnalm.__file__)"],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert where.startswith(site), f"dnalm imported from {where}, not the new environment"
    script = venv / "bin" / "dnalm"
    r = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    for name in ("predict", "embed", "attention", "scan", "score-variants"):
        assert name in r.stdout
    r = subprocess.run([str(script), "predict", "--help"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "--fasta" in r.stdout and "--rc-average" in r.stdout, r.stderr
    r = subprocess.run([str(script), "predict", str(tmp_path / "none"), "--fasta", "x.fa", "-o",
                        str(tmp_path / "o.tsv")], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
