"""HF Llama/Qwen2 <-> megatron-core conversion: logits equal HF's in fp32, round trips exact.

The model cases run in one subprocess (`hf_convert_worker.py`: the CPU shim patches torch
process-wide, so it stays out of the pytest process); the pure state-dict functions run here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sciloom.corpus.errors import RecipeError
from sciloom.pretrain.hf_import import _fuse_qkv, _split_qkv, _tp_slice, hf_to_mcore, mcore_to_hf
from sciloom.pretrain.model_spec import ModelShape, padded_vocab_size, shape_from_hf_config

HERE = Path(__file__).parent
CASES = ["llama_gqa", "llama_gqa_local_attention", "llama_tied_rope_scaling", "llama_added_tokens",
         "qwen2_qkv_bias", "qwen2_tied_added_tokens"]  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("hf-convert")
    out = root / "report.json"
    done = subprocess.run([sys.executable, str(HERE / "hf_convert_worker.py"), str(out), str(root)],
                          capture_output=True, text=True, timeout=300, env={"PYTHONWARNINGS": "ignore", **__import__("os").environ})  # fmt: skip
    assert done.returncode == 0, done.stderr[-5000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize("case", CASES)
def test_converted_logits_equal_hf_logits_fp32(report, case):
    r = report[case]
    # SDPA on CPU runs the same math kernel as HF's eager/SDPA path: bit-exact; megatron's stock
    # local attention differs by float rounding only
    limit = 1e-5 if case.endswith("local_attention") else 0.0
    assert r["max_logit_diff"] <= limit, r
    assert r["loss_diff"] <= limit, r  # with the vocab padding masked, the loss is HF's exactly


@pytest.mark.parametrize("case", CASES)
def test_round_trip_and_export_are_exact(report, case):
    r = report[case]
    assert r["roundtrip_exact"], r  # HF -> mcore -> HF, tensor for tensor
    assert r["export_matches_hf"], r  # gathered from the live mcore model
    assert r["export_reload_logits_equal"], r  # reloaded by transformers


def test_added_tokens_grow_the_vocab_and_padding_is_dropped_on_export(report):
    assert report["llama_added_tokens"]["export_vocab"] == 512
    assert report["qwen2_tied_added_tokens"]["export_vocab"] == 507
    assert report["qwen2_tied_added_tokens"]["padding_rows"] == 5  # 507 -> 512


def small_shape(**kw) -> ModelShape:
    base = dict(family="llama", vocab_size=10, hidden_size=8, intermediate_size=12, num_hidden_layers=1,
                num_attention_heads=4, num_key_value_heads=2, head_dim=2)  # fmt: skip
    return ModelShape(**{**base, **kw})


def test_qkv_is_interleaved_per_kv_group():
    shape = small_shape()
    q = (
        torch.arange(8).float().repeat_interleave(1).view(8, 1).expand(8, 8).clone()
    )  # rows 0..7: 4 heads x d2
    k = 100 + torch.arange(4).float().view(4, 1).expand(4, 8).clone()
    v = 200 + torch.arange(4).float().view(4, 1).expand(4, 8).clone()
    fused = _fuse_qkv(q, k, v, shape)
    # group 0: q heads 0,1 (rows 0-3), k head 0 (100,101), v head 0 (200,201); then group 1
    assert fused[:, 0].tolist() == [0, 1, 2, 3, 100, 101, 200, 201, 4, 5, 6, 7, 102, 103, 202, 203]
    back = _split_qkv(fused, shape)
    assert all(torch.equal(a, b) for a, b in zip(back, (q, k, v)))


def test_vocab_padding_to_multiple_of_128_times_tp():
    assert padded_vocab_size(1000, 128, 1) == 1024
    assert padded_vocab_size(1000, 128, 2) == 1024
    assert padded_vocab_size(1025, 128, 4) == 1536
    assert padded_vocab_size(128256, 128, 2) == 128256


def test_new_token_rows_are_the_mean_embedding_and_padding_is_zero():
    shape = small_shape()
    g = torch.Generator().manual_seed(0)
    hf = {"model.embed_tokens.weight": torch.randn(10, 8, generator=g), "model.norm.weight": torch.ones(8),
          "lm_head.weight": torch.randn(10, 8, generator=g)}  # fmt: skip
    L = "model.layers.0."
    for name, rows, cols in [("self_attn.q_proj", 8, 8), ("self_attn.k_proj", 4, 8), ("self_attn.v_proj", 4, 8),
                             ("self_attn.o_proj", 8, 8), ("mlp.gate_proj", 12, 8), ("mlp.up_proj", 12, 8),
                             ("mlp.down_proj", 8, 12)]:  # fmt: skip
        hf[L + name + ".weight"] = torch.randn(rows, cols, generator=g)
    hf[L + "input_layernorm.weight"] = torch.ones(8)
    hf[L + "post_attention_layernorm.weight"] = torch.ones(8)
    mc = hf_to_mcore(hf, shape, vocab_size=13, padded_vocab=16)
    emb = mc["embedding.word_embeddings.weight"]
    assert emb.shape == (16, 8)
    assert torch.allclose(emb[10:13], hf["model.embed_tokens.weight"].mean(0).expand(3, 8))
    assert torch.equal(emb[13:], torch.zeros(3, 8))
    assert torch.allclose(mc["output_layer.weight"][10:13], hf["lm_head.weight"].mean(0).expand(3, 8))
    fc1 = mc["decoder.layers.0.mlp.linear_fc1.weight"]
    assert torch.equal(fc1[:12], hf[L + "mlp.gate_proj.weight"])  # gate first
    back = mcore_to_hf(mc, shape.with_vocab(13))
    assert back["model.embed_tokens.weight"].shape == (13, 8)


def test_tp_slicing_keeps_gate_and_up_halves_per_rank():
    full = torch.arange(8).float().view(8, 1)  # gate rows 0-3, up rows 4-7
    rank1 = _tp_slice(full, torch.Size([4, 1]), "decoder.layers.0.mlp.linear_fc1.weight", 1, 2)
    assert rank1[:, 0].tolist() == [2, 3, 6, 7]
    proj = torch.arange(8).float().view(1, 8)  # row-parallel: split the input dimension
    assert _tp_slice(proj, torch.Size([1, 4]), "decoder.layers.0.self_attention.linear_proj.weight", 1, 2)[
        0
    ].tolist() == [4, 5, 6, 7]


def test_unsupported_hf_configs_are_rejected_by_name():
    base = {"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 12,
            "num_hidden_layers": 1, "num_attention_heads": 4}  # fmt: skip
    with pytest.raises(RecipeError, match="rope scaling"):
        shape_from_hf_config({**base, "rope_scaling": {"rope_type": "yarn", "factor": 4.0}})
    with pytest.raises(RecipeError, match="model family 'gpt2'"):
        shape_from_hf_config({**base, "model_type": "gpt2"})
    with pytest.raises(RecipeError, match="attention_bias"):
        shape_from_hf_config({**base, "attention_bias": True})
    ok = shape_from_hf_config({**base, "rope_parameters": {"rope_type": "default", "rope_theta": 5e5}})
    assert (
        ok.rope_theta == 5e5 and ok.rope_scaling is None and ok.num_key_value_heads == 4 and ok.head_dim == 2
    )
