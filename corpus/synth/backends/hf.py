"""Hugging Face transformers backend: batched `generate` on CPU or one GPU, for tests and small models.

Reuses `sciloom eval`'s `Generator` (left padding, stop strings checked on the decoded tail,
completion cut at the first stop). Requests are grouped by sampling settings into batches of
`batch_size // n` prompts; each batch is seeded with the seed of its first request, so a run is
reproducible for the same inputs, batch size and machine (floating-point results, and hence
samples, may differ between CPU and GPU kernels).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from sciloom.corpus.synth.backends.base import Backend, BackendError, GenerationFailure, Job, Request
from sciloom.corpus.synth.config import BackendConfig


class HFBackend(Backend):
    def __init__(self, config: BackendConfig, cache_dir: str | os.PathLike | None) -> None:
        super().__init__(config, cache_dir)
        self._generator = None

    @property
    def generator(self):
        if self._generator is None:
            from sciloom.pretrain.eval.generation import Generator

            try:
                self._generator = Generator(
                    self.config.model, device=self.config.device, dtype=self.config.dtype
                )
            except (OSError, ValueError) as err:
                raise BackendError(f"backend hf: cannot load {self.config.model}: {err}") from err
        return self._generator

    def _generate_missing(
        self, requests: list[Request], jobs: list[Job], store: Callable[[Job, str], None]
    ) -> list[str | GenerationFailure]:
        from sciloom.pretrain.eval.generation import SamplingConfig

        # all samples of a request are generated together (num_return_sequences), so group the
        # requests that lack any sample by their sampling settings
        wanted = sorted({j.request for j in jobs})
        groups: dict[object, list[int]] = {}
        for i in wanted:
            groups.setdefault(requests[i].sampling, []).append(i)
        texts: dict[tuple[int, int], str] = {}
        for members in groups.values():
            s = requests[members[0]].sampling
            n = s.n if s.temperature > 0 else 1
            per_batch = max(1, self.config.batch_size // n)
            for start in range(0, len(members), per_batch):
                batch = members[start : start + per_batch]
                sampling = SamplingConfig(
                    num_samples=n,
                    temperature=s.temperature,
                    top_p=s.top_p,
                    max_new_tokens=s.max_tokens,
                    batch_size=max(self.config.batch_size, n),
                    seed=requests[batch[0]].seed,
                )
                outs = self.generator.generate([requests[i].prompt for i in batch], sampling, s.stop)
                for i, samples in zip(batch, outs, strict=True):
                    for j in range(requests[i].sampling.n):
                        # greedy decoding: every sample is the one greedy completion
                        texts[(i, j)] = samples[j if n > 1 else 0]
                        self.tokens_generated += len(self.generator.tokenizer(texts[(i, j)])["input_ids"])
        out: list[str | GenerationFailure] = []
        for job in jobs:
            text = texts[(job.request, job.index)]
            store(job, text)
            out.append(text)
        return out

    def close(self) -> None:
        self._generator = None
