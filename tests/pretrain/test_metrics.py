"""FLOPs per token (Megatron-LM's formula), TFLOP/s per GPU and MFU, and the JSONL log."""

from __future__ import annotations

import json

import pytest

from sciloom.pretrain.metrics import MetricsLogger, StepMetrics, flops_per_token
from sciloom.pretrain.model_spec import named_shape


def test_llama_3_2_1b_flops_per_token_at_4096():
    shape = named_shape("llama-3.2-1b")
    assert shape.num_params == 1_235_814_400  # the published 1.24B
    # 6L(h(q+2k)+qh) + 6Lqs + 18Lhf + 6hV with L16 h2048 q2048 k512 f8192 s4096 V128256
    expected = (
        6 * 16 * (2048 * 3072 + 2048 * 2048)
        + 6 * 16 * 2048 * 4096
        + 18 * 16 * 2048 * 8192
        + 6 * 2048 * 128256
    )
    assert flops_per_token(shape, 4096, 128256) == expected == 8_219_787_264
    # = 6N plus the attention-score term (the embedding lookup costs no FLOPs but 6N counts it)
    assert (
        expected
        == 6 * (shape.num_params - 128256 * 2048 - 16 * 2 * 2048 - 2048)
        + 6 * 16 * 2048 * 4096
        + 6 * 2048 * 128256
    )


def test_mfu_and_jsonl(tmp_path):
    log = MetricsLogger(tmp_path, flops_per_token=8e9, world_size=8, peak_tflops=1000.0, tensorboard=False)
    row = log.log(StepMetrics(step=3, loss=2.5, lr=1e-4, grad_norm=0.7, tokens=512 * 1024, step_time_s=2.0,
                              consumed_samples=384))  # fmt: skip
    log.close()
    assert row["tokens_per_s"] == 262144.0
    assert row["tflops_per_gpu"] == pytest.approx(262144 * 8e9 / 8 / 1e12)
    assert row["mfu"] == pytest.approx(row["tflops_per_gpu"] / 1000.0, abs=1e-6)
    (line,) = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert json.loads(line)["step"] == 3 and json.loads(line)["grad_norm"] == 0.7
