"""The backend interface: a batch of prompts in, k completions per prompt out.

A `Request` is a prompt, its `Sampling` (k, temperature, top-p, max tokens, stop strings) and a
seed; sample i of a request uses seed + i, so samples are reproducible one by one and a partly
cached request asks only for its missing samples. `Backend.generate(requests)` returns one
`Generation` per request, in order: k texts, or an `error` when the model could not be reached
(after the backend's retries), so one failing request never costs the others. Errors that no
retry can fix (bad credentials, unknown model, the library missing) raise `BackendError`.

Every completion goes through the on-disk `RequestCache` (`cache.py`); backends implement
`_generate_missing(jobs)` for the (request, sample index) pairs the cache has not got.
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sciloom.corpus.errors import StageError
from sciloom.corpus.synth.backends.cache import RequestCache, cache_key
from sciloom.corpus.synth.config import BackendConfig

logger = logging.getLogger(__name__)


class BackendError(StageError):
    """The backend cannot serve any request (configuration, credentials, missing library)."""

    exit_code = 2  # the user's to fix, like a recipe error


@dataclass(frozen=True)
class Sampling:
    """Decoding settings of one request (`n` completions)."""

    n: int = 1
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 512
    stop: tuple[str, ...] = ()

    def params(self) -> dict[str, Any]:
        """The settings that decide one sample (the cache key; `n` is not one of them)."""
        d = asdict(self)
        d.pop("n")
        d["stop"] = list(self.stop)
        if self.temperature == 0:  # greedy: top-p has no effect
            d["top_p"] = 1.0
        return d


@dataclass(frozen=True)
class Request:
    prompt: str
    sampling: Sampling
    seed: int = 0


@dataclass
class Generation:
    """The completions of one request, or why there are none."""

    texts: list[str] = field(default_factory=list)
    error: str | None = None
    cached: int = 0  # samples served from the cache


@dataclass(frozen=True)
class Job:
    """One sample to generate: request number, sample index, cache key."""

    request: int
    index: int
    key: str


class Backend(ABC):
    """Base: caching and bookkeeping; subclasses generate what the cache lacks."""

    def __init__(self, config: BackendConfig, cache_dir: str | os.PathLike | None) -> None:
        self.config = config
        self.cache = RequestCache(cache_dir)
        self.requests_sent = 0  # samples asked of the model (not served by the cache)
        self.tokens_generated = 0  # where the backend knows them

    @property
    def identity(self) -> dict[str, Any]:
        return self.config.identity()

    def generate(self, requests: list[Request]) -> list[Generation]:
        """k completions per request (see the module docstring)."""
        results: list[list[str | None]] = [[None] * r.sampling.n for r in requests]
        cached = [0] * len(requests)
        missing: list[Job] = []
        for i, req in enumerate(requests):
            params = req.sampling.params()
            for j in range(req.sampling.n):
                key = cache_key(self.config.cache_identity(), req.prompt, params, req.seed + j, j)
                text = self.cache.get(key)
                if text is None:
                    missing.append(Job(i, j, key))
                else:
                    results[i][j] = text
                    cached[i] += 1
        errors: dict[int, str] = {}
        if missing:
            self.requests_sent += len(missing)

            def store(job: Job, text: str) -> None:
                # as soon as a sample arrives: a stage killed mid-batch keeps what it paid for
                self.cache.put(job.key, text, {"seed": requests[job.request].seed + job.index})

            for job, outcome in zip(missing, self._generate_missing(requests, missing, store), strict=True):
                if isinstance(outcome, GenerationFailure):
                    errors.setdefault(job.request, outcome.reason)
                    continue
                results[job.request][job.index] = outcome
        out = []
        for i, texts in enumerate(results):
            if i in errors:
                out.append(Generation([], errors[i], cached[i]))
            else:
                out.append(Generation([t or "" for t in texts], None, cached[i]))
        return out

    @abstractmethod
    def _generate_missing(
        self, requests: list[Request], jobs: list[Job], store: Callable[[Job, str], None]
    ) -> list[str | GenerationFailure]:
        """Text (or a `GenerationFailure`) for each job, in the order of `jobs`; `store(job, text)`
        is called for each text as soon as it exists."""

    def close(self) -> None:
        """Release the model or connections (hf/vllm free their memory)."""
        return None


@dataclass(frozen=True)
class GenerationFailure:
    """A sample that could not be generated after every retry; `reason` says why."""

    reason: str
