"""Fixtures of the pretrain tests: tiny .bin/.idx data, a tiny HF Llama checkpoint, torchrun runs.

Every training test runs the real launcher (`sciloom.pretrain.launch.main`) under
`torchrun --nproc_per_node 2` on CPU with gloo, through `pretrain_entry.py`, which installs the
test-only megatron-core CPU shim first (FIELD-NOTES 9).
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

import pytest

HERE = Path(__file__).parent
REPO = HERE.parents[1]
ENTRY = HERE / "pretrain_entry.py"
TINY_TOML = REPO / "examples" / "pretrain-tiny.toml"
sys.path.insert(0, str(HERE))


@pytest.fixture(scope="session")
def tiny_blend(tmp_path_factory) -> list[str]:
    from tiny_data import write_tiny_blend

    return write_tiny_blend(tmp_path_factory.mktemp("pretrain-data"))


@pytest.fixture(scope="session")
def tiny_hf_llama(tmp_path_factory) -> Path:
    """A random 4-layer Llama (GQA 4/2, tied embeddings) with 500 tokens: the null tokenizer's 512
    ids add 12 tokens (EOD among them), grown with mean rows."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=500, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      tie_word_embeddings=True)  # fmt: skip
    folder = tmp_path_factory.mktemp("hf-llama")
    LlamaForCausalLM(cfg).save_pretrained(folder)
    return folder


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


@pytest.fixture(scope="session")
def base_sets(tiny_blend, tiny_hf_llama) -> list[str]:
    """Every training test continues the same HF checkpoint on the same data (fp32, 6 steps)."""
    return [
        f"data.prefixes={json.dumps(tiny_blend)}",
        f"model.hf_checkpoint='{tiny_hf_llama}'",
        "model.shape=''",
        "model.make_vocab_size_divisible_by=100",  # 512 ids -> 600 rows: 88 padding rows to mask
        "model.step0_tolerance=1e-4",
        "training.eval_interval=6",
        "optimizer.lr=0.01",
        "optimizer.min_lr=0.001",
    ]
