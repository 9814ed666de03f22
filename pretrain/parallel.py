"""Process groups: validated TP/PP/DP degrees, then torch.distributed and megatron-core's groups.

Order (FIELD-NOTES 9): degrees are checked against the world size first (a wrong layout fails
with a message naming every degree, not a hang or an assert deep in megatron), then
`torch.cuda.set_device`, `init_process_group`, `initialize_model_parallel(TP, PP)`, and the seeds
(`model_parallel_cuda_manual_seed` gives TP ranks different dropout streams where they must differ).
Ranks come from torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE), which our Slurm script
sets up through torchrun's c10d rendezvous.
"""

from __future__ import annotations

import logging
import os
import random
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as dist

from sciloom.pretrain.config import PretrainConfig, validate_world

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Layout:
    """This rank's place in the TP x PP x DP grid."""

    world_size: int
    rank: int
    local_rank: int
    tp: int
    pp: int
    dp: int
    tp_rank: int
    pp_rank: int
    dp_rank: int

    @property
    def is_first_stage(self) -> bool:
        return self.pp_rank == 0

    @property
    def is_last_stage(self) -> bool:
        return self.pp_rank == self.pp - 1

    def layer_offset(self, num_layers: int) -> int:
        return self.pp_rank * (num_layers // self.pp)

    def describe(self) -> str:
        return f"world {self.world_size} = TP {self.tp} x PP {self.pp} x DP {self.dp}"


def env_world() -> tuple[int, int, int]:
    """(rank, local_rank, world_size) from torchrun's environment; one process when unset."""
    return (
        int(os.environ.get("RANK", 0)),
        int(os.environ.get("LOCAL_RANK", 0)),
        int(os.environ.get("WORLD_SIZE", 1)),
    )


def init_parallel(cfg: PretrainConfig, num_layers: int) -> Layout:
    """Validate the layout, start torch.distributed and megatron-core's model-parallel groups."""
    from megatron.core import parallel_state
    from megatron.core.tensor_parallel import model_parallel_cuda_manual_seed

    rank, local_rank, world = env_world()
    validate_world(cfg, world, num_layers)
    backend = cfg.launch.backend
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(cfg.launch.master_port))
    if not dist.is_initialized():
        dist.init_process_group(backend, rank=rank, world_size=world, timeout=timedelta(minutes=30))
    tp, pp = cfg.parallel.tensor, cfg.parallel.pipeline
    parallel_state.initialize_model_parallel(tensor_model_parallel_size=tp, pipeline_model_parallel_size=pp)
    layout = Layout(
        world_size=world,
        rank=rank,
        local_rank=local_rank,
        tp=tp,
        pp=pp,
        dp=parallel_state.get_data_parallel_world_size(),
        tp_rank=parallel_state.get_tensor_model_parallel_rank(),
        pp_rank=parallel_state.get_pipeline_model_parallel_rank(),
        dp_rank=parallel_state.get_data_parallel_rank(),
    )
    # Megatron-LM `_set_random_seed`: pipeline stages get different seeds, DP replicas the same
    seed = cfg.training.seed + 100 * layout.pp_rank
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    model_parallel_cuda_manual_seed(seed)
    logger.info("rank %d: %s (tp %d, pp %d, dp %d)", rank, layout.describe(), layout.tp_rank, layout.pp_rank,
                layout.dp_rank)  # fmt: skip
    return layout


def destroy_parallel() -> None:
    from megatron.core import parallel_state

    parallel_state.destroy_model_parallel()
    if dist.is_initialized():
        dist.destroy_process_group()
