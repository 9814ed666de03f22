"""Step-0 guard: the converted model's loss must equal the Hugging Face model's on the same batch.

A wrong conversion (a plain [Q;K;V] concatenation, swapped gate/up halves, a missing rope scaling)
still trains, just from a much higher loss (NVIDIA/Megatron-LM#933 started at 8 instead of ~2) and
the damage shows only after GPU-days. Before the first step, rank 0 runs the HF model
(transformers, same weights, same added-token rows) on the first micro-batch of every DP rank and
compares with megatron-core's loss on exactly those samples. The loss definition is the same on both
sides: summed token cross-entropy over the loss mask, divided by the number of unmasked tokens.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
import torch.distributed as dist

from sciloom.corpus.errors import StageError

logger = logging.getLogger(__name__)


@torch.no_grad()
def hf_reference_loss(trainer: Any, num_samples: int) -> float:
    """HF model's loss on samples [0, num_samples) of the training set (rank 0 only)."""
    from transformers import AutoModelForCausalLM

    on_gpu = trainer.device is not None
    dtype = torch.bfloat16 if trainer.cfg.training.precision == "bf16" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(trainer.cfg.model.hf_checkpoint, dtype=dtype)
    vocab = trainer.shape.vocab_size
    old = model.get_input_embeddings().weight.shape[0]
    if vocab > old:  # same added-token rows as the conversion: the mean of the old rows
        model.resize_token_embeddings(vocab, mean_resizing=False)
        for emb in {id(e): e for e in (model.get_input_embeddings(), model.get_output_embeddings())}.values():
            emb.weight[old:] = emb.weight[:old].float().mean(dim=0).to(emb.weight.dtype)
    model.eval()
    if on_gpu:
        model.to(trainer.device)
    loss_sum, tokens = 0.0, 0.0
    for i in range(num_samples):
        sample = trainer.train_ds[i]
        ids = sample["tokens"].unsqueeze(0)
        if on_gpu:
            ids = ids.to(trainer.device)
        logits = model(input_ids=ids).logits[0, :, :vocab].float().cpu()
        ce = torch.nn.functional.cross_entropy(logits, sample["labels"], reduction="none")
        mask = sample["loss_mask"].float()
        loss_sum += float((ce * mask).sum())
        tokens += float(mask.sum())
    del model
    if on_gpu:
        torch.cuda.empty_cache()
    return loss_sum / max(tokens, 1.0)


def check_step0_loss(trainer: Any) -> tuple[float, float]:
    """Raise StageError on every rank when |loss_mcore - loss_hf| > model.step0_tolerance."""
    lay = trainer.layout
    num_samples = trainer.cfg.training.micro_batch_size * lay.dp
    ours = trainer.batch_loss(consumed=0, num_microbatches=1)
    ref = torch.zeros(1, dtype=torch.float64)
    if lay.rank == 0:
        ref[0] = hf_reference_loss(trainer, num_samples)
    ref = trainer._all_reduce(ref)
    theirs = float(ref[0])
    diff = abs(ours - theirs)
    trainer.metrics.log_event(event="step0_check", mcore_loss=ours, hf_loss=theirs, diff=diff)
    logger.info("step-0 check: megatron-core loss %.6f, HF loss %.6f (|diff| %.2e)", ours, theirs, diff)
    if diff > trainer.cfg.model.step0_tolerance:
        raise StageError(
            f"step-0 check failed: converted model loss {ours:.4f} vs HF model {theirs:.4f} on the same "
            f"{num_samples} samples (|diff| {diff:.4f} > model.step0_tolerance {trainer.cfg.model.step0_tolerance}); "
            "the HF -> megatron-core conversion is wrong for this checkpoint"
        )
    dist.barrier()
    return ours, theirs
