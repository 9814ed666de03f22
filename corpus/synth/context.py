"""What every synthesis kind shares: the backend, seeds, templates, provenance, and its outcome type.

A kind turns a batch of `Problem`s into `Candidate`s, one list per problem: each candidate is a
record to keep (`text`), a drop with a snake_case `reason`, or a generation failure (`error`,
quarantined). The stage turns the first candidate of a problem into the problem's document and
announces the others as added, so `in + added = kept + dropped + quarantined` holds.

Seeds: a request's seed is the hash of the stage seed, the kind, the call's purpose and the
prompt text, with the low 16 bits zero; sample i of the request uses seed + i. So every sample
has its own seed, fixed by content: independent of batching, tasks, workers, file and source
names, and a rerun (or another build asking the same) finds the same samples in the cache.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sciloom.corpus.prompts.problems import Problem
from sciloom.corpus.synth.backends import Backend, Generation, Request, Sampling
from sciloom.corpus.synth.config import SynthConfig

# Reasons shared by the kinds (manifest interface).
GENERATION_FAILED = "generation_failed"
ANSWER_MISMATCH = "answer_mismatch"
NO_ANSWER = "no_answer_found"
EMPTY_GENERATION = "empty_generation"
UNCHANGED_QUESTION = "unchanged_question"
NO_MAJORITY = "no_majority"
UNANSWERABLE = "unanswerable"


@dataclass
class Candidate:
    """One generated record of a problem, or why it is not one."""

    text: str | None = None
    reason: str | None = None  # drop reason
    error: str | None = None  # generation failure (quarantined)
    metadata: dict[str, Any] = field(default_factory=dict)
    suffix: str = ""  # id suffix: `:rft2`, `:up0`
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)  # purpose -> sampling + seed


def template_hash(templates: dict[str, str]) -> str:
    blob = json.dumps(templates, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


class SynthContext:
    """The backend(s) and settings a kind generates with."""

    def __init__(
        self,
        kind: str,
        config: SynthConfig,
        backend: Backend,
        seed: int,
        templates: dict[str, str],
        optimizer: Backend | None = None,
    ) -> None:
        self.kind = kind
        self.config = config
        self.backend = backend
        self.optimizer = optimizer or backend
        self.seed = seed
        self.templates = templates
        self.template_sha256 = template_hash(templates)
        self.failures = 0
        self._seeds: dict[tuple[str, str], int] = {}  # (purpose, problem id) -> request seed

    def task(self, problem: Problem) -> str:
        return problem.task if self.config.task == "auto" else self.config.task

    def seed_for(self, text: str, purpose: str) -> int:
        digest = hashlib.sha256(f"{self.seed}:{self.kind}:{purpose}:{text}".encode()).digest()
        return (int.from_bytes(digest[:5], "big") & 0x7FFF_FFFF) << 16

    def sampling(
        self,
        n: int | None = None,
        temperature: float | None = None,
        stop: tuple[str, ...] | list[str] = (),
        max_tokens: int | None = None,
    ) -> Sampling:
        """The config's sampling settings, with the given ones replaced."""
        c = self.config
        return Sampling(
            n=c.samples if n is None else n,
            temperature=c.temperature if temperature is None else temperature,
            top_p=c.top_p,
            max_tokens=c.max_tokens if max_tokens is None else max_tokens,
            stop=tuple(stop),
        )

    def sample(
        self, purpose: str, items: list[tuple[str, str, Sampling]], optimizer: bool = False
    ) -> list[Generation]:
        """Completions for (problem id, prompt, sampling) triples, in one backend call (so a
        server sees them concurrently and hf/vllm batch them); `purpose` names the call in seeds
        and provenance."""
        backend = self.optimizer if optimizer else self.backend
        requests = []
        for pid, prompt, s in items:
            seed = self.seed_for(prompt, purpose)
            self._seeds[(purpose, pid)] = seed
            requests.append(Request(prompt, s, seed))
        gens = backend.generate(requests) if requests else []
        self.failures += sum(g.error is not None for g in gens)
        return gens

    def call_record(self, purpose: str, problem_id: str, sampling: Sampling, optimizer: bool = False) -> dict:
        backend = self.optimizer if optimizer else self.backend
        return {
            **backend.identity,
            "sampling": asdict(sampling) | {"stop": list(sampling.stop)},
            "seed": self._seeds.get((purpose, problem_id)),
        }

    def provenance(self, problem: Problem, candidate: Candidate) -> dict[str, Any]:
        return {
            "kind": self.kind,
            **self.backend.identity,
            "calls": candidate.calls,
            "stage_seed": self.seed,
            "prompt_template_sha256": self.template_sha256,
            "parent_problem_id": problem.id,
        }
