"""Hugging Face Llama/Qwen2 checkpoints <-> megatron-core GPTModel state dicts.

Names (FIELD-NOTES 11): HF `model.layers.i.self_attn.` -> mcore `decoder.layers.i.self_attention.`;
`embed_tokens` -> `embedding.word_embeddings` (padded), `lm_head` -> `output_layer` (absent when
tied), `norm` -> `decoder.final_layernorm`, `post_attention_layernorm` -> `pre_mlp_layernorm`,
`o_proj` -> `linear_proj`, `down_proj` -> `linear_fc2`, `[gate_proj; up_proj]` -> `linear_fc1`
(gate first). q/k/v are fused into `linear_qkv` interleaved per KV group: for each group its query
heads, then its key head, then its value head (a plain [Q;K;V] gives wrong logits); Qwen2's biases
use the same layout. HF's rotate-half RoPE is megatron's non-interleaved RoPE, so no permutation.

Vocabulary: tokens added to the tokenizer (special tokens for our markup) grow the embedding to
the tokenizer's size, new rows initialised to the mean embedding (Hewitt 2021: keeps the new
tokens' initial distribution close to the model's, where zeros or random rows spike the loss);
then rows are padded to a multiple of 128 x TP with zeros (megatron's vocab padding), and the
padding is dropped again on export.

The "full" mcore state dict here is the TP=1, PP=1 one with global layer numbers; `load_into_model`
slices it for one rank's shard (TP split dimension read from the shapes, PP layer offset), reading
only the tensors that rank needs from the safetensors files.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import torch

from sciloom.corpus.errors import RecipeError
from sciloom.pretrain.model_spec import FAMILIES, ModelShape

Getter = Callable[[str], torch.Tensor]

_LAYER_MAP = {
    "input_layernorm.weight": "input_layernorm.weight",
    "self_attention.linear_proj.weight": "self_attn.o_proj.weight",
    "pre_mlp_layernorm.weight": "post_attention_layernorm.weight",
    "mlp.linear_fc2.weight": "mlp.down_proj.weight",
}
_LAYER_RE = re.compile(r"^decoder\.layers\.(\d+)\.(.+)$")


def mcore_names(shape: ModelShape) -> list[str]:
    """Parameter names of the full (TP=1, PP=1) GPTModel for `shape`."""
    names = ["embedding.word_embeddings.weight"]
    for i in range(shape.num_hidden_layers):
        p = f"decoder.layers.{i}."
        names += [p + "input_layernorm.weight", p + "self_attention.linear_qkv.weight"]
        if shape.qkv_bias:
            names.append(p + "self_attention.linear_qkv.bias")
        names += [p + k for k in ("self_attention.linear_proj.weight", "pre_mlp_layernorm.weight")]
        names += [p + "mlp.linear_fc1.weight", p + "mlp.linear_fc2.weight"]
    names.append("decoder.final_layernorm.weight")
    if not shape.tie_word_embeddings:
        names.append("output_layer.weight")
    return names


def _resize_rows(weight: torch.Tensor, vocab_size: int, padded_vocab: int) -> torch.Tensor:
    """Grow to `vocab_size` with mean rows (added tokens), then zero-pad to `padded_vocab`."""
    if vocab_size < weight.shape[0]:
        raise RecipeError(f"tokenizer vocab {vocab_size} is smaller than the model's {weight.shape[0]} rows")
    out = weight.new_zeros((padded_vocab, weight.shape[1]))
    out[: weight.shape[0]] = weight
    if vocab_size > weight.shape[0]:
        out[weight.shape[0] : vocab_size] = weight.float().mean(dim=0).to(weight.dtype)
    return out


def _fuse_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, shape: ModelShape) -> torch.Tensor:
    groups, d = shape.num_key_value_heads, shape.head_dim
    per_group = shape.num_attention_heads // groups
    tail = q.shape[1:]  # (hidden,) for weights, () for biases
    q = q.reshape(groups, per_group * d, *tail)
    k, v = k.reshape(groups, d, *tail), v.reshape(groups, d, *tail)
    return torch.cat([q, k, v], dim=1).reshape(-1, *tail)


def _split_qkv(qkv: torch.Tensor, shape: ModelShape) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    groups, d = shape.num_key_value_heads, shape.head_dim
    per_group = shape.num_attention_heads // groups
    tail = qkv.shape[1:]
    g = qkv.reshape(groups, (per_group + 2) * d, *tail)
    q, k, v = torch.split(g, [per_group * d, d, d], dim=1)
    return q.reshape(-1, *tail), k.reshape(-1, *tail), v.reshape(-1, *tail)


def mcore_tensor(
    name: str, get: Getter, shape: ModelShape, vocab_size: int, padded_vocab: int
) -> torch.Tensor:
    """One full mcore parameter built from HF tensors fetched by `get(hf_name)`."""
    if name == "embedding.word_embeddings.weight":
        return _resize_rows(get("model.embed_tokens.weight"), vocab_size, padded_vocab)
    if name == "output_layer.weight":
        src = "model.embed_tokens.weight" if shape.tie_word_embeddings else "lm_head.weight"
        return _resize_rows(get(src), vocab_size, padded_vocab)
    if name == "decoder.final_layernorm.weight":
        return get("model.norm.weight")
    m = _LAYER_RE.match(name)
    if not m:
        raise KeyError(name)
    i, rest = m.groups()
    hf = f"model.layers.{i}."
    if rest in _LAYER_MAP:
        return get(hf + _LAYER_MAP[rest])
    if rest.startswith("self_attention.linear_qkv."):
        kind = rest.rsplit(".", 1)[1]  # weight | bias
        qkv = [get(f"{hf}self_attn.{p}_proj.{kind}") for p in "qkv"]
        return _fuse_qkv(*qkv, shape)
    if rest == "mlp.linear_fc1.weight":
        return torch.cat([get(hf + "mlp.gate_proj.weight"), get(hf + "mlp.up_proj.weight")], dim=0)
    raise KeyError(name)


def hf_to_mcore(hf: dict[str, torch.Tensor], shape: ModelShape, vocab_size: int | None = None,
                padded_vocab: int | None = None) -> dict[str, torch.Tensor]:  # fmt: skip
    """Whole HF state dict -> full mcore state dict (vocab grown to `vocab_size`, padded)."""
    vocab_size = vocab_size or shape.vocab_size
    padded_vocab = padded_vocab or vocab_size
    return {n: mcore_tensor(n, hf.__getitem__, shape, vocab_size, padded_vocab) for n in mcore_names(shape)}


def mcore_to_hf(mc: dict[str, torch.Tensor], shape: ModelShape) -> dict[str, torch.Tensor]:
    """Full mcore state dict -> HF state dict, vocab padding dropped (`shape.vocab_size` rows kept)."""
    v = shape.vocab_size
    out = {"model.embed_tokens.weight": mc["embedding.word_embeddings.weight"][:v].clone()}
    for i in range(shape.num_hidden_layers):
        p, hf = f"decoder.layers.{i}.", f"model.layers.{i}."
        for mk, hk in _LAYER_MAP.items():
            out[hf + hk] = mc[p + mk].clone()
        kinds = ["weight", "bias"] if shape.qkv_bias else ["weight"]
        for kind in kinds:
            q, k, vv = _split_qkv(mc[f"{p}self_attention.linear_qkv.{kind}"], shape)
            for proj, t in zip("qkv", (q, k, vv)):
                out[f"{hf}self_attn.{proj}_proj.{kind}"] = t.clone()
        gate, up = mc[p + "mlp.linear_fc1.weight"].chunk(2, dim=0)
        out[hf + "mlp.gate_proj.weight"], out[hf + "mlp.up_proj.weight"] = gate.clone(), up.clone()
    out["model.norm.weight"] = mc["decoder.final_layernorm.weight"].clone()
    if not shape.tie_word_embeddings:
        out["lm_head.weight"] = mc["output_layer.weight"][:v].clone()
    return out


# --- checkpoint files --------------------------------------------------------------------------


class HFCheckpoint:
    """Lazy reader of an HF checkpoint folder's tensors (safetensors, sharded or not)."""

    def __init__(self, folder: str | Path):
        from safetensors import safe_open

        self.folder = Path(folder)
        index = self.folder / "model.safetensors.index.json"
        if index.is_file():
            weight_map = json.loads(index.read_text())["weight_map"]
            files = sorted(set(weight_map.values()))
        elif (self.folder / "model.safetensors").is_file():
            files = ["model.safetensors"]
        else:
            raise RecipeError(f"model.hf_checkpoint: no model.safetensors(.index.json) in {self.folder}")
        self._handles = {f: safe_open(str(self.folder / f), framework="pt") for f in files}
        self._where = {k: f for f, h in self._handles.items() for k in h.keys()}

    def keys(self) -> Iterable[str]:
        return self._where.keys()

    def __getitem__(self, name: str) -> torch.Tensor:
        try:
            return self._handles[self._where[name]].get_tensor(name)
        except KeyError:
            raise RecipeError(f"{self.folder}: tensor {name} missing from the checkpoint") from None

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: self[k] for k in self.keys()}


def save_hf_checkpoint(hf: dict[str, torch.Tensor], shape: ModelShape, out_dir: str | Path,
                       source: str | Path | None = None, dtype: torch.dtype | None = None) -> Path:  # fmt: skip
    """Write `config.json` + `model.safetensors` loadable by transformers; copy tokenizer files
    from the `source` checkpoint when given."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tensors = {k: (v.to(dtype) if dtype else v).contiguous() for k, v in hf.items()}
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    cfg = dict(shape.hf_config) if shape.hf_config else hf_config_dict(shape)
    cfg["vocab_size"] = shape.vocab_size
    cfg["architectures"] = [FAMILIES[shape.family].hf_architecture]
    cfg["torch_dtype"] = str(next(iter(tensors.values())).dtype).replace("torch.", "")
    cfg.pop("dtype", None)
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    if source is not None:
        for f in Path(source).iterdir():
            if (
                f.name.startswith(("tokenizer", "special_tokens_map", "generation_config"))
                or f.suffix == ".model"
            ):
                shutil.copy2(f, out / f.name)
    return out


def hf_config_dict(shape: ModelShape) -> dict:
    """An HF `config.json` for a named shape (no source checkpoint)."""
    cfg = {
        "model_type": shape.family,
        "hidden_act": "silu",
        "hidden_size": shape.hidden_size,
        "intermediate_size": shape.intermediate_size,
        "num_hidden_layers": shape.num_hidden_layers,
        "num_attention_heads": shape.num_attention_heads,
        "num_key_value_heads": shape.num_key_value_heads,
        "head_dim": shape.head_dim,
        "max_position_embeddings": shape.max_position_embeddings,
        "rms_norm_eps": shape.rms_norm_eps,
        "rope_theta": shape.rope_theta,
        "tie_word_embeddings": shape.tie_word_embeddings,
        "vocab_size": shape.vocab_size,
    }
    if shape.rope_scaling:
        cfg["rope_scaling"] = dict(shape.rope_scaling)
    return cfg


# --- rank-local loading ------------------------------------------------------------------------


def _tp_slice(full: torch.Tensor, local_shape: torch.Size, name: str, tp_rank: int, tp: int) -> torch.Tensor:
    if full.shape == local_shape:
        return full
    dims = [d for d in range(full.dim()) if full.shape[d] != local_shape[d]]
    if len(dims) != 1 or full.shape[dims[0]] != local_shape[dims[0]] * tp:
        raise ValueError(f"{name}: cannot shard {tuple(full.shape)} into {tuple(local_shape)} at TP={tp}")
    dim = dims[0]
    if name.endswith("mlp.linear_fc1.weight"):
        # each TP rank holds [gate_r; up_r], not a contiguous slice of [gate; up]
        gate, up = full.chunk(2, dim=0)
        return torch.cat([gate.chunk(tp, dim=0)[tp_rank], up.chunk(tp, dim=0)[tp_rank]], dim=0)
    return full.chunk(tp, dim=dim)[tp_rank]


@torch.no_grad()
def load_into_model(model: torch.nn.Module, get: Getter, shape: ModelShape, vocab_size: int, padded_vocab: int,
                    tp_rank: int, tp: int, layer_offset: int) -> int:  # fmt: skip
    """Copy HF weights into one rank's (unwrapped) GPTModel shard; returns tensors loaded."""
    loaded = 0
    for local_name, param in model.named_parameters():
        m = _LAYER_RE.match(local_name)
        name = f"decoder.layers.{int(m.group(1)) + layer_offset}.{m.group(2)}" if m else local_name
        if name == "output_layer.weight" and shape.tie_word_embeddings:
            full = mcore_tensor("embedding.word_embeddings.weight", get, shape, vocab_size, padded_vocab)
        else:
            full = mcore_tensor(name, get, shape, vocab_size, padded_vocab)
        param.copy_(_tp_slice(full, param.shape, name, tp_rank, tp).to(param.dtype))
        loaded += 1
    return loaded


@torch.no_grad()
def gather_full_state(
    model: torch.nn.Module, tp_group, tp: int, layer_offset: int
) -> dict[str, torch.Tensor]:
    """This PP stage's parameters at TP=1 with global layer numbers (all-gathered over TP)."""
    import torch.distributed as dist

    out = {}
    for local_name, param in model.named_parameters():
        m = _LAYER_RE.match(local_name)
        name = f"decoder.layers.{int(m.group(1)) + layer_offset}.{m.group(2)}" if m else local_name
        t = param.detach().float().cpu() if param.device.type == "cpu" else param.detach().float()
        if tp > 1 and getattr(param, "tensor_model_parallel", False):
            parts = [torch.empty_like(t) for _ in range(tp)]
            dist.all_gather(parts, t.contiguous(), group=tp_group)
            dim = param.partition_dim
            if name.endswith("mlp.linear_fc1.weight"):
                halves = [p.chunk(2, dim=0) for p in parts]
                t = torch.cat([h[0] for h in halves] + [h[1] for h in halves], dim=0)
            else:
                t = torch.cat(parts, dim=dim)
        out[name] = t.cpu()
    return out
