"""Run a model-written or dataset-supplied Python program in an OS-level sandbox: `run_python(code)`.

Program-of-thought records, the mix's `<work>` traces and `sciloom eval --mode pot` execute
Python that a model (or a dataset) wrote. An in-process Python guard cannot be made safe against
such code (`_posixsubprocess.fork_exec`, `os.open(..., dir_fd=)` walk around any audit hook), so
isolation comes from the kernel, in layers (docs/sandbox.md says what each one holds, and the
attack suite in tests/security/ checks it):

1. bubblewrap (`bwrap.py`): new user, mount, pid, network, IPC and UTS namespaces, no
   capabilities, a read-only view of only the shared libraries and the interpreter's folders,
   a size-capped empty tmpfs as the working folder, no network, a clean environment.
2. seccomp (`seccomp.py`): starting or replacing a process kills the program; sockets other
   than AF_UNIX, mounts, namespaces, ptrace, BPF and similar calls are refused.
3. rlimits set by the child before it reads the program: address space, CPU seconds, file
   size (which also caps stdout/stderr), processes, core dumps; plus a wall-clock timeout that
   kills the whole sandbox.
4. the Python guards (`bootstrap.py`, a PEP 578 audit hook): the layer that existed before, kept
   because it names the reason (`forbidden_import`, `forbidden_write`, ...) before the kernel
   has to step in.

Where bwrap or seccomp is unavailable, `run_python` refuses with `SandboxUnavailableError`
unless the caller passes `unsafe_no_sandbox=True` (CLI `--unsafe-no-sandbox`); it never falls
back silently. `sandbox_isolation()` tells what a run will get, for the manifest.
"""

from sciloom.corpus.sandbox.reasons import (
    DISK_FULL,
    FILE_SIZE,
    FORBIDDEN_IMPORT,
    FORBIDDEN_OPERATION,
    FORBIDDEN_READ,
    FORBIDDEN_SYSCALL,
    FORBIDDEN_WRITE,
    KILLED,
    MEMORY,
    NONZERO_EXIT,
    SANDBOX_ERROR,
    TIMEOUT,
)
from sciloom.corpus.sandbox.runner import (
    BWRAP,
    NONE,
    SandboxResult,
    SandboxUnavailableError,
    kernel_sandbox_problem,
    run_python,
    sandbox_isolation,
)

__all__ = [
    "BWRAP",
    "DISK_FULL",
    "FILE_SIZE",
    "FORBIDDEN_IMPORT",
    "FORBIDDEN_OPERATION",
    "FORBIDDEN_READ",
    "FORBIDDEN_SYSCALL",
    "FORBIDDEN_WRITE",
    "KILLED",
    "MEMORY",
    "NONE",
    "NONZERO_EXIT",
    "SANDBOX_ERROR",
    "TIMEOUT",
    "SandboxResult",
    "SandboxUnavailableError",
    "kernel_sandbox_problem",
    "run_python",
    "sandbox_isolation",
]
