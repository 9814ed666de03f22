"""Stages as Slurm job arrays on a real single-node Slurm (scripts/slurm-local.sh): no mocks.

The same stage (reader over JSONL built from GSM8K train, a word-count filter, the Parquet writer)
runs once on datatrove's local executor and through `sbatch`; shards, manifest counts and
quarantine must be equal. A task killed with `scancel` mid-stage fails the stage with a
`StageError` naming it, `sciloom status` names it and shows its log tail, and rerunning redoes
only that task, giving the local result again with no duplicate and no missing document.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datatrove.data import Document

from sciloom.corpus.cli.main import main
from sciloom.corpus.errors import StageError
from sciloom.corpus.executors import SlurmExecutorFactory, SlurmOptions, read_launches, squeue
from sciloom.corpus.shards import ShardReader, shard_files
from sciloom.corpus.stage import StageRun, run_stage
from sciloom.corpus.step import SciloomFilter, SciloomStep
from sciloom.manifests.schema import StageManifest

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[2]
NUM_PARTS = 8
NUM_TASKS = 4
DOCS_PER_PART = 150
SLOW_RANK = 2
MIN_WORDS = 60
# The folder that makes this module importable as `__name__` inside the array tasks (they unpickle
# the test steps below by reference).
IMPORT_ROOT = Path(__file__).resolve().parents[__name__.count(".")]


# -- steps used by the tasks ----------------------------------------------------------------------


class MinWordsFilter(SciloomFilter):
    """Drop GSM8K solutions shorter than MIN_WORDS words (a stand-in for a real quality rule)."""

    name = "min_words"

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return (True, "") if len(doc.text.split()) >= MIN_WORDS else (False, "too_few_words")


class StallOnFlag(SciloomStep):
    """Pass documents through; on `rank`, after the input is exhausted, stall while `flag` exists.

    Lets a test kill a task that has read (and quarantined) its inputs but not yet written its
    shard or completion: the worst moment for a preemption.
    """

    name = "stall_on_flag"

    def __init__(self, flag: str, rank: int) -> None:
        super().__init__()
        self.flag = flag
        self.rank = rank

    def process(self, data: Iterable[Document], rank: int, world_size: int) -> Iterable[Document]:
        yield from data
        if rank != self.rank:
            return
        Path(self.flag + ".reached").touch()
        deadline = time.time() + 120
        while Path(self.flag).exists() and time.time() < deadline:
            time.sleep(0.2)


# -- fixtures ---------------------------------------------------------------------------------------


def _slurm_env() -> None:
    """Make sure the local Slurm runs and SLURM_CONF points at it (idempotent start)."""
    if (
        shutil.which("sinfo")
        and os.environ.get("SLURM_CONF")
        and subprocess.run(["sinfo", "-h"], capture_output=True).returncode == 0
    ):
        return
    proc = subprocess.run(
        [str(REPO / "scripts" / "slurm-local.sh"), "start"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    for line in proc.stdout.splitlines():
        if line.startswith("export SLURM_CONF="):
            os.environ["SLURM_CONF"] = line.split("=", 1)[1]
    assert subprocess.run(["sinfo", "-h"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def slurm() -> None:
    _slurm_env()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, shared_data) -> list[str]:
    """GSM8K train problems as 8 JSONL parts; part 6 (read by task 2) ends in a broken line."""
    rows = (shared_data / "problems" / "gsm8k" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    folder = tmp_path_factory.mktemp("inputs")
    paths = []
    for part in range(NUM_PARTS):
        path = folder / f"gsm8k-{part}.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for i in range(DOCS_PER_PART):
                row = json.loads(rows[part * DOCS_PER_PART + i])
                doc = {"id": f"gsm8k-{part}-{i}", "text": row["question"] + "\n\n" + row["answer"]}
                fh.write(json.dumps(doc) + "\n")
            if part == 6:
                fh.write('{"id": "broken", "text": "cut off\n')
        paths.append(str(path))
    return paths


def run_filter_stage(out: Path, inputs: list[str], factory=None, stall: str | None = None) -> StageManifest:
    steps: list = [MinWordsFilter()]
    if stall:
        steps.append(StallOnFlag(stall, SLOW_RANK))
    run = StageRun("filter", out, workers=2, tasks=NUM_TASKS, executor_factory=factory)
    return run_stage(run, ShardReader(inputs, source="gsm8k"), steps)


def slurm_factory(**kw) -> SlurmExecutorFactory:
    return SlurmExecutorFactory(
        SlurmOptions(job_name="sciloom-test", env_setup=f"export PYTHONPATH={IMPORT_ROOT}", **kw)
    )


@pytest.fixture(scope="module")
def local_result(tmp_path_factory, inputs) -> tuple[Path, StageManifest]:
    out = tmp_path_factory.mktemp("local") / "filter"
    return out, run_filter_stage(out, inputs)


def comparable(manifest: StageManifest) -> dict:
    """What must not depend on the executor: counts, shards (bytes), quarantine entries."""
    d = manifest.to_dict()
    return {
        "sources": d["sources"],
        "shards": [(s["path"], s["sha256"], s["rows"]) for s in d["shards"]],
        "quarantine": sorted(json.dumps(q, sort_keys=True) for q in d["quarantine"]),
        "tasks": d["tasks"],
    }


def doc_ids(stage_dir: Path) -> list[str]:
    return [
        i for f in shard_files(stage_dir) for i in pq.read_table(f, columns=["id"]).column("id").to_pylist()
    ]


# -- tests ------------------------------------------------------------------------------------------


def test_stage_through_slurm_equals_local(slurm, tmp_path, inputs, local_result):
    local_dir, local_result = local_result
    out = tmp_path / "filter"
    manifest = run_filter_stage(out, inputs, slurm_factory())
    assert comparable(manifest) == comparable(local_result)
    totals = manifest.totals.to_dict()["docs"]
    assert totals["in"] == NUM_PARTS * DOCS_PER_PART + 1  # + the broken part, quarantined whole
    assert totals["quarantined"] == 1 and totals["dropped"] > 0
    launches = read_launches(out / "logs")
    assert len(launches) == 1 and sorted(launches[0]["ranks"]) == list(range(NUM_TASKS))
    job = launches[0]["job_ids"][0]
    assert sorted(p.name for p in (out / "logs" / "slurm_logs").glob("*.out")) == [
        f"{job}_{i}.out" for i in range(NUM_TASKS)
    ]
    # A rerun of a finished stage submits nothing and gives the same manifest.
    again = run_filter_stage(out, inputs, slurm_factory())
    assert len(read_launches(out / "logs")) == 1
    assert comparable(again) == comparable(local_result)


@pytest.fixture(scope="module")
def killed_stage(slurm, tmp_path_factory, inputs):
    """Run the stage on Slurm, scancel task 2 while it stalls mid-stage; keep error and status."""
    work = tmp_path_factory.mktemp("killed")
    out = work / "filter"
    flag = str(work / "stall")
    Path(flag).touch()
    outcome: dict = {}

    def drive() -> None:
        try:
            run_filter_stage(out, inputs, slurm_factory(), stall=flag)
        except StageError as err:
            outcome["error"] = err

    driver = threading.Thread(target=drive)
    driver.start()
    deadline = time.time() + 90
    while not Path(flag + ".reached").exists():
        assert time.time() < deadline, "task 2 never reached its stall point"
        time.sleep(0.2)
    launch = read_launches(out / "logs")[-1]
    index = launch["ranks"].index(SLOW_RANK)
    target = f"{launch['job_ids'][0]}_{index}"
    subprocess.run(["scancel", target], check=True)
    driver.join(timeout=120)
    assert not driver.is_alive()
    Path(flag).unlink()
    status_out = io.StringIO()
    with contextlib.redirect_stdout(status_out):
        status_code = main(["status", str(work)])
    return {
        "out": out,
        "flag": flag,
        "error": outcome.get("error"),
        "job": target,
        "status": (status_code, status_out.getvalue()),
    }


def test_scancelled_task_fails_the_stage_naming_it(killed_stage):
    err = killed_stage["error"]
    assert isinstance(err, StageError)
    assert f"did not finish: {SLOW_RANK}" in str(err)
    assert "task_00002.log" in str(err)
    assert not (killed_stage["out"] / "manifest.json").exists()


def test_status_names_the_failed_task_and_shows_its_log_tail(killed_stage):
    code, text = killed_stage["status"]
    assert code == 1
    header, row = text.splitlines()[:2]
    assert row.split()[:8] == ["filter", "slurm", "4", "3", "0", "0", "1", "0"]
    assert f"FAILED filter task {SLOW_RANK} (slurm job {killed_stage['job']})" in text
    # The log tail: datatrove's task log (the pipeline it ran) and Slurm's own record of the kill.
    assert "task_00002.log" in text and "stall_on_flag" in text.lower()
    assert f"{killed_stage['job']}.out" in text
    assert "CANCELLED" in text or "Terminated" in text  # slurmstepd's or srun's line about the kill


def test_rerun_after_scancel_equals_local_with_no_duplicate_or_missing_doc(
    killed_stage, inputs, local_result, capsys
):
    local_dir, local_result = local_result
    out = killed_stage["out"]
    manifest = run_filter_stage(out, inputs, slurm_factory(), stall=killed_stage["flag"])
    launches = read_launches(out / "logs")
    assert [sorted(launch["ranks"]) for launch in launches] == [list(range(NUM_TASKS)), [SLOW_RANK]]
    assert comparable(manifest) == comparable(local_result)
    ids = doc_ids(out)
    assert len(ids) == len(set(ids)) == manifest.totals.to_dict()["docs"]["kept"]
    assert sorted(ids) == sorted(doc_ids(local_dir))
    assert not list((out / "docs").glob(".*.tmp"))
    assert main(["status", str(out)]) == 0
    assert "complete" in capsys.readouterr().out


def test_hopeless_job_is_cancelled_not_waited_for(slurm, tmp_path, inputs):
    with pytest.raises(StageError, match="never start|refused"):
        run_filter_stage(tmp_path / "filter", inputs, slurm_factory(partition="no-such-partition"))
    assert shutil.which("squeue")
    assert squeue([j for la in read_launches(tmp_path / "filter" / "logs") for j in la["job_ids"]]) == []
