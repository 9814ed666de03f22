"""Run the programs of a batch of records in the sandbox, several at a time.

Every program a `<work>` trace or a PoT record shows is executed by `sciloom.corpus.sandbox`
(a fresh interpreter in a bubblewrap sandbox with seccomp, time, memory, process and file
limits; docs/sandbox.md). Each run costs a sandbox start (~40 ms), so a batch runs on a few
threads, each waiting on its own child; results come back in input order, so the output does
not depend on the thread count. Without an OS sandbox nothing runs unless `unsafe_no_sandbox`.

A run that fails is a drop reason `program_<sandbox reason>` (`program_timeout`,
`program_forbidden_import`, ...), so the manifest says why each record was refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sciloom.corpus.sandbox import SandboxResult, run_python

# The prompt kinds whose formatters execute programs (ingest: MathInstruct's PoT rows).
EXECUTING_KINDS = ("pot", "work", "ingest")

# Drop reasons shared by the executing formatters.
ANSWER_MISMATCH = "answer_mismatch"
NO_OUTPUT = "program_no_output"


@dataclass(frozen=True)
class ExecutionLimits:
    """Sandbox limits for one program, and how many run at once."""

    timeout_s: float = 5.0
    memory_mb: int = 512
    parallel: int = 4
    unsafe_no_sandbox: bool = False  # allow Python guards only where there is no OS sandbox


def run_programs(codes: Sequence[str], limits: ExecutionLimits) -> list[SandboxResult]:
    """Run each program in its own sandbox; results in the order of `codes`."""

    def one(code: str) -> SandboxResult:
        return run_python(
            code,
            timeout_s=limits.timeout_s,
            memory_mb=limits.memory_mb,
            unsafe_no_sandbox=limits.unsafe_no_sandbox,
        )

    if limits.parallel <= 1 or len(codes) <= 1:
        return [one(c) for c in codes]
    with ThreadPoolExecutor(max_workers=limits.parallel) as pool:
        return list(pool.map(one, codes))


def require_sandbox(sources: Sequence) -> None:
    """Before a build starts: refuse at once, not hours in, when a prompt source would run programs
    without an OS sandbox and its options do not say `unsafe_no_sandbox = true`."""
    from sciloom.corpus.sandbox import sandbox_isolation

    for src in sources:
        if getattr(src, "is_prompt_data", False) and getattr(src, "prompt_kind", None) in EXECUTING_KINDS:
            sandbox_isolation(unsafe_no_sandbox=bool(getattr(src.options, "unsafe_no_sandbox", False)))


def failure_reason(result: SandboxResult) -> str | None:
    """The drop reason of a run, or None when it ran cleanly and printed something."""
    if not result.ok:
        return f"program_{result.reason or 'failed'}"
    if not result.stdout.strip():
        return NO_OUTPUT
    return None


def printed_value(result: SandboxResult) -> str:
    """The last non-empty line the program printed."""
    lines = [ln.strip() for ln in result.stdout.splitlines() if ln.strip()]
    return lines[-1] if lines else ""
