"""The GPT block spec we train with: megatron-core's local layers, SDPA attention, SP-capable RMSNorm.

Without Transformer Engine or apex, megatron-core's local spec normalises with `WrappedTorchNorm`,
which refuses sequence parallelism (it asserts `not config.sequence_parallel`). Under sequence
parallelism each TP rank normalises a slice of the sequence, so the only extra work is summing the
norm-weight gradients over TP; `finalize_model_grads` does that for every parameter flagged
`sequence_parallel`. `RMSNorm` below is torch's RMSNorm with that flag, so TP runs keep the
activation-memory saving of sequence parallelism.
"""

from __future__ import annotations

from typing import Any

import torch

from sciloom.pretrain.attention import SDPAttention


class RMSNorm(torch.nn.RMSNorm):
    """torch.nn.RMSNorm with megatron's norm constructor; works under sequence parallelism."""

    def __init__(self, config: Any, hidden_size: int, eps: float = 1e-5, persist_layer_norm: bool = False,
                 zero_centered_gamma: bool = False, normalization: str = "RMSNorm"):  # fmt: skip
        super().__init__(hidden_size, eps=eps)
        # finalize_model_grads all-reduces grads of params flagged so over the TP group
        self.weight.sequence_parallel = bool(config.sequence_parallel)


def gpt_block_spec(config: Any, attention: str = "sdpa") -> Any:
    """Block spec for this pipeline stage's layers (call after `initialize_model_parallel`)."""
    from megatron.core.models.gpt.gpt_layer_specs import get_gpt_layer_local_spec
    from megatron.core.transformer.transformer_block import (
        TransformerBlockSubmodules,
        get_num_layers_to_build,
    )

    layer = get_gpt_layer_local_spec(normalization="RMSNorm")
    layer.submodules.input_layernorm = RMSNorm
    layer.submodules.pre_mlp_layernorm = RMSNorm
    if attention == "sdpa":
        layer.submodules.self_attention.submodules.core_attention = SDPAttention
    elif attention != "local":
        raise ValueError(f"attention must be 'sdpa' or 'local', got {attention!r}")
    return TransformerBlockSubmodules(
        layer_specs=[layer] * get_num_layers_to_build(config), layer_norm=RMSNorm
    )
