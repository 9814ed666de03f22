"""Trainer: continued pretraining of a GPTModel on megatron-core, one optimizer step at a time.

megatron-core 0.16.1 ships no `megatron.training`: the loop, sampler, checkpoint bookkeeping and
signal handling are ours, built in the order of FIELD-NOTES 9 (torchtitan's `Trainer` shape:
`build` constructs components in order, `train_step` is one optimizer step, `train` a short loop,
`state_dict` the progress):

1. process groups (`parallel.init_parallel`, degrees validated first), seeds;
2. `TransformerConfig` from the model family (`model_spec`), `GPTModel` with the local spec and
   SDPA core attention (`attention`), HF weights copied into this rank's shard (`hf_import`);
3. `Float16Module` (bf16), `DistributedDataParallel` (fp32 grad reduce, distributed optimizer);
4. `get_megatron_optimizer` (AdamW, grad clipping) and `OptimizerParamScheduler`;
5. `config.finalize_model_grads_func = finalize_model_grads`: without it DP gradients are silently
   not all-reduced (FIELD-NOTES 9); `grad_scale_func`, `no_sync_func`;
6. each step: zero grad buffers, `get_forward_backward_func()` (1F1B when PP > 1) over the
   microbatches, `optimizer.step()` (clip, update), `scheduler.step()`.

The loss is summed over unmasked tokens and divided by the global token count
(`calculate_per_token_loss`), so it does not depend on the TP/PP/DP layout. Logits of the vocab
padding rows are masked out: the model then computes exactly the HF model's distribution.
One world all-reduce per step carries the loss, the token count and the SIGTERM flag, so every rank
agrees to save and stop at the same step.
"""

from __future__ import annotations

import logging
import signal
import time
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from sciloom.corpus.errors import RecipeError
from sciloom.pretrain import checkpoint as ckpt
from sciloom.pretrain import data as pdata
from sciloom.pretrain.config import PretrainConfig
from sciloom.pretrain.hf_import import (
    HFCheckpoint,
    gather_full_state,
    load_into_model,
    mcore_to_hf,
    save_hf_checkpoint,
)
from sciloom.pretrain.layers import gpt_block_spec
from sciloom.pretrain.metrics import MetricsLogger, StepMetrics, flops_per_token
from sciloom.pretrain.model_spec import (
    ModelShape,
    gpt_model_kwargs,
    load_hf_shape,
    named_shape,
    padded_vocab_size,
    transformer_config,
)
from sciloom.pretrain.parallel import Layout, destroy_parallel, init_parallel

logger = logging.getLogger(__name__)

PREEMPTED_MARKER = "preempted"


def mask_vocab_padding(logits: torch.Tensor, vocab_size: int, tp_rank: int) -> torch.Tensor:
    """Set logits of the padding rows (ids >= vocab_size) in this TP shard to the dtype's minimum."""
    shard = logits.shape[-1]
    begin = max(0, min(shard, vocab_size - tp_rank * shard))
    if begin < shard:
        logits[..., begin:] = torch.finfo(logits.dtype).min
    return logits


class Trainer:
    """Build once, then `train()`; `state_dict()` is the progress saved with each checkpoint."""

    def __init__(self, cfg: PretrainConfig):
        self.cfg = cfg
        self.step = 0
        self.consumed_samples = 0
        self._signal = False
        self._last_saved_step: int | None = None
        self.preempted = False

    # -- build -----------------------------------------------------------------------------
    def build(self) -> Trainer:
        cfg = self.cfg
        self.hf_shape = load_hf_shape(cfg.model.hf_checkpoint) if cfg.model.hf_checkpoint else None
        base = self.hf_shape or named_shape(cfg.model.shape)
        self.layout: Layout = init_parallel(cfg, base.num_hidden_layers)
        self.device = (
            torch.device("cuda", torch.cuda.current_device()) if cfg.launch.backend == "nccl" else None
        )
        self.tokenizer = pdata.build_tokenizer(cfg.data)
        self.shape = self._target_shape(base, int(self.tokenizer.vocab_size))
        self.padded_vocab = padded_vocab_size(
            self.shape.vocab_size, cfg.model.make_vocab_size_divisible_by, self.layout.tp
        )
        self.model_config = transformer_config(
            self.shape, tp=self.layout.tp, pp=self.layout.pp, dtype=cfg.training.precision,
            sequence_parallel=cfg.parallel.sequence_parallel, recompute=cfg.model.recompute,
            cpu_init=cfg.launch.backend == "gloo",
        )  # fmt: skip
        self._load_from = self._checkpoint_to_load()
        self.model = self._build_model()
        self.optimizer, self.scheduler = self._build_optimizer()
        c = self.model_config
        from megatron.core.distributed import finalize_model_grads

        c.grad_scale_func = self.optimizer.scale_loss
        c.finalize_model_grads_func = finalize_model_grads
        c.no_sync_func = self.model.no_sync
        self.metrics = MetricsLogger(
            cfg.out_dir, flops_per_token(self.shape, cfg.training.seq_length, self.padded_vocab),
            self.layout.world_size, cfg.logging.peak_tflops, cfg.logging.tensorboard, enabled=self.layout.rank == 0,
            wandb_project=cfg.logging.wandb_project,
        )  # fmt: skip
        self._resume()
        self._build_data()
        return self

    def _target_shape(self, base: ModelShape, tokenizer_vocab: int) -> ModelShape:
        """The model's vocabulary: the checkpoint's, grown to the tokenizer's (added tokens)."""
        want = self.cfg.model.vocab_size or tokenizer_vocab
        if self.hf_shape is None:
            return base.with_vocab(want)
        if want < base.vocab_size and self.cfg.model.vocab_size:
            raise RecipeError(f"model.vocab_size {want} is smaller than the checkpoint's {base.vocab_size}")
        return base.with_vocab(max(want, base.vocab_size))

    def _build_model(self) -> Any:
        from megatron.core.distributed import DistributedDataParallel, DistributedDataParallelConfig
        from megatron.core.models.gpt import GPTModel
        from megatron.core.transformer.module import Float16Module

        cfg, lay = self.cfg, self.layout
        model = GPTModel(
            config=self.model_config, transformer_layer_spec=gpt_block_spec(self.model_config, cfg.model.attention),
            pre_process=lay.is_first_stage, post_process=lay.is_last_stage,
            **gpt_model_kwargs(self.shape, self.padded_vocab, cfg.training.seq_length),
        )  # fmt: skip
        if self.hf_shape is not None and self._load_from is None:  # a checkpoint overwrites them anyway
            source = HFCheckpoint(cfg.model.hf_checkpoint)
            n = load_into_model(model, source.__getitem__, self.hf_shape, self.shape.vocab_size, self.padded_vocab,
                                lay.tp_rank, lay.tp, lay.layer_offset(self.shape.num_hidden_layers))  # fmt: skip
            logger.info("loaded %d tensors from %s", n, cfg.model.hf_checkpoint)
        if self.device is not None:
            model.cuda(self.device)
        if cfg.training.precision == "bf16":
            model = Float16Module(self.model_config, model)
        on_gpu = self.device is not None
        ddp_config = DistributedDataParallelConfig(
            grad_reduce_in_fp32=True,
            overlap_grad_reduce=cfg.parallel.overlap_grad_reduce and on_gpu,
            use_distributed_optimizer=cfg.parallel.distributed_optimizer,
            check_for_nan_in_grad=True,
        )
        return DistributedDataParallel(self.model_config, ddp_config, model)

    def _build_optimizer(self) -> tuple[Any, Any]:
        from megatron.core.optimizer import OptimizerConfig, get_megatron_optimizer
        from megatron.core.optimizer_param_scheduler import OptimizerParamScheduler

        o, t = self.cfg.optimizer, self.cfg.training
        opt_cfg = OptimizerConfig(
            optimizer="adam", lr=o.lr, min_lr=o.min_lr, weight_decay=o.weight_decay, adam_beta1=o.adam_beta1,
            adam_beta2=o.adam_beta2, adam_eps=o.adam_eps, clip_grad=t.grad_clip, bf16=t.precision == "bf16",
            params_dtype=self.model_config.params_dtype, use_distributed_optimizer=self.cfg.parallel.distributed_optimizer,
        )  # fmt: skip
        optimizer = get_megatron_optimizer(opt_cfg, [self.model])
        style = {"wsd": "WSD"}.get(o.decay_style, o.decay_style)
        scheduler = OptimizerParamScheduler(
            optimizer, init_lr=0.0, max_lr=o.lr, min_lr=o.min_lr, lr_warmup_steps=o.warmup_iters,
            lr_decay_steps=self.cfg.decay_iters, lr_decay_style=style, start_wd=o.weight_decay,
            end_wd=o.weight_decay, wd_incr_steps=t.train_iters, wd_incr_style="constant",
            wsd_decay_steps=self.cfg.wsd_decay_iters if style == "WSD" else None,
            lr_wsd_decay_style=o.wsd_decay_style if style == "WSD" else None,
        )  # fmt: skip
        # Megatron-LM runs iteration 1 at the schedule's step 0 (LR 0 under warm-up); here step n
        # uses the schedule at n, so warm-up peaks at step `warmup_iters` and no step is wasted
        scheduler.step(increment=1)
        return optimizer, scheduler

    def _checkpoint_to_load(self) -> tuple[Path, bool, int | None] | None:
        """(folder, with optimizer, step): resume from checkpoint.dir, else start from
        checkpoint.load (a checkpoint folder: its newest iteration, or one `iter_NNNNNNN` folder)."""
        own = self.cfg.checkpoint_dir
        if ckpt.latest_step(own) is not None:
            return own, True, None
        if self.cfg.checkpoint.load:
            folder, step = ckpt.split_iter_dir(Path(self.cfg.checkpoint.load))
            return folder, self.cfg.checkpoint.load_optimizer, step
        return None

    def _resume(self) -> None:
        self.optimizer_restored = False
        if self._load_from is not None:
            folder, keep, step = self._load_from
            progress = ckpt.load_checkpoint(
                folder,
                self.model,
                self.optimizer,
                self.scheduler,
                self.layout,
                load_optimizer=keep,
                step=step,
            )
            self.optimizer_restored = progress["loaded_optimizer"]
            if keep:  # else: weights only, a fresh schedule from step 0
                self.step, self.consumed_samples = progress["step"], progress["consumed_samples"]
        self._last_saved_step = self.step if self.step else None
        self._resumed = self._load_from is not None

    def _build_data(self) -> None:
        t = self.cfg.training
        n_train, n_valid = pdata.samples_needed(
            t.train_iters, t.global_batch_size, t.eval_interval, t.eval_iters
        )
        cache = Path(self.cfg.data.cache_dir) if self.cfg.data.cache_dir else self.cfg.out_dir / "data_cache"
        self.train_ds, self.valid_ds = pdata.build_datasets(
            self.cfg.data, self.tokenizer, seq_length=t.seq_length, seed=t.seed, num_train_samples=n_train,
            num_valid_samples=n_valid, cache_dir=cache,
        )  # fmt: skip
        self.train_iter = self._loader(self.train_ds, self.consumed_samples)

    def _loader(self, dataset: Any, consumed: int) -> Any:
        return pdata.make_loader(dataset, consumed, self.cfg.training.micro_batch_size, self.layout.dp_rank,
                                 self.layout.dp, self.cfg.data.num_workers)  # fmt: skip

    # -- one step --------------------------------------------------------------------------
    def _to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if self.device is None:
            return batch
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def _loss_func(self, loss_mask: torch.Tensor, labels: torch.Tensor, logits: torch.Tensor) -> tuple:
        from megatron.core import tensor_parallel

        logits = mask_vocab_padding(logits, self.shape.vocab_size, self.layout.tp_rank)
        losses = tensor_parallel.vocab_parallel_cross_entropy(logits, labels)
        mask = loss_mask.float()
        loss = (losses.float() * mask).sum()
        num_tokens = mask.sum().to(torch.int)
        report = torch.stack([loss.detach(), mask.sum()])
        return loss, num_tokens, {"lm loss": report}

    def _forward_step(self, data_iterator: Any, model: Any) -> tuple:
        batch = self._to_device(next(data_iterator))
        output = model(batch["tokens"], batch["position_ids"], None)
        return output, partial(self._loss_func, batch["loss_mask"], batch["labels"])

    def _run_microbatches(
        self, data_iter: Any, forward_only: bool, num_microbatches: int | None = None
    ) -> torch.Tensor:
        """Forward (and backward) over one global batch; returns this rank's [loss_sum, tokens]."""
        from megatron.core.pipeline_parallel import get_forward_backward_func

        t = self.cfg.training
        results = get_forward_backward_func()(
            forward_step_func=self._forward_step, data_iterator=data_iter, model=[self.model],
            num_microbatches=num_microbatches or self.cfg.num_microbatches(self.layout.world_size),
            seq_length=t.seq_length, micro_batch_size=t.micro_batch_size, decoder_seq_length=t.seq_length,
            forward_only=forward_only,
        )  # fmt: skip
        total = torch.zeros(2, dtype=torch.float64)
        # the last stage holds the loss; TP ranks hold copies, so only TP rank 0 contributes
        if self.layout.is_last_stage and self.layout.tp_rank == 0:
            for r in results:
                total += r["lm loss"].detach().double().cpu()
        return total

    def _all_reduce(self, values: torch.Tensor) -> torch.Tensor:
        t = values.to(self.device) if self.device is not None else values
        dist.all_reduce(t)
        return t.cpu()

    def train_step(self) -> StepMetrics:
        start = time.perf_counter()
        self.model.zero_grad_buffer()
        self.optimizer.zero_grad()
        from megatron.core.optimizer_param_scheduler import get_canonical_lr_for_logging

        lr = float(get_canonical_lr_for_logging(self.optimizer.param_groups) or 0.0)  # this step's LR
        local = self._run_microbatches(self.train_iter, forward_only=False)
        ok, grad_norm, _ = self.optimizer.step()
        self.scheduler.step(increment=1)
        flag = torch.tensor([1.0 if self._signal else 0.0], dtype=torch.float64)
        loss_sum, tokens, signals = self._all_reduce(torch.cat([local, flag])).tolist()
        self.step += 1
        self.consumed_samples += self.cfg.training.global_batch_size
        self.preempted = signals > 0
        return StepMetrics(
            step=self.step, loss=loss_sum / max(tokens, 1.0), lr=lr,
            grad_norm=None if grad_norm is None else float(grad_norm),
            tokens=self.cfg.training.global_batch_size * self.cfg.training.seq_length,
            step_time_s=time.perf_counter() - start, consumed_samples=self.consumed_samples, skipped=not ok,
        )  # fmt: skip

    @torch.no_grad()
    def evaluate(self) -> float | None:
        if self.valid_ds is None or len(self.valid_ds) == 0:
            return None
        it = self._loader(self.valid_ds, 0)
        total = torch.zeros(2, dtype=torch.float64)
        for _ in range(self.cfg.training.eval_iters):
            total += self._run_microbatches(it, forward_only=True)
        loss_sum, tokens = self._all_reduce(total).tolist()
        return loss_sum / max(tokens, 1.0)

    @torch.no_grad()
    def batch_loss(self, consumed: int = 0, num_microbatches: int | None = None) -> float:
        """Loss of the current weights on the global batch starting at `consumed` (no update)."""
        it = self._loader(self.train_ds, consumed)
        loss_sum, tokens = self._all_reduce(self._run_microbatches(it, True, num_microbatches)).tolist()
        return loss_sum / max(tokens, 1.0)

    # -- loop ------------------------------------------------------------------------------
    def _on_sigterm(self, signum: int, frame: Any) -> None:
        # only a flag: the step finishes, then all ranks agree through the step's all-reduce
        logger.warning(
            "rank %d: received signal %d, will save and stop after this step", self.layout.rank, signum
        )
        self._signal = True

    def train(self) -> dict[str, Any]:
        cfg, t = self.cfg, self.cfg.training
        previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        try:
            if cfg.model.step0_check and self.hf_shape is not None and not self._resumed:
                from sciloom.pretrain.step0 import check_step0_loss

                check_step0_loss(self)
            self.metrics.log_event(event="start", step=self.step, consumed_samples=self.consumed_samples,
                                   optimizer_restored=self.optimizer_restored,
                                   layout=self.layout.describe())  # fmt: skip
            if self._resumed and t.eval_interval:
                # the loaded weights' validation loss: comparable across layouts (resharding check)
                val = self.evaluate()
                if val is not None:
                    self.metrics.log_eval(self.step, val)
            while self.step < t.train_iters:
                m = self.train_step()
                if m.step % t.log_interval == 0 or m.step == t.train_iters or self.preempted:
                    self.metrics.log(m)
                if t.eval_interval and m.step % t.eval_interval == 0:
                    val = self.evaluate()
                    if val is not None:
                        self.metrics.log_eval(m.step, val)
                if self.preempted:
                    self.save()
                    self._mark_preempted()
                    break
                if cfg.checkpoint.interval and m.step % cfg.checkpoint.interval == 0:
                    self.save()
            else:
                if cfg.checkpoint.save_on_exit:
                    self.save()
            if cfg.checkpoint.export_hf and not self.preempted:
                self.export_hf(Path(cfg.checkpoint.export_hf))
        finally:
            signal.signal(signal.SIGTERM, previous)
        return self.state_dict()

    def _mark_preempted(self) -> None:
        self.metrics.log_event(event="preempted", step=self.step)
        if self.layout.rank == 0:
            (self.cfg.out_dir / PREEMPTED_MARKER).write_text(f"{self.step}\n")

    def save(self) -> None:
        if self._last_saved_step == self.step:
            return
        ckpt.save_checkpoint(self.cfg.checkpoint_dir, self.step, self.model, self.optimizer, self.scheduler,
                             self.layout, self.state_dict(), self.cfg.to_dict(),
                             optimizer_format=self.cfg.checkpoint.optimizer_format)  # fmt: skip
        self._last_saved_step = self.step
        self.metrics.log_event(
            event="checkpoint", step=self.step, path=str(ckpt.iter_dir(self.cfg.checkpoint_dir, self.step))
        )

    @property
    def loaded_checkpoint(self) -> bool:
        """Whether `build` loaded a checkpoint (a resume or checkpoint.load)."""
        return self._load_from is not None

    def state_dict(self) -> dict[str, Any]:
        return {"step": self.step, "consumed_samples": self.consumed_samples,
                "tokens": self.consumed_samples * self.cfg.training.seq_length, "preempted": self.preempted}  # fmt: skip

    def unwrapped_model(self) -> torch.nn.Module:
        from megatron.core.transformer.module import Float16Module

        m = self.model.module
        return m.module if isinstance(m, Float16Module) else m

    def export_hf(self, out_dir: Path) -> Path:
        """Collective: gather TP shards, merge PP stages through files, rank 0 writes HF format."""
        from megatron.core import parallel_state
        from safetensors.torch import load_file, save_file

        lay = self.layout
        part_dir = out_dir / ".parts"
        full = gather_full_state(self.unwrapped_model(), parallel_state.get_tensor_model_parallel_group(), lay.tp,
                                 lay.layer_offset(self.shape.num_hidden_layers))  # fmt: skip
        if lay.tp_rank == 0 and lay.dp_rank == 0:
            part_dir.mkdir(parents=True, exist_ok=True)
            save_file(
                {k: v.contiguous() for k, v in full.items()}, str(part_dir / f"pp{lay.pp_rank}.safetensors")
            )
        dist.barrier()
        if lay.rank == 0:
            merged: dict[str, torch.Tensor] = {}
            for p in range(lay.pp):
                merged.update(load_file(str(part_dir / f"pp{p}.safetensors")))
            dtype = torch.bfloat16 if self.cfg.training.precision == "bf16" else torch.float32
            save_hf_checkpoint(mcore_to_hf(merged, self.shape), self.shape, out_dir,
                               source=self.cfg.model.hf_checkpoint, dtype=dtype)  # fmt: skip
            for f in part_dir.iterdir():
                f.unlink()
            part_dir.rmdir()
            logger.info("exported HF checkpoint to %s", out_dir)
        dist.barrier()
        return out_dir

    def close(self) -> None:
        if getattr(self, "metrics", None) is not None:
            self.metrics.close()
        if dist.is_initialized():
            destroy_parallel()
