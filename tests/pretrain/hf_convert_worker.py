"""Test worker (one process, gloo, CPU shim): HF -> megatron-core conversion cases.

For each case it builds a small random HF model from a config (no hub), saves it, loads it into a
megatron-core GPTModel with the library's own functions, and records the largest logit difference
on the same input (fp32), whether HF -> mcore -> HF is exact, and whether the model exported from
the megatron-core parameters (gather + save_hf_checkpoint) reloads in transformers bit-exactly.
Writes a JSON report to argv[1]; run in a subprocess because the shim patches torch globally.
"""

import json
import os
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import megatron.core  # noqa: E402,F401
import megatron_cpu_shim  # noqa: E402

megatron_cpu_shim.install()

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM  # noqa: E402

from sciloom.pretrain.hf_import import (  # noqa: E402
    HFCheckpoint,
    gather_full_state,
    hf_to_mcore,
    load_into_model,
    mcore_to_hf,
    save_hf_checkpoint,
)
from sciloom.pretrain.layers import gpt_block_spec  # noqa: E402
from sciloom.pretrain.model_spec import (  # noqa: E402
    gpt_model_kwargs,
    load_hf_shape,
    padded_vocab_size,
    transformer_config,
)
from sciloom.pretrain.trainer import mask_vocab_padding  # noqa: E402

SMALL = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, vocab_size=500, max_position_embeddings=256)  # fmt: skip
LLAMA3_ROPE = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 8192, "rope_theta": 500000.0}  # fmt: skip

CASES = {
    "llama_gqa": (LlamaForCausalLM, LlamaConfig(**SMALL), 0, "sdpa"),
    "llama_gqa_local_attention": (LlamaForCausalLM, LlamaConfig(**SMALL), 0, "local"),
    "llama_tied_rope_scaling": (
        LlamaForCausalLM,
        LlamaConfig(**{**SMALL, "max_position_embeddings": 16384}, tie_word_embeddings=True, rope_parameters=LLAMA3_ROPE),
        0, "sdpa",
    ),
    "llama_added_tokens": (LlamaForCausalLM, LlamaConfig(**SMALL), 12, "sdpa"),
    "qwen2_qkv_bias": (Qwen2ForCausalLM, Qwen2Config(**SMALL, tie_word_embeddings=False), 0, "sdpa"),
    "qwen2_tied_added_tokens": (Qwen2ForCausalLM, Qwen2Config(**SMALL, tie_word_embeddings=True), 7, "sdpa"),
}  # fmt: skip


def randomize(model: torch.nn.Module) -> None:
    # HF initialises norms to 1 and biases to 0: a wrong bias/norm layout would go unseen
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_(
                    1.0 + 0.5 * torch.randn(p.shape, generator=g)
                    if "norm" in name
                    else torch.randn(p.shape, generator=g)
                )
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def grow_with_mean_rows(model: torch.nn.Module, vocab: int) -> None:
    old = model.get_input_embeddings().weight.shape[0]
    model.resize_token_embeddings(vocab, mean_resizing=False)
    with torch.no_grad():
        for emb in {id(e): e for e in (model.get_input_embeddings(), model.get_output_embeddings())}.values():
            emb.weight[old:] = emb.weight[:old].mean(dim=0)


def run_case(name, cls, hf_cfg, added, attention, root: Path) -> dict:
    torch.manual_seed(0)
    hf = cls(hf_cfg).float().eval()
    randomize(hf)
    folder = root / name / "hf"
    hf.save_pretrained(folder)
    shape = load_hf_shape(folder)
    vocab = shape.vocab_size + added
    padded = padded_vocab_size(vocab, 128, 1)
    target = shape.with_vocab(vocab)
    tc = transformer_config(target, tp=1, pp=1, dtype="fp32", cpu_init=True)
    from megatron.core.models.gpt import GPTModel

    model = GPTModel(config=tc, transformer_layer_spec=gpt_block_spec(tc, attention), pre_process=True,
                     post_process=True, **gpt_model_kwargs(target, padded, 64)).eval()  # fmt: skip
    source = HFCheckpoint(folder)
    load_into_model(model, source.__getitem__, shape, vocab, padded, 0, 1, 0)

    if added:
        grow_with_mean_rows(hf, vocab)
    ids = torch.randint(0, vocab, (2, 48), generator=torch.Generator().manual_seed(1))
    if added:
        ids[:, -added:] = torch.arange(shape.vocab_size, vocab)  # the added tokens appear in the input
    pos = torch.arange(ids.shape[1]).unsqueeze(0).expand_as(ids)
    with torch.no_grad():
        ref = hf(input_ids=ids).logits
        ours = model(ids, pos, None)
        masked = mask_vocab_padding(ours.clone(), vocab, 0)
        ref_loss = torch.nn.functional.cross_entropy(ref[:, :-1].reshape(-1, vocab), ids[:, 1:].reshape(-1))
        our_loss = torch.nn.functional.cross_entropy(
            masked[:, :-1].reshape(-1, padded), ids[:, 1:].reshape(-1)
        )
    original = source.state_dict()
    trip = mcore_to_hf(hf_to_mcore(original, shape), shape)
    exported = mcore_to_hf(gather_full_state(model, None, 1, 0), target)
    save_hf_checkpoint(exported, target, root / name / "export", source=folder)
    reloaded = AutoModelForCausalLM.from_pretrained(root / name / "export", dtype=torch.float32).eval()
    with torch.no_grad():
        re_logits = reloaded(input_ids=ids).logits
    hf_sd = hf.state_dict()
    return {
        "max_logit_diff": float((ref - ours[..., :vocab]).abs().max()),
        "loss_diff": float((ref_loss - our_loss).abs()),
        "padding_rows": padded - vocab,
        "roundtrip_exact": set(trip) == set(original)
        and all(torch.equal(trip[k], original[k]) for k in original),
        "export_matches_hf": set(exported) <= set(hf_sd)
        and all(torch.equal(exported[k], hf_sd[k]) for k in exported),
        "export_reload_logits_equal": bool(torch.equal(re_logits, ref)),
        "export_vocab": int(reloaded.config.vocab_size),
    }


def main() -> None:
    out, root = Path(sys.argv[1]), Path(sys.argv[2])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(s.getsockname()[1]))
    dist.init_process_group("gloo", rank=0, world_size=1)
    from megatron.core import parallel_state
    from megatron.core.tensor_parallel import model_parallel_cuda_manual_seed

    parallel_state.initialize_model_parallel(1, 1)
    model_parallel_cuda_manual_seed(0)
    report = {name: run_case(name, *case, root) for name, case in CASES.items()}
    out.write_text(json.dumps(report, indent=2))
    parallel_state.destroy_model_parallel()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
