"""Shared fixtures of the filters tests: real problem texts to build synthetic corpora from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def problems_dir(shared_data: Path) -> Path:
    return shared_data / "problems"


@pytest.fixture(scope="session")
def gsm8k_train(problems_dir: Path) -> list[dict]:
    with open(problems_dir / "gsm8k" / "train.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="session")
def gsm8k_test(problems_dir: Path) -> list[dict]:
    with open(problems_dir / "gsm8k" / "test.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="session")
def math500(problems_dir: Path) -> list[dict]:
    with open(problems_dir / "math500" / "test.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]
