"""Synth stages on GPU nodes under Slurm: one model replica (vLLM, or hf) per array task.

`SynthGpuExecutorFactory` is an `executor_factory` for `run_build` / `StageRun`: a stage whose
pipeline holds a `SynthStep` is submitted as an array with `--gres=gpu:G` and the `gpu` Slurm
options (partition, time, CPUs, memory); every other stage goes to `cpu` (another factory, e.g.
`make_executor_factory("slurm", partition="cpu")`, or the local executor when None). Each array
task of a synth stage loads its model once (`vllm.LLM` with `tensor_parallel_size` GPUs) and
works through its share of the problem files, so the number of problem files sets the number of
model replicas and `gpu.workers` caps how many run at once (the nodes you may hold). The class
lives in an installed module because datatrove pickles the executor for the array tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sciloom.corpus.executors import SlurmOptions, SlurmStageExecutor


class GpuSlurmStageExecutor(SlurmStageExecutor):
    """`SlurmStageExecutor` whose array tasks each ask for `gpus` GPUs."""

    def __init__(self, pipeline, tasks, logging_dir, options: SlurmOptions, stage: str, gpus: int) -> None:
        super().__init__(pipeline, tasks, logging_dir, options, stage)
        self.gpus = gpus

    def get_sbatch_args(self, max_array: int = 1) -> dict:
        return {**super().get_sbatch_args(max_array), "gres": f"gpu:{self.gpus}"}


@dataclass
class SynthGpuExecutorFactory:
    gpu: SlurmOptions
    gpus_per_task: int = 8
    cpu: Callable[..., Any] | None = None

    def __call__(self, pipeline: list, tasks: int, logging_dir: str) -> Any:
        from sciloom.corpus.synth.stage import SynthStep

        if any(isinstance(step, SynthStep) for step in pipeline):
            stage = Path(logging_dir).parent.name or "synth"
            return GpuSlurmStageExecutor(pipeline, tasks, logging_dir, self.gpu, stage, self.gpus_per_task)
        if self.cpu is not None:
            return self.cpu(pipeline=pipeline, tasks=tasks, logging_dir=logging_dir)
        from sciloom.corpus.stage import QuietLocalExecutor

        return QuietLocalExecutor(pipeline=pipeline, tasks=tasks, workers=1, logging_dir=logging_dir)
