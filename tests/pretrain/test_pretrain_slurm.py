"""Slurm scripts: `sciloom pretrain --slurm --dry-run` for 1 and 4 nodes, and the script file."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from sciloom.corpus.cli.main import main
from sciloom.corpus.errors import RecipeError
from sciloom.pretrain.config import load_config
from sciloom.pretrain.slurm import render_sbatch, write_sbatch

REPO = Path(__file__).resolve().parents[2]
LLAMA_1B = REPO / "examples" / "pretrain-llama-1b.toml"
TINY = REPO / "examples" / "pretrain-tiny.toml"


def dry_run(capsys, *args: str) -> str:
    assert main(["pretrain", str(LLAMA_1B), "--slurm", "--dry-run", *args]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("nodes", [1, 4])
def test_dry_run_script_launches_torchrun_on_every_node(capsys, nodes):
    out = dry_run(capsys, "--nodes", str(nodes), "--gpus-per-node", "8")
    script, _, resolved = out.partition("# resolved config")
    assert script.startswith("#!/bin/bash\n")
    assert f"#SBATCH --nodes={nodes}\n" in script
    assert "#SBATCH --ntasks-per-node=1\n" in script and "#SBATCH --gpus-per-node=8\n" in script
    assert "#SBATCH --signal=TERM@120\n" in script and "#SBATCH --requeue\n" in script
    assert f"--nnodes={nodes} --nproc_per_node=8" in script
    assert '--rdzv_backend=c10d --rdzv_endpoint="$HEAD:29500" --rdzv_id="$SLURM_JOB_ID"' in script
    assert 'HEAD=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)' in script
    assert f"-m sciloom.pretrain.launch {LLAMA_1B.resolve()}" in script
    for env in ("CUDA_DEVICE_MAX_CONNECTIONS=1", "TORCH_NCCL_AVOID_RECORD_STREAMS=1",
                "PYTORCH_ALLOC_CONF=expandable_segments:True", "TORCH_ELASTIC_SHUTDOWN_TIMEOUT=110"):  # fmt: skip
        assert f"export {env}\n" in script
    # after a preemption save, the job requeues itself and resumes from the checkpoint
    assert re.search(r'if \[ -f \S+/preempted \]; then\n.*\n  scontrol requeue "\$SLURM_JOB_ID"', script)
    assert '"shape": "llama-3.2-1b"' in resolved and '"seq_length": 4096' in resolved
    bash = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert bash.returncode == 0, bash.stderr


def test_dry_run_rejects_a_layout_that_does_not_fit_the_allocation(capsys):
    # the 1B example uses TP 1; forcing TP 8 on 1 GPU per node x 2 nodes cannot be laid out
    assert main(["pretrain", str(LLAMA_1B), "--slurm", "--dry-run", "--nodes", "2", "--gpus-per-node", "1",
                 "--set", "parallel.tensor=8"]) == 2  # fmt: skip
    assert "parallel.tensor=8" in capsys.readouterr().err


def test_overrides_and_cpu_jobs_are_rendered(tmp_path):
    cfg = load_config(TINY, {"logging": {"out_dir": str(tmp_path / "run")}})
    script = render_sbatch(cfg, TINY, nodes=1, gpus_per_node=0, overrides=["training.train_iters=3"])
    assert "--gpus-per-node" not in script and "--nproc_per_node=2" in script
    assert """--set training.train_iters=3 --set 'launch.backend='"'"'gloo'"'"''""" in script
    assert f"#SBATCH --output={tmp_path / 'run'}/slurm/%x-%j.out" in script
    path = write_sbatch(
        cfg, TINY, tmp_path / "job.sbatch", nodes=1, gpus_per_node=0, python="/opt/py/bin/python"
    )
    assert path.read_text().count("/opt/py/bin/python -m torch.distributed.run") == 1
    assert path.stat().st_mode & 0o111


def test_local_dry_run_prints_the_torchrun_command(capsys):
    assert main(["pretrain", str(TINY), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "-m torch.distributed.run --standalone --nproc_per_node=2 -m sciloom.pretrain.launch" in out
    assert '"backend": "gloo"' in out


def test_config_errors_exit_2_with_the_key(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(TINY.read_text().replace("[training]", "[training]\nbatch = 3"))
    assert main(["pretrain", str(bad), "--dry-run"]) == 2
    assert "training.batch" in capsys.readouterr().err
    with pytest.raises(RecipeError):
        load_config(bad)


def test_export_dry_run_runs_one_process_resharded_to_tp1(capsys):
    assert (
        main(["pretrain", str(TINY), "--set", "parallel.tensor=2", "--export-hf", "/tmp/hf-out", "--dry-run"])
        == 0
    )
    cmd = capsys.readouterr().out.splitlines()[0]
    assert "--nproc_per_node=1" in cmd and cmd.endswith("--export-hf /tmp/hf-out")
    assert "--set parallel.tensor=2 --set parallel.tensor=1 --set parallel.pipeline=1" in cmd
