"""Executor factories, the sbatch script they render, and stage status read from task logs.

No Slurm daemons here (tests/e2e/test_slurm.py submits for real): these pin down what is decided
before anything is submitted, and the status of a locally run stage whose task failed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import dill
import pytest
from datatrove.data import Document

from sciloom.corpus.cli.main import main
from sciloom.corpus.errors import UsageError
from sciloom.corpus.executors import (
    JobIdRecorder,
    SlurmExecutorFactory,
    SlurmOptions,
    SlurmStageExecutor,
    failed_tasks_message,
    find_stage_dirs,
    make_executor_factory,
    slurm_log,
    stage_status,
)
from sciloom.corpus.shards import ParquetShardWriter, ShardReader
from sciloom.corpus.stage import StageRun, run_stage
from sciloom.corpus.step import SciloomStep


def gsm8k_parts(shared_data: Path, folder: Path, parts: int = 4, per_part: int = 20) -> list[str]:
    rows = (shared_data / "problems" / "gsm8k" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    paths = []
    for part in range(parts):
        path = folder / f"part-{part}.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for i in range(per_part):
                row = json.loads(rows[part * per_part + i])
                fh.write(json.dumps({"id": f"{part}-{i}", "text": row["question"]}) + "\n")
        paths.append(str(path))
    return paths


class FailOnRank(SciloomStep):
    """Raises on one rank after passing a few documents (a bug in a step, not bad input)."""

    name = "fail_on_rank"

    def __init__(self, rank: int) -> None:
        super().__init__()
        self.rank = rank

    def process(self, data: Iterable[Document], rank: int, world_size: int) -> Iterable[Document]:
        for i, doc in enumerate(data):
            if rank == self.rank and i == 3:
                raise RuntimeError(f"step bug on document {doc.id}")
            yield doc


def test_local_executor_is_run_stages_default():
    assert make_executor_factory("local") is None


def test_unknown_executor_names_the_known_ones():
    with pytest.raises(UsageError, match="unknown executor 'kubernetes'; known: local, slurm, ray"):
        make_executor_factory("kubernetes")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mem": "4 GB"}, "--mem must look like 4000M or 4G"),
        ({"cpus_per_task": 0}, "--cpus-per-task must be >= 1"),
        ({"max_array_size": 0}, "array size"),
        ({"workers": 0}, "workers must be >= 1"),
    ],
)
def test_slurm_options_reject_bad_values(options, message):
    with pytest.raises(UsageError, match=message):
        SlurmOptions(**options)


def test_sbatch_script_carries_the_resources_asked_for_and_nothing_else(tmp_path):
    options = SlurmOptions(
        partition="cpu",
        time="1:30:00",
        cpus_per_task=4,
        mem="16G",
        account="proj42",
        job_name="sciloom-sample",
        python="/opt/venv/bin/python",
        env_setup="module load arrow",
        workers=8,
    )
    logging_dir = tmp_path / "03-filter" / "logs"
    executor = SlurmExecutorFactory(options)(pipeline=[], tasks=12, logging_dir=str(logging_dir))
    assert isinstance(executor, SlurmStageExecutor)
    script = executor.get_launch_file_contents(
        executor.get_sbatch_args(12), "srun -l -n 1 launch_pickled_pipeline /x/executor.pik"
    )
    directives = [line for line in script.splitlines() if line.startswith("#SBATCH")]
    assert directives == [
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --nodes=1",
        "#SBATCH --partition=cpu",
        "#SBATCH --job-name=sciloom-sample-03-filter",
        "#SBATCH --time=1:30:00",
        f"#SBATCH --output={logging_dir.resolve()}/slurm_logs/%A_%a.out",
        f"#SBATCH --error={logging_dir.resolve()}/slurm_logs/%A_%a.out",
        "#SBATCH --array=0-11%8",
        "#SBATCH --account=proj42",
        "#SBATCH --mem=16G",
        "#SBATCH --requeue",
    ]
    assert "module load arrow" in script
    assert (
        "srun -l -n 1 /opt/venv/bin/python -m datatrove.tools.launch_pickled_pipeline /x/executor.pik"
        in script
    )


def test_unset_partition_time_and_mem_leave_the_cluster_defaults(tmp_path):
    executor = SlurmExecutorFactory(SlurmOptions())(
        pipeline=[], tasks=2, logging_dir=str(tmp_path / "s" / "logs")
    )
    args = executor.get_sbatch_args(2)
    assert not {"partition", "time", "mem", "mem-per-cpu", "qos", "account"} & set(args)


def test_executor_with_sciloom_steps_survives_dill_like_the_array_tasks_load_it(tmp_path, shared_data):
    paths = gsm8k_parts(shared_data, tmp_path)
    pipeline = [ShardReader(paths, source="gsm8k"), ParquetShardWriter(tmp_path / "stage", "filter")]
    executor = SlurmExecutorFactory(SlurmOptions())(
        pipeline=pipeline, tasks=4, logging_dir=str(tmp_path / "logs")
    )
    loaded = dill.loads(dill.dumps(executor, fmode=dill.CONTENTS_FMODE))
    assert type(loaded) is SlurmStageExecutor
    assert [type(s) for s in loaded.pipeline] == [ShardReader, ParquetShardWriter]
    assert loaded.pipeline[0].paths == paths and loaded.world_size == 4


def test_job_id_recorder_keeps_every_array_it_parsed():
    recorder = JobIdRecorder()
    assert recorder("Submitted batch job 41\n") == "41"
    assert recorder("Submitted batch job 42") == "42"
    assert recorder.job_ids == ["41", "42"]


def test_slurm_log_maps_a_rank_to_its_array_task_across_chained_arrays(tmp_path):
    launches = [
        {"job_ids": ["7"], "ranks": [0, 1, 2, 3], "max_array_size": 1001, "slurm_logs": "/l"},
        {"job_ids": ["9", "10"], "ranks": [1, 3, 2], "max_array_size": 2, "slurm_logs": "/l"},
    ]
    (tmp_path / "slurm_jobs.json").write_text(json.dumps(launches))
    assert slurm_log(tmp_path, 0) == Path("/l/7_0.out")  # only the first launch ran rank 0
    assert slurm_log(tmp_path, 3) == Path("/l/9_1.out")  # the latest launch wins
    assert slurm_log(tmp_path, 2) == Path("/l/10_0.out")  # third rank -> second array, index 0
    assert slurm_log(tmp_path, 5) is None


@pytest.fixture(scope="module")
def failed_local_stage(tmp_path_factory, shared_data) -> Path:
    work = tmp_path_factory.mktemp("failed")
    paths = gsm8k_parts(shared_data, work)
    out = work / "build" / "02-filter"
    with pytest.raises(RuntimeError, match="step bug"):
        run_stage(
            StageRun("filter", out, workers=1, tasks=4), ShardReader(paths, source="gsm8k"), [FailOnRank(1)]
        )
    return out


def test_status_of_a_local_stage_with_a_failed_task(failed_local_stage):
    status = stage_status(failed_local_stage)
    assert status.executor == "local" and status.tasks == 4
    # workers=1 runs ranks in order: 0 done, 1 failed, and the error stopped 2 and 3.
    assert [t.state for t in status.task_states] == ["done", "failed", "not_started", "not_started"]
    assert status.task_states[1].logs == [str(failed_local_stage / "logs" / "logs" / "task_00001.log")]


def test_status_cli_names_the_failed_task_with_its_log_tail(failed_local_stage, capsys):
    build = failed_local_stage.parent
    assert find_stage_dirs(build) == [failed_local_stage]
    assert main(["status", str(build), "--lines", "40"]) == 1
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0].split() == [
        "stage",
        "executor",
        "tasks",
        "done",
        "running",
        "pending",
        "failed",
        "not",
        "started",
        "state",
    ]
    assert lines[1].split() == ["02-filter", "local", "4", "1", "0", "0", "1", "2", "failed"]
    assert "FAILED 02-filter task 1" in text
    assert "RuntimeError: step bug on document 1-3" in text


def test_failed_tasks_message_quotes_the_task_log(failed_local_stage):
    message = failed_tasks_message("filter", failed_local_stage / "logs", [1, 2])
    assert message.startswith("stage filter: 2 task(s) did not finish: 1, 2")
    assert "task_00001.log" in message and "step bug on document 1-3" in message


def test_status_of_a_folder_without_stages_is_a_usage_error(tmp_path, capsys):
    assert main(["status", str(tmp_path)]) == 2
    assert "no stage folders" in capsys.readouterr().err


@pytest.mark.slow
def test_stage_on_ray_equals_the_local_executor(tmp_path, shared_data):
    """`--executor ray` (the `ray` extra): a local Ray instance runs the tasks, same shards and counts."""
    paths = gsm8k_parts(shared_data, tmp_path, parts=4, per_part=50)

    def run(name: str, factory):
        return run_stage(
            StageRun("extract", tmp_path / name, workers=2, tasks=4, executor_factory=factory),
            ShardReader(paths, source="gsm8k"),
            [],
        ).to_dict()

    local = run("local", None)
    import ray

    try:
        on_ray = run("ray", make_executor_factory("ray", workers=2))
    finally:
        ray.shutdown()  # the local Ray instance this test started; other tests need the cores
    assert on_ray["sources"] == local["sources"] and on_ray["sources"]["gsm8k"]["docs"]["kept"] == 200
    assert [(s["path"], s["sha256"]) for s in on_ray["shards"]] == [
        (s["path"], s["sha256"]) for s in local["shards"]
    ]
    assert len(list((tmp_path / "ray" / "logs" / "completions").iterdir())) == 4
