"""vLLM offline backend: `LLM.generate` over a whole batch (GPU only; `pip install 'sciloom[vllm]'`).

One `LLM` per task process, loaded on first use (tensor parallel over `tensor_parallel_size`
GPUs). All missing requests of a call go to one `generate` with a `SamplingParams` per request
(`n`, temperature, top-p, max tokens, stop, `seed`), so vLLM's continuous batching sees the whole
batch. Under Slurm, run one task per node (docs/synth.md). Without vLLM the backend refuses to
start with a `BackendError` that says how to install it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from sciloom.corpus.synth.backends.base import Backend, BackendError, GenerationFailure, Job, Request
from sciloom.corpus.synth.config import BackendConfig

INSTALL_HINT = "backend vllm needs the vllm package and a CUDA GPU: pip install 'sciloom[vllm]'"


def import_vllm():
    """The vllm module, or a BackendError naming the extra to install."""
    try:
        import vllm
    except ImportError as err:
        raise BackendError(f"{INSTALL_HINT} ({err})") from err
    return vllm


class VLLMBackend(Backend):
    def __init__(self, config: BackendConfig, cache_dir: str | os.PathLike | None) -> None:
        super().__init__(config, cache_dir)
        import_vllm()  # fail at stage start, before any task runs
        self._llm = None

    @property
    def llm(self):
        if self._llm is None:
            vllm = import_vllm()
            kwargs = dict(
                model=self.config.model,
                tensor_parallel_size=self.config.tensor_parallel_size,
                gpu_memory_utilization=self.config.gpu_memory_utilization,
                dtype=self.config.dtype,
            )
            if self.config.max_model_len:
                kwargs["max_model_len"] = self.config.max_model_len
            self._llm = vllm.LLM(**kwargs)
        return self._llm

    def _generate_missing(
        self, requests: list[Request], jobs: list[Job], store: Callable[[Job, str], None]
    ) -> list[str | GenerationFailure]:
        vllm = import_vllm()
        wanted = sorted({j.request for j in jobs})
        params = []
        for i in wanted:
            s = requests[i].sampling
            params.append(
                vllm.SamplingParams(
                    n=s.n,
                    temperature=s.temperature,
                    top_p=s.top_p if s.temperature > 0 else 1.0,
                    max_tokens=s.max_tokens,
                    stop=list(s.stop) or None,
                    seed=requests[i].seed,
                )
            )
        outputs = self.llm.generate([requests[i].prompt for i in wanted], params, use_tqdm=False)
        texts: dict[tuple[int, int], str] = {}
        for i, result in zip(wanted, outputs, strict=True):
            for j, sample in enumerate(result.outputs):
                texts[(i, j)] = sample.text
                self.tokens_generated += len(sample.token_ids)
        out: list[str | GenerationFailure] = []
        for job in jobs:
            text = texts.get((job.request, job.index))
            if text is None:
                out.append(GenerationFailure("vllm returned fewer samples than asked"))
                continue
            store(job, text)
            out.append(text)
        return out

    def close(self) -> None:
        self._llm = None
