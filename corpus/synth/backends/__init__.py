"""Generation backends behind one interface: prompts in, k completions out (see `base.Backend`)."""

from __future__ import annotations

from pathlib import Path

from sciloom.corpus.synth.backends.base import Backend, BackendError, Generation, Request, Sampling
from sciloom.corpus.synth.config import BackendConfig

__all__ = ["Backend", "BackendError", "Generation", "Request", "Sampling", "make_backend"]


def make_backend(config: BackendConfig, cache_dir: str | Path | None) -> Backend:
    """The backend a config names; heavy libraries are imported only by the chosen one."""
    if config.name == "openai":
        from sciloom.corpus.synth.backends.openai_http import OpenAIBackend

        return OpenAIBackend(config, cache_dir)
    if config.name == "hf":
        from sciloom.corpus.synth.backends.hf import HFBackend

        return HFBackend(config, cache_dir)
    from sciloom.corpus.synth.backends.vllm_offline import VLLMBackend

    return VLLMBackend(config, cache_dir)
