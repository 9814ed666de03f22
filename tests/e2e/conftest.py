"""The embedded sample build, made once per test session through the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from sciloom.corpus.cli.main import main


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "build"
    assert main(["build", "--out", str(out), "--no-progress"]) == 0
    return out
