"""Why a sandboxed run did not succeed: the reason constants and how a run's end maps to one.

The constants are part of the manifest interface (the prompt stages drop a record as
`program_<reason>`), so they never change meaning. The child's bootstrap reports a guard verdict
through its exit code; the kernel reports a limit through a signal (bubblewrap passes a child's
death by signal N on as exit status 128 + N) or an errno the program's traceback names.
"""

from __future__ import annotations

import signal

TIMEOUT = "timeout"
MEMORY = "memory"
FORBIDDEN_IMPORT = "forbidden_import"
FORBIDDEN_OPERATION = "forbidden_operation"
FORBIDDEN_WRITE = "forbidden_write"
FORBIDDEN_READ = "forbidden_read"
FORBIDDEN_SYSCALL = "forbidden_syscall"  # the seccomp filter killed it (fork, exec, ptrace, ...)
FILE_SIZE = "file_size"
DISK_FULL = "disk_full"  # the sandbox's size-capped writable folder is full
SANDBOX_ERROR = "sandbox_error"  # the sandbox itself could not be set up for this run
KILLED = "killed"
NONZERO_EXIT = "nonzero_exit"

# Exit codes the bootstrap uses to tell the parent why it stopped (chosen outside 0-2 and 128+).
EXIT_CODES = {
    FORBIDDEN_IMPORT: 86,
    FORBIDDEN_OPERATION: 87,
    FORBIDDEN_WRITE: 88,
    MEMORY: 89,
    FORBIDDEN_READ: 90,
    SANDBOX_ERROR: 91,
}
_EXIT_REASONS = {code: reason for reason, code in EXIT_CODES.items()}


def death_signal(returncode: int, through_bwrap: bool) -> int | None:
    """The signal that ended the program, if one did."""
    if returncode < 0:
        return -returncode
    if through_bwrap and returncode > 128:
        return returncode - 128
    return None


def reason_for(
    returncode: int, timed_out: bool, stderr: str, *, through_bwrap: bool, output_full: bool = False
) -> str | None:
    """The reason constant of a finished run, or None for a clean exit 0.

    `output_full`: stdout or stderr reached the file-size limit (then the traceback saying
    "File too large" may itself have had no room to be written).
    """
    if timed_out:
        return TIMEOUT
    if returncode == 0:
        return None
    if returncode in _EXIT_REASONS:
        return _EXIT_REASONS[returncode]
    if through_bwrap and returncode == 1 and stderr.startswith("bwrap: "):
        return SANDBOX_ERROR
    sig = death_signal(returncode, through_bwrap)
    if sig == signal.SIGSYS:
        return FORBIDDEN_SYSCALL
    if sig == signal.SIGXCPU:
        return TIMEOUT
    if sig == signal.SIGXFSZ or output_full or "File too large" in stderr:
        return FILE_SIZE
    last = stderr.strip().rsplit("\n", 1)[-1] if stderr.strip() else ""
    if "MemoryError" in last or "Cannot allocate memory" in last:
        return MEMORY
    if "No space left on device" in last:
        return DISK_FULL
    if sig is not None:
        return KILLED
    return NONZERO_EXIT
