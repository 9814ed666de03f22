"""GPU benchmark: MFU of `sciloom pretrain` at the Llama-3.2-1B shape (bf16, seq 4096), vs the stock attention.

Run by hand on a GPU node (never in the test suite), from the repository root:

    .venv/bin/python bench/pretrain_mfu.py --gpus 1 --out /tmp/mfu
    .venv/bin/python bench/pretrain_mfu.py --cpu-attention    # CPU-only stand-in: attention module

It writes random-token Megatron data (int32, vocab 128256), then launches the real CLI
(`sciloom pretrain RUN.toml`, torchrun on this node) twice in the same session:
  1. sciloom: SDPA attention, micro-batch 4, 4 accumulation steps per GPU, seq 4096;
  2. peer: megatron-core's stock local `DotProductAttention` (what the local spec gives without
     Transformer Engine) at the largest setting FIELD-NOTES 10 found to fit (seq 2048, mbs 2).
Each run does 3 warm-up steps and 8 timed steps; the median tokens/s, TFLOP/s per GPU and MFU of the
timed steps are printed as a Markdown table row. MFU uses the formula in `sciloom.pretrain.metrics`
(Megatron-LM's `num_floating_point_operations`, causal attention counted once) against 989.4 TFLOP/s
(H100 SXM dense bf16); pass --peak for another card. Target (issue 8): >= 45% on one H100.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

WARMUP, TIMED = 3, 8


def write_random_tokens(prefix: Path, num_tokens: int, vocab: int, seed: int = 0) -> None:
    from megatron.core.datasets.indexed_dataset import IndexedDatasetBuilder

    prefix.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    builder = IndexedDatasetBuilder(str(prefix) + ".bin", dtype=np.int32)
    doc = 8192
    for _ in range(num_tokens // doc):
        ids = rng.integers(0, vocab - 1, size=doc, dtype=np.int32)
        ids[-1] = vocab - 1  # EOD of the null tokenizer
        builder.add_document(ids, [doc])
    builder.finalize(str(prefix) + ".idx")


def run_config(
    out: Path, name: str, *, attention: str, seq: int, mbs: int, gbs: int, gpus: int, peak: float
) -> Path:
    toml = out / f"{name}.toml"
    toml.write_text(f"""
[model]
shape = "llama-3.2-1b"
vocab_size = 128256
attention = "{attention}"
[parallel]
tensor = 1
pipeline = 1
[training]
micro_batch_size = {mbs}
global_batch_size = {gbs}
seq_length = {seq}
train_iters = {WARMUP + TIMED}
precision = "bf16"
log_interval = 1
[optimizer]
lr = 1e-4
min_lr = 1e-5
warmup_iters = 2
[data]
prefixes = ["{out / "data" / "random"}"]
tokenizer_library = "null"
null_vocab_size = 128256
split = "100,0,0"
num_workers = 2
[checkpoint]
save_on_exit = false
[logging]
out_dir = "{out / name}"
tensorboard = false
peak_tflops = {peak}
[launch]
nproc_per_node = {gpus}
backend = "nccl"
""")
    return toml


def measure(toml: Path, out_dir: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "sciloom.corpus.cli.main", "pretrain", str(toml)], check=False
    )
    if done.returncode != 0:
        return {"error": f"exit {done.returncode} (OOM?)"}
    rows = [json.loads(x) for x in (out_dir / "metrics.jsonl").read_text().splitlines()]
    timed = [r for r in rows if "loss" in r and r["step"] > WARMUP]
    return {k: statistics.median(r[k] for r in timed) for k in ("tokens_per_s", "tflops_per_gpu", "mfu")}


def cpu_attention(
    seqs: list[int], heads: int = 16, groups: int = 4, head_dim: int = 64, reps: int = 3
) -> None:
    """CPU stand-in for the attention choice (no GPU here): forward + backward of one core attention,
    megatron-core's stock local `DotProductAttention` vs `SDPAttention`, fp32, batch 1, causal."""
    import os
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "pretrain"))
    import megatron_cpu_shim  # test-only CPU patch of megatron-core (FIELD-NOTES 9)
    import torch
    import torch.distributed as dist

    megatron_cpu_shim.install()
    from megatron.core import parallel_state
    from megatron.core.transformer import TransformerConfig
    from megatron.core.transformer.dot_product_attention import DotProductAttention
    from megatron.core.transformer.enums import AttnMaskType

    from sciloom.pretrain.attention import SDPAttention

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT="29533")
    dist.init_process_group("gloo", rank=0, world_size=1)
    parallel_state.initialize_model_parallel(1, 1)
    from megatron.core.tensor_parallel import model_parallel_cuda_manual_seed

    model_parallel_cuda_manual_seed(0)
    cfg = TransformerConfig(num_layers=1, hidden_size=heads * head_dim, num_attention_heads=heads,
                            num_query_groups=groups, kv_channels=head_dim, attention_dropout=0.0)  # fmt: skip
    print("| seq | stock local attention (ms) | SDPAttention (ms) | speed-up | stock's fp32 score matrix |")
    print("|---|---|---|---|---|")
    for seq in seqs:
        times = {}
        for name, cls in (("stock", DotProductAttention), ("sdpa", SDPAttention)):
            mod = cls(cfg, layer_number=1, attn_mask_type=AttnMaskType.causal, attention_type="self")
            g = torch.Generator().manual_seed(0)
            q = torch.randn(seq, 1, heads, head_dim, generator=g, requires_grad=True)
            k = torch.randn(seq, 1, groups, head_dim, generator=g, requires_grad=True)
            v = torch.randn(seq, 1, groups, head_dim, generator=g, requires_grad=True)
            best = float("inf")
            for _ in range(reps):
                t0 = time.perf_counter()
                mod(q, k, v, None).sum().backward()
                best = min(best, time.perf_counter() - t0)
            times[name] = best * 1e3
        scores_mib = heads * seq * seq * 4 / 2**20
        print(
            f"| {seq} | {times['stock']:.0f} | {times['sdpa']:.0f} | {times['stock'] / times['sdpa']:.2f}x | {scores_mib:.0f} MiB |"
        )
    parallel_state.destroy_model_parallel()
    dist.destroy_process_group()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpu-attention", action="store_true", help="CPU attention comparison only (no GPU)")
    ap.add_argument("--gpus", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("/tmp/sciloom-mfu"))
    ap.add_argument("--peak", type=float, default=989.4, help="dense bf16 TFLOP/s of one GPU")
    args = ap.parse_args()
    if args.cpu_attention:
        cpu_attention([512, 1024, 2048])
        return
    g = args.gpus
    write_random_tokens(
        args.out / "data" / "random", num_tokens=(WARMUP + TIMED + 2) * 16 * g * 4096, vocab=128256
    )
    runs = {
        "sciloom (SDPA), seq 4096, mbs 4 x acc 4": run_config(args.out, "sdpa", attention="sdpa", seq=4096, mbs=4,
                                                             gbs=16 * g, gpus=g, peak=args.peak),
        "peer: stock local attention, seq 2048, mbs 2 x acc 8": run_config(args.out, "local", attention="local",
                                                                          seq=2048, mbs=2, gbs=16 * g, gpus=g,
                                                                          peak=args.peak),
    }  # fmt: skip
    print("| run | tokens/s | TFLOP/s per GPU | MFU |\n|---|---|---|---|")
    for label, toml in runs.items():
        m = measure(toml, args.out / toml.stem)
        if "error" in m:
            print(f"| {label} | {m['error']} | | |")
        else:
            print(
                f"| {label} | {m['tokens_per_s']:,.0f} | {m['tflops_per_gpu']:.1f} | {100 * m['mfu']:.1f}% |"
            )


if __name__ == "__main__":
    main()
