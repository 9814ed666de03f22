"""Batched sampling from a Hugging Face-format checkpoint with `transformers`.

`Generator` loads the model and tokenizer once (a local folder, e.g. what the launcher exports;
nothing is downloaded when `local_files_only`), pads on the left so every prompt ends where
generation starts, and returns `num_samples` completions per prompt. Sampling uses temperature and
nucleus (top-p) sampling; temperature 0 is greedy decoding. Generation of a row stops at EOS or as
soon as its new text contains one of the stop sequences (checked on the decoded tail of the row
each step); the completion is then cut before the first stop sequence.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass
class SamplingConfig:
    """Decoding settings for one evaluation run."""

    num_samples: int = 1
    """completions per prompt (k of maj@k)"""
    temperature: float = 0.0
    """0 = greedy; Minerva's maj@k used 0.6, self-consistency (Wang et al.) 0.5-0.7"""
    top_p: float = 1.0
    """nucleus sampling mass; 0.95 is the usual companion of temperature 0.6"""
    max_new_tokens: int = 512
    """generation budget per completion (Minerva and lm-eval's gsm8k-cot use 512/256)"""
    batch_size: int = 8
    """sequences per forward pass (prompts per batch = batch_size // num_samples, at least 1)"""
    seed: int = 0
    """torch seed; each batch is seeded with seed + index of its first prompt"""

    def __post_init__(self) -> None:
        if self.num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {self.num_samples}")
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ValueError(
                f"need temperature >= 0 and 0 < top_p <= 1, got {self.temperature}, {self.top_p}"
            )
        if self.temperature == 0 and self.num_samples > 1:
            raise ValueError("num_samples > 1 needs temperature > 0 (greedy samples would be identical)")
        if self.max_new_tokens < 1 or self.batch_size < 1:
            raise ValueError("max_new_tokens and batch_size must be >= 1")


class Generator:
    """A causal LM and its tokenizer, loaded once from `checkpoint`."""

    def __init__(self, checkpoint: str | os.PathLike, *, device: str | None = None, dtype: str = "auto"):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.checkpoint = str(checkpoint)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if dtype == "auto":
            torch_dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        else:
            torch_dtype = getattr(torch, dtype)
        local = os.path.isdir(self.checkpoint)
        self.tokenizer = AutoTokenizer.from_pretrained(self.checkpoint, local_files_only=local)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(
            self.checkpoint, dtype=torch_dtype, local_files_only=local
        )
        self.model.to(self.device).eval()
        logger.info("loaded %s on %s (%s)", self.checkpoint, self.device, torch_dtype)

    def generate(
        self, prompts: Sequence[str], sampling: SamplingConfig, stop: Sequence[str] = ()
    ) -> list[list[str]]:
        """`sampling.num_samples` completions for each prompt, cut at the first stop sequence."""
        import torch

        per_batch = max(1, sampling.batch_size // sampling.num_samples)
        out: list[list[str]] = []
        for start in range(0, len(prompts), per_batch):
            batch = list(prompts[start : start + per_batch])
            torch.manual_seed(sampling.seed + start)
            out.extend(self._generate_batch(batch, sampling, stop))
        return out

    def _generate_batch(
        self, prompts: list[str], sampling: SamplingConfig, stop: Sequence[str]
    ) -> list[list[str]]:
        import torch
        from transformers import StoppingCriteriaList

        enc = self.tokenizer(prompts, return_tensors="pt", padding=True).to(self.device)
        prompt_len = enc["input_ids"].shape[1]
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if limit is not None and prompt_len + sampling.max_new_tokens > limit:
            logger.warning(
                "prompt of %d tokens + %d new tokens exceeds the model's %d positions; use fewer --shots",
                prompt_len,
                sampling.max_new_tokens,
                limit,
            )
        kwargs = dict(
            max_new_tokens=sampling.max_new_tokens,
            num_return_sequences=sampling.num_samples,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        if sampling.temperature > 0:
            kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p, top_k=0)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if stop:
            kwargs["stopping_criteria"] = StoppingCriteriaList(
                [_StopOnText(self.tokenizer, stop, prompt_len)]
            )
        with torch.inference_mode():
            output = self.model.generate(**enc, **kwargs)
        texts = self.tokenizer.batch_decode(output[:, prompt_len:], skip_special_tokens=True)
        texts = [truncate_at_stop(t, stop) for t in texts]
        k = sampling.num_samples
        return [texts[i * k : (i + 1) * k] for i in range(len(prompts))]


def truncate_at_stop(text: str, stop: Sequence[str]) -> str:
    """`text` up to (not including) the earliest stop sequence."""
    cut = len(text)
    for s in stop:
        i = text.find(s)
        if i != -1:
            cut = min(cut, i)
    return text[:cut]


class _StopOnText:
    """Stopping criterion: a row is done once its generated tail contains a stop sequence."""

    def __init__(self, tokenizer, stop: Sequence[str], prompt_len: int, tail_tokens: int = 24):
        self.tokenizer = tokenizer
        self.stop = tuple(stop)
        self.prompt_len = prompt_len
        self.tail_tokens = tail_tokens

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        tails = input_ids[:, max(self.prompt_len, input_ids.shape[1] - self.tail_tokens) :]
        texts = self.tokenizer.batch_decode(tails, skip_special_tokens=True)
        done = [any(s in t for s in self.stop) for t in texts]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)
