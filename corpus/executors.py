"""Where a stage's tasks run: locally, as a Slurm job array, or on a Ray cluster.

`run_stage` calls `executor_factory(pipeline=..., tasks=..., logging_dir=...)` and then
`executor.run()`, and reads the tasks' stats as soon as `run()` returns. Every executor built here
therefore *blocks until the stage is over* and raises `StageError` naming the failed tasks (with
their log tails) when some did not finish, so a stage manifest is never written over a partial
stage. The distributed engine is datatrove's (`SlurmPipelineExecutor`, `RayPipelineExecutor`):

- Slurm: datatrove dill-pickles the executor (pipeline included) to `logs/executor.pik`, writes
  `logs/launch_script.slurm` and submits one array job per stage (`--array=0-N`, `--requeue`, a
  SIGUSR1 handler that requeues). Each array task runs `python -m
  datatrove.tools.launch_pickled_pipeline executor.pik` with the driver's Python (not whatever
  `launch_pickled_pipeline` is first on the nodes' PATH), finds its rank from
  `SLURM_ARRAY_TASK_ID` and `ranks_to_run.json`, and marks `logs/completions/<rank>` when done.
  We record every submitted array (job ids and the ranks they run) in `logs/slurm_jobs.json`, poll
  `squeue` until they leave the queue, then check completions. A rerun submits only the ranks
  without a completion; if jobs of an earlier run of the stage are still queued (the driver was
  interrupted), it waits for them instead of submitting the same ranks twice.
- Stages run one after another: the driver (`sciloom build`) submits stage N+1 when stage N's
  array has finished and its manifest is written. Submitting every stage up front with
  `--dependency=afterok` would leave no place to check each stage's ledger before the next reads it.

Status of a stage folder (`stage_status`) is read from the same files, for `sciloom status`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datatrove.executor.slurm import SlurmPipelineExecutor

from sciloom.corpus.errors import StageError, UsageError
from sciloom.manifests.schema import MANIFEST_NAME

logger = logging.getLogger(__name__)

EXECUTOR_KINDS = ("local", "slurm", "ray")
JOBS_FILE = "slurm_jobs.json"
SLURM_LOGS = "slurm_logs"
LOG_TAIL_LINES = 20
# squeue reasons after which a pending job can never start: waiting would hang the build.
HOPELESS_REASONS = frozenset(
    {
        "DependencyNeverSatisfied",
        "BadConstraints",
        "InvalidAccount",
        "InvalidQOS",
        "PartitionConfig",
        "PartitionNodeLimit",
        "PartitionTimeLimit",
        "QOSJobLimit",
        "AssocMaxJobsLimit",
    }
)
MEM_RE = re.compile(r"^\d+[KMGT]?$")
POLL_MIN_S = 0.5
POLL_MAX_S = 5.0  # squeue is cheap; a driver polling every 5 s is far below what sites throttle
SQUEUE_RETRY_S = 300.0


@dataclass
class SlurmOptions:
    """Resources and environment of every array task of a build (one set for all stages)."""

    partition: str | None = None  # None: the cluster's default partition
    time: str | None = None  # per task, Slurm syntax (e.g. "2:00:00"); None: the partition's default
    cpus_per_task: int = 1
    mem: str | None = None  # per task, Slurm syntax ("4G", "4000M"); None: the cluster's DefMemPerCPU
    job_name: str = "sciloom"  # each stage's array is named "<job_name>-<stage folder>"
    logs_dir: str | None = None  # Slurm's own stdout/stderr; default <stage>/logs/slurm_logs
    python: str = sys.executable  # the interpreter the tasks run (same venv as the driver)
    env_setup: str | None = None  # shell lines run before the task (module load, source venv, ...)
    max_array_size: int = 1001  # tasks per array job (Slurm's MaxArraySize); more -> chained arrays
    workers: int = -1  # array tasks running at once (`--array=...%N`); -1: no limit
    qos: str | None = None
    account: str | None = None
    poll_s: float = POLL_MIN_S  # first squeue polling interval; grows to POLL_MAX_S

    def __post_init__(self) -> None:
        if self.cpus_per_task < 1:
            raise UsageError(f"--cpus-per-task must be >= 1, got {self.cpus_per_task}")
        if self.mem is not None and not MEM_RE.match(str(self.mem)):
            raise UsageError(f"--mem must look like 4000M or 4G (Slurm syntax), got {self.mem!r}")
        if self.max_array_size < 1:
            raise UsageError(f"--tasks (array size) must be >= 1, got {self.max_array_size}")
        if self.workers == 0 or self.workers < -1:
            raise UsageError(f"Slurm workers must be >= 1 (or -1: no limit), got {self.workers}")


class SlurmStageExecutor(SlurmPipelineExecutor):
    """datatrove's Slurm executor, made blocking and strict for `run_stage`.

    `run()` on the driver submits the stage's array, waits for it to leave the queue and raises
    `StageError` if a task has no completion; inside an array task it runs that task's rank.
    """

    def __init__(self, pipeline: list, tasks: int, logging_dir: str, options: SlurmOptions, stage: str):
        # Absolute: Slurm opens it from the task's working folder, datatrove from the driver's.
        logs = (
            Path(options.logs_dir) / stage if options.logs_dir else Path(logging_dir) / SLURM_LOGS
        ).resolve()
        sbatch_args: dict[str, Any] = {}
        if options.account:
            sbatch_args["account"] = options.account
        if options.mem:
            sbatch_args["mem"] = options.mem
        super().__init__(
            pipeline=pipeline,
            tasks=tasks,
            time=options.time or "",
            partition=options.partition or "",
            cpus_per_task=options.cpus_per_task,
            workers=options.workers,
            job_name=f"{options.job_name}-{stage}",
            qos=options.qos or "",
            env_command=_env_command(options),
            sbatch_args=sbatch_args,
            max_array_size=options.max_array_size,
            logging_dir=logging_dir,
            slurm_logs_folder=str(logs),
            job_id_retriever=JobIdRecorder(),
        )
        self.stage = stage
        self.python = options.python
        self.poll_s = options.poll_s

    # -- what datatrove submits -----------------------------------------------------------------
    def get_sbatch_args(self, max_array: int = 1) -> dict:
        args = super().get_sbatch_args(max_array)
        # Leave out what the user did not set, so the cluster's defaults apply (datatrove always
        # sets --mem-per-cpu=2G, which also conflicts with --mem).
        for key in ("time", "partition"):
            if not args.get(key):
                args.pop(key, None)
        args.pop("mem-per-cpu", None)
        return args

    def get_launch_file_contents(self, sbatch_args: dict, run_script: str) -> str:
        launcher = f"{shlex.quote(self.python)} -m datatrove.tools.launch_pickled_pipeline "
        return super().get_launch_file_contents(
            sbatch_args, run_script.replace("launch_pickled_pipeline ", launcher)
        )

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        # A task that was killed (preempted, scancel, node failure) left part of its quarantine
        # log behind; the rerun appends to that file, so drop the stale lines first or they
        # would be counted twice in the manifest's quarantine list.
        if not self.is_rank_completed(rank):
            stale = Path(self.logging_dir.path).parent / "quarantine" / f"{rank:05d}.jsonl"
            stale.unlink(missing_ok=True)
        return super()._run_for_rank(rank, local_rank, node_rank)

    def launch_merge_stats(self) -> None:
        # run_stage merges the tasks' stats into the manifest itself; no extra job needed.
        return None

    # -- driver side ------------------------------------------------------------------------------
    def run(self) -> None:
        if "SLURM_ARRAY_TASK_ID" in os.environ:
            super().run()  # inside an array task: run our rank
            return
        if shutil.which("sbatch") is None:
            raise StageError(
                "sbatch is not on PATH: run on a Slurm login node (or scripts/slurm-local.sh start)"
            )
        stale = self._queued_job_ids()
        if stale:
            logger.warning(
                "stage %s: jobs %s of an earlier run are still queued; waiting for them", self.stage, stale
            )
            self._wait(stale)
        recorder: JobIdRecorder = self.job_id_retriever
        recorder.job_ids.clear()
        try:
            self.launch_job()
        except subprocess.CalledProcessError as err:
            raise StageError(
                f"stage {self.stage}: sbatch refused the job (exit {err.returncode}); see its message above"
            ) from err
        if self.job_id == -1:  # every task already has a completion
            return
        job_ids = list(recorder.job_ids)
        self._record_launch(job_ids)
        try:
            self._wait(job_ids)
        except KeyboardInterrupt:
            logger.warning(
                "stage %s: stopped waiting; jobs %s keep running (scancel %s to stop them). "
                "Rerunning the same command waits for them, then submits what is left.",
                self.stage,
                ", ".join(job_ids),
                " ".join(job_ids),
            )
            raise
        self._check_completions()

    def _record_launch(self, job_ids: list[str]) -> None:
        with self.logging_dir.open("ranks_to_run.json", "r") as fh:
            ranks = json.load(fh)
        launches = read_launches(self.logging_dir.path)
        launches.append(
            {
                "job_ids": job_ids,
                "ranks": ranks,
                "max_array_size": self.max_array_size,
                "slurm_logs": str(self.slurm_logs_folder),
                "submitted": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
        )
        path = Path(self.logging_dir.path) / JOBS_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(launches, indent=2) + "\n")
        os.replace(tmp, path)
        logger.info(
            "stage %s: submitted %d tasks as Slurm job(s) %s", self.stage, len(ranks), ", ".join(job_ids)
        )

    def _queued_job_ids(self) -> list[str]:
        ids = [j for launch in read_launches(self.logging_dir.path) for j in launch["job_ids"]]
        if not ids:
            return []
        return sorted({row.job_id for row in squeue(ids)})

    def _wait(self, job_ids: Sequence[str]) -> None:
        """Poll squeue until none of `job_ids` is queued; cancel and fail on hopeless jobs."""
        delay = self.poll_s
        last = ""
        while True:
            rows = squeue(job_ids)
            if not rows:
                return
            states = {r.state for r in rows}
            summary = ", ".join(f"{sum(r.state == s for r in rows)} {s.lower()}" for s in sorted(states))
            if summary != last:
                logger.info("stage %s: %s", self.stage, summary)
                last = summary
            if states == {"PENDING"} and all(r.reason in HOPELESS_REASONS for r in rows):
                subprocess.run(["scancel", *job_ids], check=False, capture_output=True)
                reasons = sorted({r.reason for r in rows})
                raise StageError(
                    f"stage {self.stage}: Slurm will never start jobs {list(job_ids)} ({', '.join(reasons)}); cancelled"
                )
            time.sleep(delay)
            delay = min(POLL_MAX_S, delay * 1.5)

    def _check_completions(self) -> None:
        # A completion written on another node may take a moment to show on a network filesystem.
        missing = self.get_incomplete_ranks()
        for _ in range(5):
            if not missing:
                return
            time.sleep(1.0)
            missing = self.get_incomplete_ranks()
        if missing:
            raise StageError(failed_tasks_message(self.stage, Path(self.logging_dir.path), missing))


class JobIdRecorder:
    """datatrove's `job_id_retriever` that also remembers every id it parsed (one per array)."""

    def __init__(self) -> None:
        self.job_ids: list[str] = []

    def __call__(self, sbatch_output: str) -> str:
        job_id = sbatch_output.split()[-1]
        self.job_ids.append(job_id)
        return job_id


@dataclass
class SlurmExecutorFactory:
    """`executor_factory` for `StageRun`: one `SlurmStageExecutor` per stage (picklable)."""

    options: SlurmOptions

    def __call__(self, pipeline: list, tasks: int, logging_dir: str) -> SlurmStageExecutor:
        stage = Path(logging_dir).parent.name or "stage"
        return SlurmStageExecutor(pipeline, tasks, logging_dir, self.options, stage)


@dataclass
class RayExecutorFactory:
    """`executor_factory` for `StageRun` on Ray (datatrove's `RayPipelineExecutor`), blocking."""

    cpus_per_task: int = 1
    mem: str | None = None
    workers: int = -1

    def __call__(self, pipeline: list, tasks: int, logging_dir: str) -> Any:
        try:
            import ray  # noqa: F401
        except ImportError as err:
            raise StageError("the ray executor needs Ray: pip install 'sciloom[ray]'") from err
        from datatrove.executor.ray import RayPipelineExecutor

        stage = Path(logging_dir).parent.name or "stage"
        executor = RayPipelineExecutor(
            pipeline=pipeline,
            tasks=tasks,
            workers=self.workers,
            logging_dir=logging_dir,
            cpus_per_task=self.cpus_per_task,
            mem_per_cpu_gb=_mem_gb(self.mem, self.cpus_per_task),
        )
        return StrictExecutor(executor, stage)


class StrictExecutor:
    """Wrap a datatrove executor: after `run()`, fail with the tasks that have no completion."""

    def __init__(self, executor: Any, stage: str) -> None:
        self.executor = executor
        self.stage = stage

    def run(self) -> None:
        self.executor.run()
        missing = self.executor.get_incomplete_ranks()
        if missing:
            raise StageError(failed_tasks_message(self.stage, Path(self.executor.logging_dir.path), missing))


def make_executor_factory(
    kind: str,
    *,
    partition: str | None = None,
    time: str | None = None,
    cpus_per_task: int = 1,
    mem: str | None = None,
    job_name: str = "sciloom",
    logs_dir: str | None = None,
    python: str = sys.executable,
    env_setup: str | None = None,
    max_array_size: int | None = None,
    workers: int | None = None,
    qos: str | None = None,
    account: str | None = None,
) -> Callable[..., Any] | None:
    """The `StageRun.executor_factory` for `kind` ("local", "slurm" or "ray").

    "local" returns None: `run_stage` then uses datatrove's `LocalPipelineExecutor` with the
    run's `workers`. "slurm" checks that `sbatch` is reachable now, so a typo fails before any stage.
    """
    if kind not in EXECUTOR_KINDS:
        raise UsageError(f"unknown executor {kind!r}; known: {', '.join(EXECUTOR_KINDS)}")
    if kind == "local":
        return None
    if kind == "ray":
        return RayExecutorFactory(cpus_per_task=cpus_per_task, mem=mem, workers=workers or -1)
    if shutil.which("sbatch") is None:
        raise UsageError("--executor slurm: sbatch is not on PATH (run on a Slurm login node)")
    options = SlurmOptions(
        partition=partition,
        time=time,
        cpus_per_task=cpus_per_task,
        mem=mem,
        job_name=job_name,
        logs_dir=logs_dir,
        python=python,
        env_setup=env_setup,
        max_array_size=max_array_size or 1001,
        workers=workers or -1,
        qos=qos,
        account=account,
    )
    return SlurmExecutorFactory(options)


def _env_command(options: SlurmOptions) -> str | None:
    # Tasks start in the submitting folder (sbatch's default) with the driver's environment
    # (--export=ALL) and interpreter; env_setup adds what a cluster needs (module load, ...).
    return options.env_setup or None


def _mem_gb(mem: str | None, cpus: int) -> float:
    if not mem:
        return 2
    units = {"K": 1 / 1024**2, "M": 1 / 1024, "G": 1, "T": 1024}
    value = float(mem[:-1]) * units[mem[-1]] if mem[-1] in units else float(mem) / 1024
    return value / max(1, cpus)


# -- queue and logs ------------------------------------------------------------------------------


@dataclass
class QueuedTask:
    """One array task as squeue shows it."""

    job_id: str  # the array's job id
    index: int | None  # array index; None for a not-yet-expanded range
    state: str  # PENDING, RUNNING, COMPLETING, ...
    reason: str


def squeue(job_ids: Sequence[str], retry_s: float = SQUEUE_RETRY_S) -> list[QueuedTask]:
    """The queued tasks of `job_ids`, one row per array task. Jobs that left the queue are absent.

    Retries for up to `retry_s` when the controller does not answer (a restarting slurmctld must
    not fail a long build); a client without a configuration fails at once.
    """
    if not job_ids:
        return []
    deadline = time.time() + retry_s
    cmd = ["squeue", "-h", "-r", "-j", ",".join(job_ids), "-o", "%F|%K|%T|%r"]
    while True:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            break
        if "Invalid job id" in proc.stderr:  # all of them finished and aged out of the controller
            return []
        message = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
        if "configuration source" in proc.stderr:
            raise StageError(f"squeue cannot find the Slurm configuration (is SLURM_CONF set?): {message}")
        if time.time() > deadline:
            raise StageError(f"squeue keeps failing: {message}")
        logger.warning("squeue failed (%s); retrying", message)
        time.sleep(5.0)
    rows = []
    for line in proc.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 4:
            continue
        job, index, state, reason = parts
        rows.append(QueuedTask(job, int(index) if index.isdigit() else None, state, reason))
    return rows


def read_launches(logging_dir: str | os.PathLike) -> list[dict[str, Any]]:
    path = Path(logging_dir) / JOBS_FILE
    if not path.is_file():
        return []
    return json.loads(path.read_text())


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    """The last `lines` lines of a text file (empty when it does not exist)."""
    if not path.is_file():
        return []
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 64 * 1024))
        data = fh.read().decode("utf-8", errors="replace")
    return data.splitlines()[-lines:]


def task_log(logging_dir: Path, rank: int) -> Path:
    """datatrove's log of one task."""
    return logging_dir / "logs" / f"task_{rank:05d}.log"


def slurm_log(logging_dir: Path, rank: int) -> Path | None:
    """Slurm's stdout/stderr file of the latest array task that ran `rank`, if any."""
    for launch in reversed(read_launches(logging_dir)):
        ranks = launch["ranks"]
        if rank not in ranks:
            continue
        pos = ranks.index(rank)
        per_job = launch.get("max_array_size") or len(ranks)
        job_ids = launch["job_ids"]
        job = job_ids[min(pos // per_job, len(job_ids) - 1)]
        return Path(launch["slurm_logs"]) / f"{job}_{pos % per_job}.out"
    return None


def failed_tasks_message(stage: str, logging_dir: Path, ranks: Sequence[int]) -> str:
    parts = [f"stage {stage}: {len(ranks)} task(s) did not finish: {', '.join(map(str, ranks))}"]
    for rank in list(ranks)[:3]:
        for path in (task_log(logging_dir, rank), slurm_log(logging_dir, rank)):
            lines = tail(path, 10) if path else []
            if lines:
                parts.append(f"--- task {rank}: {path} (last lines)")
                parts.extend("  " + line for line in lines)
    parts.append("rerun the same command to redo only these tasks")
    return "\n".join(parts)


# -- status of a stage folder -----------------------------------------------------------------------

TASK_STATES = ("done", "running", "pending", "failed", "not_started", "unknown")
LOCAL_STALE_S = 600.0  # a locally run task whose log is older than this, with no completion, has died


@dataclass
class TaskStatus:
    rank: int
    state: str  # one of TASK_STATES
    job: str | None = None  # "<array job id>_<index>" for Slurm tasks
    logs: list[str] = field(default_factory=list)  # log files that exist, datatrove's first


@dataclass
class StageStatus:
    name: str
    dir: Path
    tasks: int
    executor: str  # "slurm", "local", "ray" or "unknown"
    task_states: list[TaskStatus]
    note: str = ""  # e.g. why running and failed tasks cannot be told apart

    def count(self, state: str) -> int:
        return sum(t.state == state for t in self.task_states)


def stage_status(stage_dir: str | os.PathLike) -> StageStatus:
    """Per-task state of one stage folder, from datatrove's files and the Slurm queue."""
    stage_dir = Path(stage_dir)
    logging_dir = stage_dir / "logs"
    info = _executor_info(logging_dir)
    if not info and not (logging_dir / "completions").is_dir() and not (logging_dir / JOBS_FILE).is_file():
        # Ran in the driver process; its manifest is written only when it finished.
        tasks = int(_stage_manifest(stage_dir).get("tasks") or 1)
        return StageStatus(
            stage_dir.name, stage_dir, tasks, "driver", [TaskStatus(r, "done") for r in range(tasks)]
        )
    tasks = int(info.get("world_size") or info.get("tasks") or 0)
    done = {int(p.name) for p in (logging_dir / "completions").glob("*") if p.name.isdigit()}
    tasks = max([tasks, *(r + 1 for r in done)])
    launches = read_launches(logging_dir)
    executor = "slurm" if launches else _kind_of(info)
    queued: dict[int, QueuedTask] = {}
    note = ""
    rows: list[QueuedTask] | None = None
    if launches and len(done) < tasks:  # a finished stage needs no queue lookup
        try:
            rows = squeue(launches[-1]["job_ids"], retry_s=0) if shutil.which("squeue") else None
        except StageError as err:
            note = str(err)
        if rows is None and not note:
            note = "squeue is not on PATH"
    if rows:
        latest = launches[-1]
        for row in rows:
            if row.index is None:
                continue
            pos = latest["job_ids"].index(row.job_id) * latest["max_array_size"] + row.index
            if pos < len(latest["ranks"]):
                queued[latest["ranks"][pos]] = row
    states = []
    for rank in range(tasks):
        log = task_log(logging_dir, rank)
        slog = slurm_log(logging_dir, rank)
        logs = [str(p) for p in (log, slog) if p is not None and p.is_file()]
        job = None
        if slog is not None:
            job = slog.name.removesuffix(".out")
        if rank in done:
            state = "done"
        elif rank in queued:
            row = queued[rank]
            state = "pending" if row.state == "PENDING" else "running"
            job = f"{row.job_id}_{row.index}"
        elif executor == "slurm" and note:
            state = "unknown"  # without the queue, a running task looks like a failed one
        elif executor == "slurm":
            submitted = any(rank in launch["ranks"] for launch in launches)
            state = "failed" if submitted or log.is_file() else "not_started"
        elif log.is_file():
            fresh = time.time() - log.stat().st_mtime < LOCAL_STALE_S
            state = "failed" if _has_error(log) or not fresh else "running"
        else:
            state = "not_started"
        states.append(TaskStatus(rank, state, job, logs))
    return StageStatus(stage_dir.name, stage_dir, tasks, executor, states, note)


def find_stage_dirs(path: str | os.PathLike) -> list[Path]:
    """The stage folders in a build folder (or the folder itself if it is one), in run order."""
    path = Path(path)
    if _is_stage_dir(path):
        return [path]
    found = [
        p.parent for p in path.rglob("*") if p.name in ("logs", MANIFEST_NAME) and _is_stage_dir(p.parent)
    ]
    return sorted(set(found), key=lambda d: (d.name, str(d)))


def _is_stage_dir(path: Path) -> bool:
    """A folder a stage ran in: datatrove's task files, or a stage manifest (stages that run in the
    driver process, such as dedup's clustering or the mix, leave only that)."""
    logs = path / "logs"
    if (logs / "executor.json").is_file() or (logs / "completions").is_dir() or (logs / JOBS_FILE).is_file():
        return True
    return _stage_manifest(path).get("kind") == "stage"


def _stage_manifest(path: Path) -> dict[str, Any]:
    try:
        return json.loads((path / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return {}


def _executor_info(logging_dir: Path) -> dict[str, Any]:
    path = logging_dir / "executor.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _kind_of(info: dict[str, Any]) -> str:
    if not info:
        return "unknown"
    if "slurm_logs_folder" in info:
        return "slurm"
    return "ray" if "ray_remote_kwargs" in info or "cpus_per_task" in info else "local"


def _has_error(log: Path) -> bool:
    # datatrove logs the exception at ERROR, then a long traceback: scan the whole file.
    with open(log, encoding="utf-8", errors="replace") as fh:
        return any("| ERROR " in line for line in fh)
