"""Run one stage: reader -> steps -> Parquet writer on a datatrove executor, then its manifest.

`run_stage` is the single place where a stage is executed, for the CLI's per-stage subcommands
and for `sciloom build` alike. It

1. points every sciloom step at `OUT/quarantine/`;
2. runs `[reader, *steps, ParquetShardWriter]` on datatrove's `LocalPipelineExecutor` (or the
   executor a caller passes, e.g. Slurm), whose `completions/` make reruns skip finished tasks;
3. sums the per-task counters into per-source counts, checks the conservation invariant, hashes
   the shards and writes `OUT/manifest.json`.

The number of tasks is fixed by the inputs (not by `workers`), so the same inputs give the same
shards whatever the parallelism or executor.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep

from sciloom.corpus.errors import UsageError
from sciloom.corpus.output_folder import claim_output_folder
from sciloom.corpus.progress import PROGRESS_DIR, TaskProgress
from sciloom.corpus.quarantine import read_quarantine
from sciloom.corpus.shards import ParquetShardWriter, shard_files
from sciloom.corpus.step import SciloomReader, SciloomStep
from sciloom.manifests.checksums import sha256_file
from sciloom.manifests.ledger import check_invariant, counts_from_stats, read_task_stats
from sciloom.manifests.provenance import host_info, now_iso, package_versions
from sciloom.manifests.schema import MANIFEST_NAME, ShardEntry, StageManifest, write_manifest

logger = logging.getLogger(__name__)

LOGS_DIR = "logs"
SAMPLES_DIR = "samples"
PLAN_FILE = "plan.json"
MAX_DEFAULT_TASKS = 16


@dataclass
class StageRun:
    """Everything `run_stage` needs besides the pipeline."""

    name: str
    out_dir: Path
    workers: int = 1
    tasks: int | None = None
    seed: int = 0
    recipe_hash: str | None = None
    input_manifests: list[dict[str, str]] = field(default_factory=list)
    executor_factory: Callable[..., Any] | None = None  # (pipeline, tasks, logging_dir) -> executor
    skip_completed: bool = True
    force: bool = False  # write into an existing folder sciloom did not make (corpus/output_folder.py)


class QuietLocalExecutor(LocalPipelineExecutor):
    """datatrove's local executor, with its per-task INFO logging kept out of the terminal.

    datatrove sends INFO from the task with local_rank 0 to stderr and from every other task only
    ERRORs; local_rank is used for nothing else. All tasks log in full to `logs/logs/task_*.log`
    either way, and sciloom's CLI shows its own progress, so every task runs as a quiet one here.
    """

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        return super()._run_for_rank(rank, local_rank=local_rank + 1, node_rank=node_rank)


def default_tasks(reader: SciloomReader) -> int:
    return max(1, min(len(reader.paths), MAX_DEFAULT_TASKS))


def stage_logging_dir(out_dir: str | os.PathLike) -> Path:
    return Path(out_dir) / LOGS_DIR


def run_stage(
    run: StageRun,
    reader: SciloomReader,
    steps: Sequence[PipelineStep],
    extra: Callable[[StageManifest], dict[str, Any]] | None = None,
) -> StageManifest:
    """Run reader + steps + writer for every task, then write and return the stage manifest."""
    out_dir = Path(run.out_dir)
    if not reader.paths:
        raise UsageError(f"stage {run.name}: no input files (check the INPUT paths and their file types)")
    check_out_is_not_an_input(out_dir, reader.paths)
    claim_output_folder(out_dir, force=run.force)  # refuses a folder sciloom did not make
    tasks = run.tasks or default_tasks(reader)
    pipeline: list[PipelineStep] = [reader, *steps, ParquetShardWriter(out_dir, run.name)]
    prepare_resume(out_dir, stage_plan(run.name, reader.paths, tasks, pipeline))
    for step in pipeline:
        if isinstance(step, SciloomStep):
            step.quarantine_dir = str(out_dir / "quarantine")
            step.samples_dir = str(out_dir / SAMPLES_DIR)
            step.progress_dir = str(stage_logging_dir(out_dir) / PROGRESS_DIR)
    logging_dir = stage_logging_dir(out_dir)
    start = time.time()
    if run.executor_factory is not None:
        executor = run.executor_factory(pipeline=pipeline, tasks=tasks, logging_dir=str(logging_dir))
    else:
        executor = QuietLocalExecutor(
            pipeline=pipeline,
            tasks=tasks,
            workers=max(1, min(run.workers, tasks)),
            logging_dir=str(logging_dir),
            skip_completed=run.skip_completed,
        )
    with TaskProgress(logging_dir, tasks, run.name):
        executor.run()
    manifest = collect_manifest(run, reader.paths, tasks)
    manifest.wall_time_s = round(time.time() - start, 3)
    if extra is not None:
        manifest.extra.update(extra(manifest))
    write_manifest(out_dir, manifest)
    return manifest


def check_out_is_not_an_input(out_dir: Path, inputs: Sequence[str]) -> None:
    """Writing a stage into the folder it reads would resume the old stage under a new name."""
    out = out_dir.resolve()
    for path in inputs:
        p = Path(path).resolve()
        if p == out or out in p.parents:
            raise UsageError(f"--out {out_dir} holds an input of this stage ({path}); choose another folder")


def _fingerprint(value: Any) -> Any:
    """A JSON-able view of a step's settings: plain values and dataclasses, other objects by type."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _fingerprint(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _fingerprint(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_fingerprint(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return type(value).__name__


def stage_plan(
    name: str, inputs: Sequence[str], tasks: int, pipeline: Sequence[PipelineStep]
) -> dict[str, Any]:
    """What a stage run is: its inputs (with size and mtime), task count and step settings."""
    files = []
    for path in inputs:
        try:
            st = os.stat(path)
            files.append([str(path), st.st_size, int(st.st_mtime)])
        except OSError:
            files.append([str(path), None, None])
    steps = [
        {
            "step": type(step).__name__,
            **{
                k: _fingerprint(v)
                for k, v in vars(step).items()
                if k not in NOT_SETTINGS and not k.startswith("_")
            },
        }
        for step in pipeline
    ]
    return {"stage": name, "tasks": tasks, "inputs": files, "steps": steps}


# Attributes of a step that are wiring, not settings (they never change what a task produces).
NOT_SETTINGS = {"stats", "quarantine_dir", "samples_dir", "stage_dir", "paths"}
STAGE_PARTS = ("docs", LOGS_DIR, "quarantine", SAMPLES_DIR)


CLI_LOG = "sciloom.log"


def remove_stage_parts(out_dir: Path) -> None:
    """Remove a stage's docs, logs, quarantine and samples, but not the CLI's open `logs/sciloom.log`
    (it was opened before the stage started, and holds this run's log lines)."""
    for part in STAGE_PARTS:
        folder = out_dir / part
        if part != LOGS_DIR:
            shutil.rmtree(folder, ignore_errors=True)
            continue
        if folder.is_dir():
            for entry in folder.iterdir():
                if entry.name == CLI_LOG:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)


def _has_task_logs(out_dir: Path) -> bool:
    folder = out_dir / LOGS_DIR
    return folder.is_dir() and any(e.name != CLI_LOG for e in folder.iterdir())


def prepare_resume(out_dir: Path, plan: dict[str, Any]) -> None:
    """Resume only a run of the same plan; otherwise start the stage folder afresh.

    datatrove's completion markers are keyed by task rank alone, so a rerun with other inputs,
    another task count or other settings would otherwise reuse finished tasks of the old run and
    mix old and new documents. A finished task whose shard is gone is run again.
    """
    plan_path = out_dir / LOGS_DIR / PLAN_FILE
    if plan_path.is_file():
        old = json.loads(plan_path.read_text())
        if old != json.loads(json.dumps(plan)):
            logger.warning(
                "%s: inputs, tasks or settings changed since the last run: starting afresh", out_dir
            )
            remove_stage_parts(out_dir)
            (out_dir / MANIFEST_NAME).unlink(missing_ok=True)
    elif any((out_dir / part).exists() for part in STAGE_PARTS if part != LOGS_DIR) or _has_task_logs(
        out_dir
    ):
        # A folder from a run without a plan (or another tool): do not trust its completions.
        remove_stage_parts(out_dir)
    completions = out_dir / LOGS_DIR / "completions"
    if completions.is_dir():
        for marker in completions.iterdir():
            shard = out_dir / "docs" / f"{marker.name}.parquet"
            if not shard.is_file():
                marker.unlink()
                (out_dir / LOGS_DIR / "stats" / f"{marker.name}.json").unlink(missing_ok=True)
    plan_path.parent.mkdir(parents=True, exist_ok=True)
    plan_path.write_text(json.dumps(plan, indent=1) + "\n")


def collect_manifest(run: StageRun, inputs: Sequence[str], tasks: int) -> StageManifest:
    """Build (and check) a stage manifest from the tasks' stats and the shards on disk."""
    out_dir = Path(run.out_dir)
    stats = read_task_stats(stage_logging_dir(out_dir))
    per_source = counts_from_stats(stats)
    check_invariant(run.name, per_source)
    return StageManifest(
        stage=run.name,
        sources=per_source,
        shards=list_shards(out_dir),
        inputs=[str(p) for p in inputs],
        input_manifests=run.input_manifests,
        quarantine=read_quarantine(out_dir / "quarantine"),
        samples=read_drop_samples(out_dir),
        recipe_hash=run.recipe_hash,
        seed=run.seed,
        versions=package_versions(),
        host=host_info(),
        created=now_iso(),
        tasks=tasks,
    )


def read_drop_samples(out_dir: str | os.PathLike) -> dict[str, list[dict[str, str]]]:
    """References (id, source, file) to the dropped-document samples the steps kept."""
    samples: dict[str, list[dict[str, str]]] = {}
    for path in sorted((Path(out_dir) / SAMPLES_DIR).glob("dropped-*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                entry = json.loads(line)
                refs = samples.setdefault(entry["reason"], [])
                if len(refs) < 10:
                    refs.append(
                        {"id": entry["id"], "source": entry["source"], "file": str(path.relative_to(out_dir))}
                    )
    return samples


def list_shards(out_dir: str | os.PathLike) -> list[ShardEntry]:
    out = []
    for path in shard_files(out_dir):
        out.append(
            ShardEntry(
                path=str(path.relative_to(out_dir)),
                sha256=sha256_file(path),
                rows=pq.ParquetFile(path).metadata.num_rows,
                bytes=path.stat().st_size,
            )
        )
    return out


def manifest_ref(stage_dir: str | os.PathLike) -> dict[str, str]:
    """A reference to an earlier stage's manifest, for `input_manifests`."""
    folder = Path(stage_dir).resolve()  # absolute: verify must not depend on the current directory
    path = folder / MANIFEST_NAME
    return {"dir": str(folder), "sha256": sha256_file(path)} if path.is_file() else {"dir": str(folder)}
