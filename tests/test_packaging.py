"""A non-editable wheel carries the patterns, templates and demo mailbox: `offerwatch demo` runs from it."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installs_and_runs_demo(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(REPO)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = dist.glob("offerwatch-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("offerwatch/daemon/demo_mailbox/") and n.endswith(".eml") for n in names)
    assert any(n.startswith("offerwatch/extractors/patterns/") for n in names)
    assert any(n.startswith("offerwatch/daemon/templates/") for n in names)
    # The lemma table that replaced spacy-lookups-data, with its licence notice (PEP 639 metadata too).
    assert "offerwatch/extractors/data/en_lemma_lookup.tsv.gz" in names
    assert "offerwatch/extractors/data/LICENSE-lemma-lookup.txt" in names
    assert any(n.endswith(".dist-info/licenses/extractors/data/LICENSE-lemma-lookup.txt") for n in names)
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: MIT" in meta
    assert "spacy-lookups-data" not in meta and "mail-parser-reply" not in meta
    # Every subpackage in the tree is in the wheel (an explicit package list can forget one).
    for init in REPO.glob("*/**/__init__.py"):
        top = init.relative_to(REPO).parts[0]
        if top in ("daemon", "extractors", "models"):
            mod = "offerwatch/" + init.relative_to(REPO).as_posix()
            assert mod in names, f"{mod} missing from the wheel"
    assert not any(n.startswith(("daemon/", "models/", "extractors/")) for n in names), "top-level packages leaked"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    target = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    # Install the wheel alone; dependencies come from this environment's site-packages via
    # PYTHONPATH (no network needed), while the editable checkout is NOT visible: .pth finders
    # are not processed for PYTHONPATH entries.
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    deps = sysconfig.get_paths()["purelib"]
    env = dict(os.environ, PYTHONPATH=deps)
    code = "import offerwatch.daemon, sys; print(offerwatch.daemon.__file__)"
    where = subprocess.run([str(venv / "bin" / "python"), "-c", code], env=env, capture_output=True, text=True, check=True)
    assert str(target) in where.stdout, where.stdout
    res = subprocess.run([str(venv / "bin" / "python"), "-m", "offerwatch.daemon.cli", "demo"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "What to do" in res.stdout


def test_ci_runs_pinned_ruff_and_mypy_over_the_package() -> None:
    """CI fails on a lint or type error, with the versions the code was last checked by, and
    mypy sees the package under its installed names (not each folder as an untyped module)."""
    import tomllib

    ci = (REPO / ".ci" / "run").read_text()
    assert ".venv/bin/ruff check ." in ci and ".venv/bin/mypy" in ci
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    test_extra = project["project"]["optional-dependencies"]["test"]
    assert any(r.startswith("ruff==") for r in test_extra) and any(r.startswith("mypy==") for r in test_extra)
    assert project["tool"]["mypy"]["packages"] == ["offerwatch"]
    links = REPO / ".ci" / "typecheck" / "offerwatch"
    for part in ("daemon", "models", "extractors"):
        assert (links / part).resolve() == (REPO / part).resolve()
