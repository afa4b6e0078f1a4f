"""Shared pytest configuration: plugins, corpus locations, a fresh store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["dovecot"]

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEV_CORPUS = SHARED / "corpus" / "dev"
ROBUSTNESS_CORPUS = SHARED / "corpus" / "robustness"
IN_CI = os.environ.get("CI") == "true"


def need_folder(path: Path) -> Path:
    """Skip (locally) or fail (in CI) when a shared corpus folder is absent."""
    if not path.is_dir():
        message = f"{path} is absent: the shared corpora live beside the repository (../shared/corpus)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def dev_corpus() -> Path:
    return need_folder(DEV_CORPUS)


@pytest.fixture
def robustness_corpus() -> Path:
    return need_folder(ROBUSTNESS_CORPUS)


@pytest.fixture
def store(tmp_path: Path):
    from offerwatch.models.store import Store

    s = Store.open(tmp_path / "test.db")
    yield s
    s.close()
