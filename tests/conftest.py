"""Shared fixtures: the real data in ../shared/data, and a scratch folder per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the repository (CI lays it there). Missing data fails, never skips."""
    path = Path(os.environ.get("SCILOOM_SHARED_DATA", REPO.parent / "shared" / "data"))
    assert path.is_dir(), f"{path} is missing: tests read real data from ../shared/data"
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO
