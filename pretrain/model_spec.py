"""Model families: an HF-style architecture description -> megatron-core config and layer spec.

torchtitan plugs a model in through a `ModelSpec` (config, parallelize function, state-dict
adapter); here one registry entry per Hugging Face family says how its `config.json` maps onto a
megatron-core `TransformerConfig` and `GPTModel`, and which weight adapter converts its checkpoint
(`sciloom.pretrain.hf_import`). A model comes either from an HF checkpoint folder (its
`config.json`) or from a named shape below (the same fields, so both paths are one code path).

Mapping (FIELD-NOTES 11): `num_key_value_heads` -> `num_query_groups`, `head_dim` -> `kv_channels`,
`intermediate_size` -> `ffn_hidden_size`, `tie_word_embeddings` ->
`share_embeddings_and_output_weights`, `rope_theta` -> `rotary_base`, Llama-3.1 `llama3` rope
scaling -> `rope_scaling=True` with its factor. RMSNorm, SwiGLU (gate first), no linear biases
(Qwen2: q/k/v biases), dropouts 0.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sciloom.corpus.errors import RecipeError

# megatron-core 0.16.1 passes only the factor of `llama3` rope scaling; the other three parameters
# are fixed to these values (models/common/embeddings/rotary_pos_embedding.py `_apply_scaling`).
MCORE_LLAMA3_ROPE = {
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 8192,
}


@dataclass(frozen=True)
class ModelShape:
    """One decoder-only architecture in Hugging Face terms (the fields of its `config.json`)."""

    family: str
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    max_position_embeddings: int = 4096
    rope_theta: float = 10000.0
    rope_scaling: dict[str, Any] | None = None  # HF `rope_scaling` / `rope_parameters` (non-default only)
    rms_norm_eps: float = 1e-5
    tie_word_embeddings: bool = False
    qkv_bias: bool = False
    hf_config: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def num_params(self) -> int:
        """Parameter count (embeddings counted once when tied), for MFU and logs."""
        h, f, L, v = self.hidden_size, self.intermediate_size, self.num_hidden_layers, self.vocab_size
        q, kv = self.num_attention_heads * self.head_dim, self.num_key_value_heads * self.head_dim
        attn = h * (q + 2 * kv) + q * h + (q + 2 * kv if self.qkv_bias else 0)
        layer = attn + 3 * h * f + 2 * h
        return L * layer + h + v * h * (1 if self.tie_word_embeddings else 2)

    def with_vocab(self, vocab_size: int) -> ModelShape:
        d = asdict(self)
        d["vocab_size"] = vocab_size
        return ModelShape(**d)


@dataclass(frozen=True)
class FamilySpec:
    """How one HF family maps onto megatron-core."""

    name: str
    hf_architecture: str
    qkv_bias: bool


FAMILIES: dict[str, FamilySpec] = {}


def register(spec: FamilySpec) -> FamilySpec:
    FAMILIES[spec.name] = spec
    return spec


register(FamilySpec("llama", "LlamaForCausalLM", qkv_bias=False))
register(FamilySpec("mistral", "MistralForCausalLM", qkv_bias=False))
register(FamilySpec("qwen2", "Qwen2ForCausalLM", qkv_bias=True))


def family(name: str) -> FamilySpec:
    try:
        return FAMILIES[name]
    except KeyError:
        raise RecipeError(
            f"model family {name!r} is not supported (known: {', '.join(sorted(FAMILIES))})"
        ) from None


# Named shapes: the published configs of the models they name (vocab included).
NAMED_SHAPES: dict[str, dict[str, Any]] = {
    # What the CPU tests train: 4 layers so PP=2 splits evenly; GQA 4/2 so TP=2 splits the groups.
    "tiny": dict(
        family="llama", vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=256,
    ),
    # meta-llama/Llama-3.2-1B config.json
    "llama-3.2-1b": dict(
        family="llama", vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
        num_attention_heads=32, num_key_value_heads=8, head_dim=64, max_position_embeddings=131072,
        rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=True,
        rope_scaling={"rope_type": "llama3", "factor": 32.0, **MCORE_LLAMA3_ROPE},
    ),
    # TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T config.json
    "tinyllama-1.1b": dict(
        family="llama", vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
        num_attention_heads=32, num_key_value_heads=4, head_dim=64, max_position_embeddings=2048,
    ),
    # Qwen/Qwen2.5-0.5B config.json
    "qwen2.5-0.5b": dict(
        family="qwen2", vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
        num_attention_heads=14, num_key_value_heads=2, head_dim=64, max_position_embeddings=32768,
        rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True, qkv_bias=True,
    ),
}  # fmt: skip


def named_shape(name: str) -> ModelShape:
    try:
        return ModelShape(**NAMED_SHAPES[name])
    except KeyError:
        known = ", ".join(sorted(NAMED_SHAPES))
        raise RecipeError(f"model.shape {name!r} is not a named shape (known: {known})") from None


def _rope(cfg: dict[str, Any]) -> tuple[float, dict[str, Any] | None]:
    """(rope_theta, scaling) from a transformers 4.x (`rope_theta`, `rope_scaling`) or 5.x
    (`rope_parameters`) config."""
    params = dict(cfg.get("rope_parameters") or {})
    theta = float(params.pop("rope_theta", cfg.get("rope_theta", 10000.0)))
    scaling = dict(cfg.get("rope_scaling") or params or {})
    scaling.pop("rope_theta", None)
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    return theta, (None if kind == "default" else scaling)


def shape_from_hf_config(cfg: dict[str, Any], where: str = "config.json") -> ModelShape:
    """Read an HF `config.json` dict; reject what megatron-core's GPTModel cannot express."""
    model_type = cfg.get("model_type", "")
    spec = family(model_type)
    if cfg.get("hidden_act", "silu") != "silu":
        raise RecipeError(f"{where}: hidden_act {cfg.get('hidden_act')!r} is not supported (silu only)")
    if cfg.get("attention_bias") or cfg.get("mlp_bias"):
        raise RecipeError(f"{where}: attention_bias/mlp_bias on every projection is not supported")
    if cfg.get("use_sliding_window"):
        raise RecipeError(f"{where}: sliding-window attention is not supported")
    theta, scaling = _rope(cfg)
    if scaling is not None:
        kind = scaling.get("rope_type", scaling.get("type"))
        fixed = {k: float(scaling.get(k, v)) for k, v in MCORE_LLAMA3_ROPE.items()}
        if kind != "llama3" or fixed != MCORE_LLAMA3_ROPE:
            raise RecipeError(
                f"{where}: rope scaling {scaling} is not supported; megatron-core supports `llama3` "
                f"scaling with {MCORE_LLAMA3_ROPE}"
            )
    heads = int(cfg["num_attention_heads"])
    return ModelShape(
        family=spec.name,
        vocab_size=int(cfg["vocab_size"]),
        hidden_size=int(cfg["hidden_size"]),
        intermediate_size=int(cfg["intermediate_size"]),
        num_hidden_layers=int(cfg["num_hidden_layers"]),
        num_attention_heads=heads,
        num_key_value_heads=int(cfg.get("num_key_value_heads") or heads),
        head_dim=int(cfg.get("head_dim") or int(cfg["hidden_size"]) // heads),
        max_position_embeddings=int(cfg.get("max_position_embeddings", 4096)),
        rope_theta=theta,
        rope_scaling=scaling,
        rms_norm_eps=float(cfg.get("rms_norm_eps", 1e-6)),
        tie_word_embeddings=bool(cfg.get("tie_word_embeddings", False)),
        qkv_bias=spec.qkv_bias,
        hf_config=dict(cfg),
    )


def load_hf_shape(checkpoint: str | Path) -> ModelShape:
    path = Path(checkpoint) / "config.json"
    if not path.is_file():
        raise RecipeError(f"model.hf_checkpoint: {path} does not exist")
    return shape_from_hf_config(json.loads(path.read_text()), where=str(path))


def padded_vocab_size(vocab_size: int, divisible_by: int, tp: int) -> int:
    """Pad so every TP shard of the embedding has the same rows and a GEMM-friendly size
    (Megatron-LM `_vocab_size_with_padding`: multiple of divisible_by * TP, e.g. 1000 -> 1024)."""
    multiple = divisible_by * tp
    return -(-vocab_size // multiple) * multiple


def transformer_config(shape: ModelShape, *, tp: int, pp: int, dtype: str, sequence_parallel: bool | None = None,
                       recompute: str | None = None, cpu_init: bool = False) -> Any:  # fmt: skip
    """The megatron-core TransformerConfig for `shape` at a TP/PP layout (FIELD-NOTES 9 step 3)."""
    import torch
    from megatron.core.transformer import TransformerConfig

    torch_dtype = {"bf16": torch.bfloat16, "fp32": torch.float32, "fp16": torch.float16}[dtype]
    sp = (tp > 1) if sequence_parallel is None else sequence_parallel
    return TransformerConfig(
        num_layers=shape.num_hidden_layers,
        hidden_size=shape.hidden_size,
        ffn_hidden_size=shape.intermediate_size,
        num_attention_heads=shape.num_attention_heads,
        num_query_groups=shape.num_key_value_heads,
        kv_channels=shape.head_dim,
        normalization="RMSNorm",
        layernorm_epsilon=shape.rms_norm_eps,
        gated_linear_unit=True,
        activation_func=torch.nn.functional.silu,
        add_bias_linear=False,
        add_qkv_bias=shape.qkv_bias,
        hidden_dropout=0.0,
        attention_dropout=0.0,
        tensor_model_parallel_size=tp,
        pipeline_model_parallel_size=pp,
        sequence_parallel=sp and tp > 1,
        bf16=dtype == "bf16",
        fp16=dtype == "fp16",
        params_dtype=torch_dtype,
        pipeline_dtype=torch_dtype,
        # the loss is summed over tokens and divided by the global token count in
        # finalize_model_grads: identical whatever the TP/PP/DP layout and microbatch count
        calculate_per_token_loss=True,
        # fused kernels come from TE/apex or torch.compile; off unless on a GPU (FIELD-NOTES 9)
        bias_activation_fusion=False,
        masked_softmax_fusion=False,
        bias_dropout_fusion=False,
        apply_rope_fusion=False,
        persist_layer_norm=False,
        gradient_accumulation_fusion=False,
        recompute_granularity=recompute,
        recompute_modules=["core_attn"] if recompute == "selective" else None,
        recompute_method="uniform" if recompute == "full" else None,
        recompute_num_layers=1 if recompute == "full" else None,
        use_cpu_initialization=cpu_init,
        init_method_std=float(shape.hf_config.get("initializer_range", 0.02)),
    )


def gpt_model_kwargs(shape: ModelShape, padded_vocab: int, seq_length: int) -> dict[str, Any]:
    """GPTModel constructor arguments besides config, spec and pre/post_process."""
    scaling = shape.rope_scaling
    return dict(
        vocab_size=padded_vocab,
        max_sequence_length=max(seq_length, shape.max_position_embeddings),
        share_embeddings_and_output_weights=shape.tie_word_embeddings,
        position_embedding_type="rope",
        rotary_percent=1.0,
        rotary_base=int(shape.rope_theta),
        rope_scaling=scaling is not None,
        rope_scaling_factor=float(scaling["factor"]) if scaling else 8.0,
    )
