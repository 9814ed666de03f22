"""Run the real pretrain launcher under torchrun on CPU and read its metrics (used by the tests).

A module beside the tests rather than conftest.py, so that test files import it by a unique name
(`from pretrain_runs import run_pretrain`) whatever other test folders are collected with them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).parent
REPO = HERE.parents[1]
ENTRY = HERE / "pretrain_entry.py"
TINY_TOML = REPO / "examples" / "pretrain-tiny.toml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunResult:
    returncode: int
    output: str
    out_dir: Path
    rows: list[dict] = field(default_factory=list)

    @property
    def losses(self) -> dict[int, float]:
        """step -> loss (the last record of a step wins: a resumed run appends)."""
        return {r["step"]: r["loss"] for r in self.rows if "loss" in r}

    def events(self, name: str) -> list[dict]:
        return [r for r in self.rows if r.get("event") == name]

    def val_losses(self) -> dict[int, float]:
        return {r["step"]: r["val_loss"] for r in self.rows if "val_loss" in r}


def read_rows(out_dir: Path) -> list[dict]:
    path = out_dir / "metrics.jsonl"
    return (
        [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    )


def torchrun_cmd(out_dir: Path, sets: list[str], nproc: int = 2, extra: tuple[str, ...] = ()) -> list[str]:
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}", f"--master_port={free_port()}",
           str(ENTRY), str(TINY_TOML), "--set", f"logging.out_dir='{out_dir}'"]  # fmt: skip
    for s in sets:
        cmd += ["--set", s]
    return cmd + list(extra)


def run_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1", "TORCH_ELASTIC_SHUTDOWN_TIMEOUT": "120",
            "TOKENIZERS_PARALLELISM": "false", **extra}  # fmt: skip


def run_pretrain(out_dir: Path, sets: list[str], nproc: int = 2, timeout: float = 240,
                 extra: tuple[str, ...] = ()) -> RunResult:  # fmt: skip
    done = subprocess.run(torchrun_cmd(out_dir, sets, nproc, extra), capture_output=True, text=True, timeout=timeout,
                          env=run_env(), cwd=REPO)  # fmt: skip
    result = RunResult(done.returncode, done.stdout + done.stderr, out_dir, read_rows(out_dir))
    assert result.returncode == 0, result.output[-6000:]
    return result


def run_and_sigterm(out_dir: Path, sets: list[str], after_step: int, timeout: float = 240) -> RunResult:
    """Start a run, send SIGTERM to torchrun (as Slurm does) once `after_step` is logged, wait."""
    proc = subprocess.Popen(torchrun_cmd(out_dir, sets), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=run_env(SCILOOM_TEST_STEP_SLEEP="1.0"), cwd=REPO, start_new_session=True)  # fmt: skip
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if any(r.get("step", 0) >= after_step and "loss" in r for r in read_rows(out_dir)):
            proc.send_signal(signal.SIGTERM)
            break
        time.sleep(0.1)
    output, _ = proc.communicate(timeout=max(1, deadline - time.time()))
    return RunResult(proc.returncode, output, out_dir, read_rows(out_dir))
