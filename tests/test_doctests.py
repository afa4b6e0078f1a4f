"""The examples in the package's docstrings run and give what they show.

pytest's --doctest-modules would import daemon/cli.py as ``daemon.cli``, a second copy next to
the installed ``offerwatch.daemon.cli``; so the modules are imported by their installed names
and their docstrings run through the standard doctest runner, one test per module.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = {"daemon": "offerwatch.daemon", "models": "offerwatch.models", "extractors": "offerwatch.extractors"}


def _modules_with_examples() -> list[str]:
    """Module names whose source has a ``>>>`` (found without importing them)."""
    out = []
    for folder, package in PACKAGES.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            if ">>> " in path.read_text(encoding="utf-8"):
                rel = path.relative_to(REPO / folder).with_suffix("")
                parts = [p for p in rel.parts if p != "__init__"]
                out.append(".".join([package, *parts]))
    return out


MODULES = _modules_with_examples()


def test_modules_with_examples_are_found() -> None:
    assert "offerwatch.models.store" in MODULES and len(MODULES) >= 10


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = [t for t in finder.find(module) if t.examples]
    assert tests, f"{name} has '>>> ' in its source but no example doctest can find"
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name} (output above)"
