"""Run megatron-core 0.16.1 on CPU with gloo: a test-only patch (FIELD-NOTES section 9).

megatron-core assumes CUDA: it calls `torch.cuda.current_device()` in ~175 places and hard-codes
`device="cuda"` about 30 times. This shim sends all of that to the CPU so the real training code
(`sciloom.pretrain`) runs unchanged in CI. It lives in tests only; the library never imports it.
Install it after importing megatron.core and before building a model; it is a no-op with CUDA.
"""

from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode

_installed = False


def _to_cpu(device):
    if device is None:
        return None
    if isinstance(device, int) or (isinstance(device, str) and device.startswith("cuda")):
        return torch.device("cpu")
    if isinstance(device, torch.device) and device.type == "cuda":
        return torch.device("cpu")
    return device


class _CudaToCpu(TorchFunctionMode):
    """Rewrite `device="cuda"` keyword arguments and `.to("cuda")` calls to the CPU."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if "device" in kwargs:
            kwargs["device"] = _to_cpu(kwargs["device"])
        if func in (torch.Tensor.to, torch.Tensor.cuda):
            if func is torch.Tensor.cuda:
                return args[0]
            args = tuple(_to_cpu(a) if isinstance(a, (str, torch.device)) else a for a in args)
        return func(*args, **kwargs)


def install() -> None:
    """Patch torch.cuda and megatron's RNG helpers for CPU; idempotent; nothing to do with CUDA."""
    global _installed
    if _installed or torch.cuda.is_available():
        return
    from megatron.core.tensor_parallel import random as mrandom

    torch.cuda.current_device = lambda: "cpu"
    torch.cuda.synchronize = lambda *a, **k: None
    torch.cuda.get_rng_state = lambda *a, **k: torch.get_rng_state()
    torch.cuda.set_rng_state = lambda state, *a, **k: torch.set_rng_state(state)
    torch.cuda.random.get_rng_state = torch.cuda.get_rng_state
    torch.cuda.manual_seed = lambda seed: torch.manual_seed(seed)
    # pointing manual_seed_all at torch.manual_seed recurses (torch.manual_seed calls it)
    torch.cuda.manual_seed_all = lambda seed: None
    mrandom._get_cuda_rng_state = lambda *a, **k: torch.get_rng_state()
    mrandom._set_cuda_rng_state = lambda state, *a, **k: torch.set_rng_state(state)
    torch.Tensor.cuda = lambda self, *a, **k: self
    # clip_grads asserts grads are torch.cuda.FloatTensor; report the CUDA type name for CPU tensors
    _type = torch.Tensor.type

    def _cuda_type(self, dtype=None, *a, **k):
        if dtype is None:
            name = _type(self)
            return name.replace("torch.", "torch.cuda.", 1) if not name.startswith("torch.cuda") else name
        return _type(self, dtype, *a, **k)

    torch.Tensor.type = _cuda_type
    _CudaToCpu().__enter__()
    _installed = True
