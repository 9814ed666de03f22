"""Synth stages go to GPU arrays (`--gres=gpu:G`), other stages to the CPU executor."""

from __future__ import annotations

from sciloom.corpus.executors import SlurmOptions
from sciloom.corpus.prompts.stage import ProblemReader
from sciloom.corpus.shards import ParquetShardWriter
from sciloom.corpus.synth.config import BackendConfig, SynthConfig
from sciloom.corpus.synth.slurm import GpuSlurmStageExecutor, SynthGpuExecutorFactory
from sciloom.corpus.synth.stage import SynthStep


def test_synth_stage_asks_for_gpus_and_other_stages_do_not(tmp_path, gsm8k_file):
    config = SynthConfig(backend=BackendConfig(name="vllm", model="m", tensor_parallel_size=4))
    gpu = SlurmOptions(partition="gpu", time="4:00:00", cpus_per_task=16, mem="200G")
    cpu_calls = []
    factory = SynthGpuExecutorFactory(gpu, gpus_per_task=4, cpu=lambda **kw: cpu_calls.append(kw) or "cpu")
    stage = tmp_path / "05-prompts-gsm8k_rft"
    reader = ProblemReader([str(gsm8k_file)], "gsm8k_rft")
    pipeline = [reader, SynthStep("rft", config, 0, str(stage)), ParquetShardWriter(stage, "x")]
    executor = factory(pipeline=pipeline, tasks=2, logging_dir=str(stage / "logs"))
    assert isinstance(executor, GpuSlurmStageExecutor)
    args = executor.get_sbatch_args(2)
    assert args["gres"] == "gpu:4" and args["partition"] == "gpu" and args["cpus-per-task"] == 16
    script = executor.get_launch_file_contents(args, "launch_pickled_pipeline x")
    assert "#SBATCH --gres=gpu:4" in script
    assert factory(pipeline=[reader, ParquetShardWriter(stage, "x")], tasks=1, logging_dir="l") == "cpu"
    assert len(cpu_calls) == 1
