"""Fixtures of the pretrain tests: tiny .bin/.idx data, a tiny HF Llama checkpoint, torchrun runs.

Every training test runs the real launcher (`sciloom.pretrain.launch.main`) under
`torchrun --nproc_per_node 2` on CPU with gloo, through `pretrain_entry.py`, which installs the
test-only megatron-core CPU shim first (FIELD-NOTES 9).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
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
