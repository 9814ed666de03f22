"""Program-of-thought: turn a completion into a program, run it in the sandbox, read the answer.

The PoT prompts end inside a ```python fence, so the completion is the program up to the closing
fence; a completion that opens its own fence is also understood. The answer is the last non-empty
line the program prints (PoT, Chen et al. 2022; MAmmoTH's `print(...)` convention). The program
runs in `sciloom.corpus.sandbox` exactly as the prompt stages run `<work>` programs: in a
bubblewrap + seccomp sandbox, or, with `unsafe_no_sandbox` on a machine without one, under the
Python guards only (docs/sandbox.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sciloom.corpus.sandbox import run_python

_FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)(?:```|$)", re.DOTALL)


@dataclass
class ProgramRun:
    """A PoT program's result: `answer` is None when it failed or printed nothing."""

    answer: str | None
    stdout: str
    error: str | None  # the sandbox reason (timeout, forbidden_import, nonzero_exit, ...)


def program_from_completion(completion: str) -> str:
    """The Python code of a PoT completion (text before the closing fence, or the first fenced block)."""
    stripped = completion.lstrip("\n")
    if stripped.startswith("```"):
        m = _FENCE.search(stripped)
        return m.group(1).strip("\n") if m else ""
    return completion.split("```", 1)[0].strip("\n")


def run_program(
    completion: str, *, timeout_s: float = 5.0, memory_mb: int = 1024, unsafe_no_sandbox: bool = False
) -> ProgramRun:
    """Run the program of a PoT completion in the sandbox and take its last printed line."""
    code = program_from_completion(completion)
    if not code.strip():
        return ProgramRun(answer=None, stdout="", error="empty_program")
    result = run_python(code, timeout_s=timeout_s, memory_mb=memory_mb, unsafe_no_sandbox=unsafe_no_sandbox)
    if not result.ok:
        return ProgramRun(answer=None, stdout=result.stdout[-2000:], error=result.reason)
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    return ProgramRun(answer=lines[-1] if lines else None, stdout=result.stdout[-2000:], error=None)


def run_programs(
    completions: Sequence[str],
    *,
    timeout_s: float = 5.0,
    memory_mb: int = 1024,
    workers: int | None = None,
    unsafe_no_sandbox: bool = False,
) -> list[ProgramRun]:
    """`run_program` for many completions at once, in order; each runs in its own sandbox process,
    so threads only wait (default: one per CPU core, at most 8)."""
    workers = workers or min(8, os.cpu_count() or 1)

    def one(completion: str) -> ProgramRun:
        return run_program(
            completion, timeout_s=timeout_s, memory_mb=memory_mb, unsafe_no_sandbox=unsafe_no_sandbox
        )

    if workers <= 1 or len(completions) <= 1:
        return [one(c) for c in completions]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, completions))
