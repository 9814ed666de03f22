"""Fixtures of the web-extraction tests: the web-math pages and one CLI run over them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pyarrow.parquet as pq
import pytest

from sciloom.corpus.cli.main import main

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "corpus" / "sample" / "web"


@pytest.fixture(scope="session")
def web_math(shared_data: Path) -> Path:
    path = shared_data / "web-math"
    assert (path / "formulas.jsonl").is_file(), f"{path} lacks formulas.jsonl"
    return path


@pytest.fixture(scope="session")
def scorer(web_math: Path) -> ModuleType:
    """The data folder's own scorer, imported as a module (its functions define a math span)."""
    spec = importlib.util.spec_from_file_location("score_recall", web_math / "score_recall.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_stage(stage: Path) -> dict[str, dict]:
    """Rows of a stage folder by page file name, metadata/provenance parsed."""
    rows = {}
    for shard in sorted((stage / "docs").glob("*.parquet")):
        for row in pq.read_table(shard).to_pylist():
            row["metadata"] = json.loads(row["metadata"])
            row["provenance"] = json.loads(row["provenance"])
            rows[
                Path(row["provenance"]["input"]).name if "offset" not in row["provenance"] else row["url"]
            ] = row
    return rows


@pytest.fixture(scope="session")
def stage_rows():
    """`read_stage` as a fixture (test modules here are not a package, so they cannot import it)."""
    return read_stage


@pytest.fixture(scope="session")
def web_stage(web_math: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sciloom extract web` over every web-math page (positives, negatives, extras), one worker;
    `--keep-non-math`, so that the negatives reach the extractor (the prefilter has its own tests)."""
    out = tmp_path_factory.mktemp("web") / "stage"
    argv = [
        "extract",
        "web",
        str(web_math / "pages"),
        str(web_math / "pages-negative"),
        str(web_math / "pages-extra"),
    ]
    assert main([*argv, "--keep-non-math", "--out", str(out), "--workers", "1"]) == 0
    return out


@pytest.fixture(scope="session")
def web_docs(web_stage: Path) -> dict[str, dict]:
    return read_stage(web_stage)
