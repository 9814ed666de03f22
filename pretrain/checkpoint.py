"""Distributed checkpoints with megatron-core `dist_checkpointing`.

A checkpoint `DIR/iter_NNNNNNN/` holds the model (sharded tensors in global coordinates, so it
loads at any TP/PP/DP layout), the distributed optimizer state, the LR scheduler, the training
progress (step, consumed samples: the sampler resumes there) and every rank's RNG state.
`DIR/latest_checkpointed_iteration.txt` (Megatron-LM's tracker name) is written last, after all
ranks finished writing, so a run killed mid-save resumes from the previous complete checkpoint.

Resharding: the model loads at any TP/PP/DP layout. The distributed optimizer's state is saved
either `dp_reshardable` (default: each rank writes its own buffers, no gathering; reloads at another
DP size, while at another TP/PP the Adam moments restart from zero, logged) or `fully_reshardable`
(gathered per DP group at save; reloads at any layout). RNG states reload only at the same TP/PP.
Three gaps of megatron-core 0.16.1 with the torch AdamW fallback (no apex/TE) are closed here: Adam
state must exist before loading (`init_optimizer_state`), the Adam step count is neither restored
nor kept per parameter (`set_adam_step`), and the fully reshardable load asks for a `step` tensor
it never saved (`_load_optimizer`).
"""

from __future__ import annotations

import logging
import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from sciloom.corpus.errors import RecipeError

logger = logging.getLogger(__name__)

TRACKER = "latest_checkpointed_iteration.txt"


def iter_dir(root: Path, step: int) -> Path:
    return Path(root) / f"iter_{step:07d}"


def latest_step(root: str | Path) -> int | None:
    """The step of the newest complete checkpoint under `root`, or None."""
    tracker = Path(root) / TRACKER
    if not tracker.is_file():
        return None
    text = tracker.read_text().strip()
    return int(text) if text.isdigit() else None


def split_iter_dir(path: Path) -> tuple[Path, int | None]:
    """`ROOT/iter_0000300` -> (ROOT, 300); a checkpoint root -> (root, None: its newest)."""
    m = re.fullmatch(r"iter_(\d+)", Path(path).name)
    return (Path(path).parent, int(m.group(1))) if m else (Path(path), None)


def checkpoint_metadata(optimizer_format: str = "dp_reshardable") -> dict[str, Any]:
    """`sharded_state_dict` metadata for model and optimizer (FIELD-NOTES 9: without it, save fails
    with "flattened_range is not supported")."""
    from megatron.core import parallel_state

    return {
        "distrib_optim_sharding_type": optimizer_format,
        "singleton_local_shards": False,
        "chained_optim_avoid_prefix": True,
        "dp_cp_group": parallel_state.get_data_parallel_group(with_context_parallel=True),
    }


def unwrap(model: Any) -> Any:
    """The GPTModel inside DDP / Float16Module. DDP's generic `sharded_state_dict` prefixes every
    key with `module.`, which its `load_state_dict` then does not strip; the GPTModel's keys match."""
    while hasattr(model, "module"):
        model = model.module
    return model


def rng_state() -> dict[str, Any]:
    from megatron.core import tensor_parallel

    return {
        "random": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state() if torch.cuda.is_available() else None,
        "tracker": tensor_parallel.get_cuda_rng_tracker().get_states(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    from megatron.core import tensor_parallel

    random.setstate(state["random"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])
    tensor_parallel.get_cuda_rng_tracker().set_states(state["tracker"])


def _sharded_rng(layout: Any) -> Any:
    from megatron.core.dist_checkpointing.mapping import ShardedObject

    # one object per (pp, tp) position, written by DP rank 0 (DP replicas share their RNG streams)
    return ShardedObject(
        "rng_state",
        [rng_state()],
        (layout.pp, layout.tp),
        (layout.pp_rank, layout.tp_rank),
        replica_id=layout.dp_rank,
    )


def init_optimizer_state(optimizer: Any) -> None:
    """Create empty Adam state (with its step count) before loading into a fresh optimizer.

    megatron's `init_state_fn` creates `exp_avg`/`exp_avg_sq` but no `step`, which the torch AdamW
    fallback (no apex/TE) keeps per parameter; `DistributedOptimizer.state_dict` then asserts on a
    missing common step when a checkpoint is loaded before the first update.
    """
    for opt in getattr(optimizer, "chained_optimizers", [optimizer]):
        inner = opt.optimizer
        for group in inner.param_groups:
            for p in group["params"]:
                state = inner.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p.data)
                    state["exp_avg_sq"] = torch.zeros_like(p.data)
                state.setdefault("step", torch.tensor(0.0))


def _inner_optimizers(optimizer: Any) -> list[Any]:
    return [opt.optimizer for opt in getattr(optimizer, "chained_optimizers", [optimizer])]


def adam_step(optimizer: Any) -> int:
    """The update count of the torch AdamW states (0 before the first step)."""
    for inner in _inner_optimizers(optimizer):
        for state in inner.state.values():
            if "step" in state:
                return int(state["step"])
    return 0


def set_adam_step(optimizer: Any, step: int) -> None:
    """Restore the AdamW update count after a load, one tensor per parameter.

    Without apex/TE, megatron-core's `DistributedOptimizer.load_state_dict` neither restores the
    count saved with the `dp_reshardable` state (it came back as 0: the bias correction restarts)
    nor keeps it per parameter (it assigns ONE tensor to all states, which torch AdamW increments in
    place once per parameter). Both were found by the SIGTERM-resume test diverging at the second
    resumed step; the count is therefore saved in the progress and set here.
    """
    for inner in _inner_optimizers(optimizer):
        for state in inner.state.values():
            state["step"] = torch.tensor(float(step))


def sharded_state(model: Any, optimizer: Any, *, layout: Any, progress: dict[str, Any], scheduler: Any,
                  with_optimizer: bool, with_rng: bool, is_loading: bool,
                  optimizer_format: str = "dp_reshardable") -> dict[str, Any]:  # fmt: skip
    meta = checkpoint_metadata(optimizer_format)
    state: dict[str, Any] = {"model": unwrap(model).sharded_state_dict(metadata=meta)}
    if with_optimizer:
        state["optimizer"] = optimizer.sharded_state_dict(
            state["model"], is_loading=is_loading, metadata=meta
        )
        state["scheduler"] = scheduler.state_dict()
    if with_rng:
        state["rng_state"] = _sharded_rng(layout)
    state["progress"] = dict(progress)
    return state


def save_checkpoint(root: Path, step: int, model: Any, optimizer: Any, scheduler: Any, layout: Any,
                    progress: dict[str, Any], run_config: dict[str, Any],
                    optimizer_format: str = "dp_reshardable") -> Path:  # fmt: skip
    """Collective: every rank writes its shards; rank 0 moves the tracker last."""
    from megatron.core import dist_checkpointing

    path = iter_dir(root, step)
    if dist.get_rank() == 0:
        path.mkdir(parents=True, exist_ok=True)
    dist.barrier()
    progress = {
        **progress,
        "layout": {"tp": layout.tp, "pp": layout.pp, "dp": layout.dp},
        "adam_step": adam_step(optimizer),
        "optimizer_format": optimizer_format,
        "config": run_config,
    }
    state = sharded_state(model, optimizer, layout=layout, progress=progress, scheduler=scheduler,
                          with_optimizer=True, with_rng=True, is_loading=False,
                          optimizer_format=optimizer_format)  # fmt: skip
    dist_checkpointing.save(state, str(path))
    dist.barrier()
    if dist.get_rank() == 0:
        tmp = Path(root) / (TRACKER + ".tmp")
        tmp.write_text(f"{step}\n")
        os.replace(tmp, Path(root) / TRACKER)
    dist.barrier()
    logger.info("saved checkpoint %s", path)
    return path


def _load_scheduler(scheduler: Any, state: dict[str, Any]) -> None:
    # OptimizerParamScheduler.load_state_dict *adds* the saved step count to the current one
    scheduler.num_steps = 0
    scheduler.load_state_dict(state)


def _load_optimizer(optimizer: Any, state: dict[str, Any], fmt: str) -> None:
    if fmt != "fully_reshardable":
        optimizer.load_state_dict(state)
        return
    # megatron-core copies every state key of a parameter from the loaded tensors, `step` included,
    # which the fully reshardable format does not carry (KeyError: 'step', FIELD-NOTES 9): load the
    # parameter state with `step` set aside; set_adam_step restores it afterwards
    param_state = state.pop("param_state")
    state.pop("param_state_sharding_type", None)
    optimizer.load_state_dict(state)
    (dist_opt,) = getattr(optimizer, "chained_optimizers", [optimizer])
    for st in dist_opt.optimizer.state.values():
        st.pop("step", None)
    dist_opt.load_parameter_state_from_fully_reshardable(param_state)


def load_checkpoint(root: Path, model: Any, optimizer: Any, scheduler: Any, layout: Any,
                    load_optimizer: bool = True, step: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Load the newest (or given) checkpoint under `root` into model (+ optimizer, scheduler, RNG);
    returns its progress dict (step, consumed_samples, ...)."""
    from megatron.core import dist_checkpointing

    step = latest_step(root) if step is None else step
    if step is None:
        raise RecipeError(f"checkpoint: no complete checkpoint under {root} ({TRACKER} missing)")
    path = iter_dir(root, step)
    common = dist_checkpointing.load_common_state_dict(str(path))
    saved = common["progress"]["layout"]
    same_mp = saved["tp"] == layout.tp and saved["pp"] == layout.pp
    fmt = common["progress"].get("optimizer_format", "dp_reshardable")
    with_opt = load_optimizer and (same_mp or fmt == "fully_reshardable")
    if load_optimizer and not with_opt:
        logger.warning(
            "checkpoint %s was saved at TP %d / PP %d with the %s optimizer format, loading at TP %d / PP %d: "
            "weights, schedule and data position carry over, optimizer moments restart from zero "
            "(save with checkpoint.optimizer_format = 'fully_reshardable' to keep them)",
            path, saved["tp"], saved["pp"], fmt, layout.tp, layout.pp,
        )  # fmt: skip
    if with_opt:
        init_optimizer_state(optimizer)
    state = sharded_state(model, optimizer, layout=layout, progress={}, scheduler=scheduler, with_optimizer=with_opt,
                          with_rng=with_opt and same_mp, is_loading=True, optimizer_format=fmt)  # fmt: skip
    state.pop("progress")
    loaded = dist_checkpointing.load(state, str(path))
    # dist_checkpointing already loaded the tensors in place; this also restores non-tensor state
    # and checks that every parameter was in the checkpoint
    result = unwrap(model).load_state_dict(loaded["model"], strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("_extra_state")]
    if missing:
        raise RecipeError(f"checkpoint {path} lacks model tensors {missing[:5]} (another model?)")
    if with_opt:
        with torch.no_grad():  # fp32 params: the optimizer copies into leaf tensors (FIELD-NOTES 9)
            _load_optimizer(optimizer, loaded["optimizer"], fmt)
        set_adam_step(optimizer, int(common["progress"].get("adam_step", common["progress"]["step"])))
        _load_scheduler(scheduler, common["scheduler"])
        if same_mp:  # RNG streams belong to (TP, PP) positions
            set_rng_state(loaded["rng_state"][0])
    elif load_optimizer:
        _load_scheduler(scheduler, common["scheduler"])
    progress = dict(common["progress"])
    progress["loaded_optimizer"] = with_opt
    logger.info("loaded checkpoint %s (step %d)", path, progress["step"])
    return progress
