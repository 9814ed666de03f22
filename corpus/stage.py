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

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep

from sciloom.corpus.errors import StageError
from sciloom.corpus.progress import TaskProgress
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
    out_dir.mkdir(parents=True, exist_ok=True)
    if not reader.paths:
        raise StageError(f"stage {run.name}: no inputs")
    tasks = run.tasks or default_tasks(reader)
    pipeline: list[PipelineStep] = [reader, *steps, ParquetShardWriter(out_dir, run.name)]
    for step in pipeline:
        if isinstance(step, SciloomStep):
            step.quarantine_dir = str(out_dir / "quarantine")
            step.samples_dir = str(out_dir / SAMPLES_DIR)
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
    with TaskProgress(logging_dir / "completions", tasks, run.name):
        executor.run()
    manifest = collect_manifest(run, reader.paths, tasks)
    manifest.wall_time_s = round(time.time() - start, 3)
    if extra is not None:
        manifest.extra.update(extra(manifest))
    write_manifest(out_dir, manifest)
    return manifest


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
    path = Path(stage_dir) / MANIFEST_NAME
    return {"dir": str(stage_dir), "sha256": sha256_file(path)} if path.is_file() else {"dir": str(stage_dir)}
