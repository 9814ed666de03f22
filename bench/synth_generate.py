"""Generated tokens per CPU-second of the synth `hf` backend vs bare transformers `generate`.

Both generate the same completions from the same random Llama (built here: 4 layers, hidden 256,
a 2k byte-level BPE trained on GSM8K questions; no download) on one thread, `--prompts` GSM8K
few-shot prompts x `--samples` samples of `--max-tokens` tokens at temperature 0.7:

- sciloom: `make_backend(BackendConfig(name="hf"))` `.generate(requests)` (eval's `Generator`:
  left padding, stop strings checked on the decoded tail, completions cut at the stop, cache off);
- peer: `AutoModelForCausalLM.generate` on the same padded batch, decoded with
  `batch_decode` (what one writes by hand, no stop strings).

Times are process CPU seconds (`time.process_time()`; the box is shared, wall time is not);
tokens are the tokenizer's count of each decoded completion, for both.

Run: `.venv/bin/python bench/synth_generate.py [--prompts 16 --samples 4 --max-tokens 64 --repeat 3]`
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "problems" / "gsm8k" / "train.jsonl"


def build_model(folder: Path) -> None:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    rows = [json.loads(x) for x in DATA.read_text(encoding="utf-8").splitlines()[:3000]]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=2000,
        special_tokens=["<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator([r["question"] + "\n" + r["answer"] for r in rows], trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=256,
        intermediate_size=688,
        num_hidden_layers=4,
        num_attention_heads=8,
        num_key_value_heads=4,
        max_position_embeddings=4096,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)


def prompts(n: int) -> list[str]:
    from sciloom.pretrain.eval.prompts import build_prompt

    rows = [json.loads(x) for x in DATA.read_text(encoding="utf-8").splitlines()[:n]]
    return [build_prompt("gsm8k", r["question"], 2) for r in rows]


def run_sciloom(folder: Path, texts: list[str], samples: int, max_tokens: int, batch: int):
    from sciloom.corpus.synth.backends import Request, Sampling, make_backend
    from sciloom.corpus.synth.config import BackendConfig

    backend = make_backend(BackendConfig(name="hf", model=str(folder), device="cpu", batch_size=batch), None)
    _ = backend.generator  # load outside the timed part, as the peer does
    s = Sampling(n=samples, temperature=0.7, max_tokens=max_tokens, stop=("\n\nQ:", "\nQ:"))
    start = time.process_time()
    gens = backend.generate([Request(t, s, seed=i << 16) for i, t in enumerate(texts)])
    cpu = time.process_time() - start
    return cpu, [c for g in gens for c in g.texts], backend.generator.tokenizer


def run_peer(folder: Path, texts: list[str], samples: int, max_tokens: int, batch: int):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    per = max(1, batch // samples)
    out = []
    start = time.process_time()
    for i in range(0, len(texts), per):
        enc = tok(texts[i : i + per], return_tensors="pt", padding=True)
        torch.manual_seed(i)
        with torch.inference_mode():
            gen = model.generate(
                **enc,
                do_sample=True,
                temperature=0.7,
                top_p=1.0,
                top_k=0,
                max_new_tokens=max_tokens,
                num_return_sequences=samples,
                pad_token_id=tok.pad_token_id,
            )
        out += tok.batch_decode(gen[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    return time.process_time() - start, out, tok


def main() -> None:
    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)  # per-core figures
    texts = prompts(args.prompts)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build_model(folder)
        rows = {}
        for name, fn in (("sciloom hf backend", run_sciloom), ("bare transformers generate", run_peer)):
            best = None
            for _ in range(args.repeat):
                cpu, outs, tok = fn(folder, texts, args.samples, args.max_tokens, args.batch)
                tokens = sum(len(tok(t)["input_ids"]) for t in outs)
                rate = tokens / cpu
                if best is None or rate > best[0]:
                    best = (rate, tokens, cpu)
            rows[name] = best
    print(
        f"machine: {platform.node()} {platform.processor() or platform.machine()}, torch {torch.__version__}, 1 thread"
    )
    print(
        f"{args.prompts} prompts x {args.samples} samples x {args.max_tokens} max new tokens, batch {args.batch}, best of {args.repeat}"
    )
    for name, (rate, tokens, cpu) in rows.items():
        print(f"{name}: {rate:,.0f} generated tokens per CPU-second ({tokens} tokens, {cpu:.2f} CPU s)")
    ours, peer = rows["sciloom hf backend"][0], rows["bare transformers generate"][0]
    print(f"ratio sciloom / peer: {ours / peer:.2f}")


if __name__ == "__main__":
    main()
