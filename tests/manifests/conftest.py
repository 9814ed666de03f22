"""A small two-stage build (import JSONL -> length filter) made with the real stage runner.

The manifest tools only read folders, so this is enough to pin them down without the full
pipeline; the full sample build is covered in tests/e2e.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sciloom.corpus.shards import ShardReader, shard_files
from sciloom.corpus.stage import StageRun, manifest_ref, run_stage
from sciloom.corpus.step import SciloomFilter
from sciloom.manifests.checksums import sha256_file
from sciloom.manifests.schema import BuildManifest, write_manifest

TOO_SHORT = "too_short"


class MinLength(SciloomFilter):
    name = "min_length"

    def __init__(self, min_chars: int):
        super().__init__()
        self.min_chars = min_chars

    def filter(self, doc):
        return len(doc.text) >= self.min_chars, TOO_SHORT


def make_inputs(folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in range(2):
        rows = [
            {"id": f"{f}-{i}", "text": "word " * (i * 3 + 1), "source": ("web", "arxiv")[i % 2]}
            for i in range(20)
        ]
        path = folder / f"part{f}.jsonl"
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
        paths.append(str(path))
    return paths


def mini_build(out: Path, inputs: list[str], min_chars: int) -> Path:
    imported = run_stage(StageRun("import", out / "01-import"), ShardReader(inputs), [])
    files = [str(p) for p in shard_files(out / "01-import")]
    run = StageRun("filter", out / "02-filter", input_manifests=[manifest_ref(out / "01-import")])
    filtered = run_stage(run, ShardReader(files), [MinLength(min_chars)])
    recipe = {"build": {"name": "mini"}, "filters": {"min_chars": min_chars}}
    (out / "recipe.json").write_text(json.dumps(recipe))
    stages = []
    for name, m in (("import", imported), ("filter", filtered)):
        folder = out / ("01-import" if name == "import" else "02-filter")
        stages.append(
            {
                "name": name,
                "dir": folder.name,
                "manifest_sha256": sha256_file(folder / "manifest.json"),
                "totals": m.totals.docs,
            }
        )
    write_manifest(out, BuildManifest(recipe=recipe, recipe_hash=str(min_chars), stages=stages))
    return out


@pytest.fixture
def build_factory(tmp_path):
    inputs = make_inputs(tmp_path / "inputs")

    def make(name: str, min_chars: int = 20) -> Path:
        return mini_build(tmp_path / name, inputs, min_chars)

    return make
