"""`sciloom build --executor slurm` on the embedded sample equals the local build, file for file.

The local build is the session's `sample_build` (tests/e2e/conftest.py); the Slurm build runs the
same CLI with `--executor slurm` against the local Slurm daemons (scripts/slurm-local.sh). Every
stage's counts, shards (sha256), quarantine and stage results must be equal, and so must the
tokenizer and the Megatron .bin/.idx files the build ends in.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_slurm import _slurm_env  # same folder: one way to start the local Slurm

from sciloom.corpus.cli.main import main
from sciloom.corpus.executors import read_launches
from sciloom.manifests.checksums import sha256_file
from sciloom.manifests.schema import read_manifest_dict

pytestmark = pytest.mark.slurm

# What a stage manifest may differ in between two builds of the same recipe: where and when.
RUN_SPECIFIC = {"created", "host", "wall_time_s", "inputs", "input_manifests", "versions"}


@pytest.fixture(scope="module")
def slurm_build(tmp_path_factory) -> Path:
    _slurm_env()
    out = tmp_path_factory.mktemp("sample-slurm") / "build"
    assert main(["build", "--out", str(out), "--no-progress", "--executor", "slurm", "--time", "10:00"]) == 0
    return out


def stage_view(build: Path, stage: str) -> dict:
    """A stage manifest without run-specific fields (where, when, how long: any `*_s` key), the
    build folder's path replaced by BUILD."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in RUN_SPECIFIC and not k.endswith("_s")}
        return [strip(v) for v in value] if isinstance(value, list) else value

    text = json.dumps(strip(read_manifest_dict(build / stage)), sort_keys=True)
    return json.loads(text.replace(str(build), "BUILD"))


def output_files(build: Path) -> dict[str, str]:
    """sha256 of the tokenizer and every .bin/.idx, by path relative to the build folder."""
    files = [p for p in build.rglob("*") if p.suffix in (".bin", ".idx", ".model")]
    return {str(p.relative_to(build)): sha256_file(p) for p in sorted(files)}


def test_sample_build_through_slurm_equals_the_local_build(sample_build, slurm_build):
    local, slurm = read_manifest_dict(sample_build), read_manifest_dict(slurm_build)
    assert [s["name"] for s in slurm["stages"]] == [s["name"] for s in local["stages"]]
    for stage in local["stages"]:
        if not (sample_build / stage["dir"] / "manifest.json").is_file():  # tokenizer: compared by file below
            continue
        assert stage_view(slurm_build, stage["dir"]) == stage_view(sample_build, stage["dir"]), stage["name"]
    assert output_files(slurm_build) == output_files(sample_build)
    assert output_files(slurm_build), "the build must end in a tokenizer and Megatron datasets"


def test_slurm_build_ran_its_stages_as_job_arrays(slurm_build):
    assert os.environ.get("SLURM_CONF")
    submitted = [d for d in sorted(slurm_build.iterdir()) if d.is_dir() and read_launches(d / "logs")]
    assert submitted, "no stage went through sbatch"
    for stage_dir in submitted:
        launch = read_launches(stage_dir / "logs")[0]
        job = launch["job_ids"][0]
        assert sorted(launch["ranks"]) == list(range(len(launch["ranks"])))
        logs = Path(launch["slurm_logs"])
        assert sorted(p.name for p in logs.glob(f"{job}_*.out")) == sorted(
            f"{job}_{i}.out" for i in range(len(launch["ranks"]))
        )
