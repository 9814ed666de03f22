"""Training metrics: loss, LR, grad norm, tokens/s, TFLOP/s per GPU and MFU.

Written by rank 0 to the log (stdout via logging), to `OUT/metrics.jsonl` (one JSON object per
logged step), and to TensorBoard / Weights & Biases when installed and enabled.

FLOPs per token (Megatron-LM `num_floating_point_operations`, training.py, for a dense decoder with
causal attention; forward + backward = 3 x forward, 2 FLOPs per multiply-add):

    F = 6·L·(h·(q + 2k) + q·h)      q/k/v and output projections
      + 6·L·q·s                     QK^T and AV (12·q·s per token, halved by the causal mask)
      + 18·L·h·f                    SwiGLU MLP: three h x f matrices
      + 6·h·V                       output layer (logits)

with L layers, hidden h, q = heads·head_dim, k = kv_groups·head_dim, FFN size f, sequence s,
padded vocabulary V. FLOPs per step = F · global_batch · s; TFLOP/s per GPU = that / step time /
world size; MFU = TFLOP/s per GPU / peak (H100 SXM dense bf16: 989.4). Recomputation is not
counted (model FLOPs, not hardware FLOPs). For Llama-3.2-1B at s=4096, F = 8.22 GFLOP/token, about
6·N·(1 + 11%) for its 1.24B parameters.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sciloom.pretrain.model_spec import ModelShape

logger = logging.getLogger(__name__)


def flops_per_token(shape: ModelShape, seq_length: int, padded_vocab: int) -> float:
    """Model FLOPs (forward + backward) per trained token; formula in the module docstring."""
    L, h, f = shape.num_hidden_layers, shape.hidden_size, shape.intermediate_size
    q = shape.num_attention_heads * shape.head_dim
    k = shape.num_key_value_heads * shape.head_dim
    attention = 6 * L * (h * (q + 2 * k) + q * h) + 6 * L * q * seq_length
    return float(attention + 18 * L * h * f + 6 * h * padded_vocab)


@dataclass
class StepMetrics:
    step: int
    loss: float
    lr: float
    grad_norm: float | None
    tokens: int  # tokens in this step's global batch
    step_time_s: float
    consumed_samples: int
    skipped: bool = False


class MetricsLogger:
    """Rank-0 sink for step metrics: logging, JSONL, optional TensorBoard."""

    def __init__(self, out_dir: Path, flops_per_token: float, world_size: int, peak_tflops: float,
                 tensorboard: bool = True, enabled: bool = True, wandb_project: str | None = None):  # fmt: skip
        self.enabled = enabled
        self.flops_per_token = flops_per_token
        self.world_size = world_size
        self.peak_tflops = peak_tflops
        self._jsonl = None
        self._tb = None
        self._wandb = None
        if not enabled:
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        self._jsonl = open(out_dir / "metrics.jsonl", "a", buffering=1)  # noqa: SIM115 - closed in close()
        if wandb_project:
            try:
                import wandb

                self._wandb = wandb.init(project=wandb_project, dir=str(out_dir))
            except ImportError:  # W&B is optional
                logger.warning("logging.wandb_project is set but wandb is not installed")
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(out_dir / "tensorboard"))
            except ImportError:  # tensorboard is optional
                self._tb = None

    def derived(self, m: StepMetrics) -> dict[str, Any]:
        tokens_per_s = m.tokens / m.step_time_s if m.step_time_s > 0 else 0.0
        tflops = tokens_per_s * self.flops_per_token / self.world_size / 1e12
        return {
            "step": m.step,
            "loss": m.loss,
            "lr": m.lr,
            "grad_norm": m.grad_norm,
            "tokens": m.tokens,
            "consumed_samples": m.consumed_samples,
            "step_time_s": round(m.step_time_s, 6),
            "tokens_per_s": round(tokens_per_s, 2),
            "tflops_per_gpu": round(tflops, 4),
            "mfu": round(tflops / self.peak_tflops, 6),
            "skipped": m.skipped,
            "time": time.time(),
        }

    def log(self, m: StepMetrics) -> dict[str, Any]:
        row = self.derived(m)
        if not self.enabled:
            return row
        gn = "n/a" if m.grad_norm is None else f"{m.grad_norm:.4f}"
        logger.info(
            "step %d | loss %.6f | lr %.3e | grad norm %s | %.0f tok/s | %.1f TFLOP/s/GPU | MFU %.1f%%",
            m.step, m.loss, m.lr, gn, row["tokens_per_s"], row["tflops_per_gpu"], 100 * row["mfu"],
        )  # fmt: skip
        self._jsonl.write(json.dumps(row) + "\n")
        if self._wandb is not None:
            self._wandb.log(
                {f"train/{k}": v for k, v in row.items() if isinstance(v, (int, float))}, step=m.step
            )
        if self._tb is not None:
            for key in ("loss", "lr", "grad_norm", "tokens_per_s", "tflops_per_gpu", "mfu"):
                if row[key] is not None:
                    self._tb.add_scalar(f"train/{key}", row[key], m.step)
        return row

    def log_eval(self, step: int, loss: float) -> None:
        if not self.enabled:
            return
        logger.info("step %d | validation loss %.6f", step, loss)
        self._jsonl.write(json.dumps({"step": step, "val_loss": loss, "time": time.time()}) + "\n")
        if self._wandb is not None:
            self._wandb.log({"val/loss": loss}, step=step)
        if self._tb is not None:
            self._tb.add_scalar("val/loss", loss, step)

    def log_event(self, **fields: Any) -> None:
        if self.enabled:
            self._jsonl.write(json.dumps({**fields, "time": time.time()}) + "\n")

    def close(self) -> None:
        if self._jsonl is not None:
            self._jsonl.close()
            self._jsonl = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None
        if self._wandb is not None:
            self._wandb.finish()
            self._wandb = None
