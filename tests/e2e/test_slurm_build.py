"""`sciloom build --executor slurm` on the embedded sample, with one task killed, equals the local build.

The local build is the session's `sample_build` (tests/e2e/conftest.py); the Slurm build runs the
same CLI with `--executor slurm` against the local Slurm daemons (scripts/slurm-local.sh). While
it runs, one array task of the filter stage is killed with `scancel`: the build fails naming it,
`sciloom status` shows it with its log tail, and rerunning the same command resubmits only that
task. The result must equal the local build: every stage's counts, shards (sha256), quarantine
and stage results, the tokenizer and the Megatron .bin/.idx files.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_slurm import _slurm_env  # same folder: one way to start the local Slurm

from sciloom.corpus.cli.main import main
from sciloom.corpus.executors import read_launches, squeue
from sciloom.corpus.shards import shard_files
from sciloom.manifests.checksums import sha256_file
from sciloom.manifests.schema import read_manifest_dict

pytestmark = pytest.mark.slurm

# What a stage manifest may differ in between two builds of the same recipe: where and when.
RUN_SPECIFIC = {"created", "host", "wall_time_s", "inputs", "input_manifests", "versions"}


KILL_STAGE = "03-filter"  # 9 tasks: the stage is well under way when one of them is killed


@pytest.fixture(scope="module")
def slurm_build(tmp_path_factory) -> dict:
    """Build through Slurm; `scancel` one running task of the filter stage; status; rerun.

    The first `sciloom build` must fail naming the task, `sciloom status` must show it with its
    log tail, and the rerun (same command) must finish the build.
    """
    _slurm_env()
    out = tmp_path_factory.mktemp("sample-slurm") / "build"
    argv = ["build", "--out", str(out), "--no-progress", "--executor", "slurm", "--time", "10:00"]
    first: dict = {}
    driver = threading.Thread(target=lambda: first.setdefault("code", main(argv)))
    driver.start()
    killed = None
    deadline = time.time() + 240
    while killed is None and driver.is_alive():
        assert time.time() < deadline, "the filter stage never ran"
        logs = out / KILL_STAGE / "logs"
        launches = read_launches(logs)
        for task in squeue(launches[0]["job_ids"]) if launches else []:
            # Kill it while it starts up: its batch script runs (Slurm's .out exists) but it has
            # not yet begun its pipeline (no datatrove task log), so it cannot finish first.
            job = f"{task.job_id}_{task.index}"
            rank = launches[0]["ranks"][task.index]
            started = (logs / "slurm_logs" / f"{job}.out").is_file()
            if task.state == "RUNNING" and started and not (logs / "logs" / f"task_{rank:05d}.log").exists():
                subprocess.run(["scancel", job], check=True)
                killed = job
                break
        time.sleep(0.05)
    driver.join(timeout=300)
    assert killed, "the build finished before a filter task could be killed"
    status = io.StringIO()
    with contextlib.redirect_stdout(status):
        status_code = main(["status", str(out)])
    rerun_code = main(argv)
    return {
        "out": out,
        "killed": killed,
        "first_code": first.get("code"),
        "status": (status_code, status.getvalue()),
        "rerun_code": rerun_code,
    }


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


def test_killed_task_fails_the_build_and_status_shows_it_with_its_log_tail(slurm_build):
    code, text = slurm_build["status"]
    assert slurm_build["first_code"] == 1, text
    assert code == 1, text
    rows = {line.split()[0]: line.split() for line in text.splitlines()[1:] if line[:2].isdigit()}
    assert rows[KILL_STAGE][1] == "slurm" and rows[KILL_STAGE][6] == "1", text  # one failed task
    assert all(r[-1] == "complete" for name, r in rows.items() if name < KILL_STAGE), text
    job = slurm_build["killed"]
    assert f"FAILED {KILL_STAGE} task " in text and f"(slurm job {job})" in text, text
    assert f"{job}.out:" in text, text  # Slurm's log of the task (datatrove's too if it got that far)


def test_rerun_after_scancel_equals_the_local_build(sample_build, slurm_build):
    """Same shards, counts and .bin/.idx as the local build: nothing lost, nothing doubled."""
    assert slurm_build["rerun_code"] == 0
    slurm_build = slurm_build["out"]
    local, slurm = read_manifest_dict(sample_build), read_manifest_dict(slurm_build)
    assert [s["name"] for s in slurm["stages"]] == [s["name"] for s in local["stages"]]
    for stage in local["stages"]:
        if not (sample_build / stage["dir"] / "manifest.json").is_file():  # tokenizer: compared by file below
            continue
        assert stage_view(slurm_build, stage["dir"]) == stage_view(sample_build, stage["dir"]), stage["name"]
    assert output_files(slurm_build) == output_files(sample_build)
    assert output_files(slurm_build), "the build must end in a tokenizer and Megatron datasets"


def test_rerun_resubmitted_only_the_killed_task(slurm_build):
    launches = read_launches(slurm_build["out"] / KILL_STAGE / "logs")
    job, index = slurm_build["killed"].split("_")
    assert len(launches) == 2 and launches[0]["job_ids"] == [job]
    assert launches[1]["ranks"] == [launches[0]["ranks"][int(index)]]
    ids = [
        i
        for f in shard_files(slurm_build["out"] / KILL_STAGE)
        for i in pq.read_table(f, columns=["id"])["id"].to_pylist()
    ]
    assert (
        len(ids)
        == len(set(ids))
        == read_manifest_dict(slurm_build["out"] / KILL_STAGE)["totals"]["docs"]["kept"]
    )


def test_slurm_build_ran_its_stages_as_job_arrays(slurm_build):
    assert os.environ.get("SLURM_CONF")
    slurm_build = slurm_build["out"]
    submitted = [d for d in sorted(slurm_build.iterdir()) if d.is_dir() and read_launches(d / "logs")]
    assert submitted, "no stage went through sbatch"
    for stage_dir in submitted:
        launch = read_launches(stage_dir / "logs")[0]  # the first, complete submission
        job = launch["job_ids"][0]
        assert sorted(launch["ranks"]) == list(range(len(launch["ranks"])))
        logs = Path(launch["slurm_logs"])
        assert sorted(p.name for p in logs.glob(f"{job}_*.out")) == sorted(
            f"{job}_{i}.out" for i in range(len(launch["ranks"]))
        )
