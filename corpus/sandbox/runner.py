"""`run_python(code)`: one program, one fresh sandboxed interpreter, one verdict.

The parent writes the job (program, settings, seccomp filter) to a private temporary folder,
starts `bwrap ... python -I -B -c BOOTSTRAP job.json` in its own process group with a clean
environment, waits at most `timeout_s` and then kills the group; bubblewrap's
`--die-with-parent` and the end of the pid namespace take every process the program left with
it. The program's stdout and stderr go to files, so RLIMIT_FSIZE also caps them.

Without a kernel sandbox (no bwrap, user namespaces refused, no libseccomp) nothing runs unless
the caller passes `unsafe_no_sandbox=True`: then the program runs as before this package existed,
in a plain child interpreter under the guards, the rlimits and (when libseccomp is there) the
seccomp filter, with a host temporary folder as its working directory.
"""

from __future__ import annotations

import functools
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sciloom.corpus.errors import UsageError
from sciloom.corpus.sandbox import bwrap
from sciloom.corpus.sandbox.reasons import reason_for
from sciloom.corpus.sandbox.seccomp import SeccompUnavailable, filter_program

BWRAP = "bwrap"  # isolation: kernel namespaces + seccomp + rlimits + guards
NONE = "none"  # isolation: --unsafe-no-sandbox on a machine without bwrap: guards + rlimits (+ seccomp)

_BOOTSTRAP = (Path(__file__).parent / "bootstrap.py").read_text(encoding="utf-8")


class SandboxUnavailableError(UsageError):
    """No OS-level sandbox here, and the caller did not accept running without one."""


@dataclass
class SandboxResult:
    """What a sandboxed program did.

    `ok` is True only for a clean exit 0; otherwise `reason` is one of the reason constants of
    `sciloom.corpus.sandbox.reasons`. `isolation` is `bwrap` or `none` (unsafe mode).
    """

    ok: bool
    stdout: str
    stderr: str
    reason: str | None
    returncode: int | None
    wall_s: float = 0.0
    isolation: str = BWRAP


def run_python(
    code: str,
    *,
    timeout_s: float = 5.0,
    memory_mb: int = 512,
    file_size_mb: int = 8,
    disk_mb: int = 64,
    max_processes: int = 0,
    stdin: str = "",
    unsafe_no_sandbox: bool = False,
    python_guards: bool = True,
) -> SandboxResult:
    """Run `code` as `__main__` in a fresh sandboxed interpreter and return its output and verdict.

    `timeout_s` is wall-clock time (the CPU limit is set slightly above it), `memory_mb` the
    address-space limit, `file_size_mb` the largest file the program may write (its stdout and
    stderr included), `disk_mb` the size of its writable folder, `max_processes` the
    RLIMIT_NPROC value (the seccomp filter refuses new processes regardless). Raises
    `SandboxUnavailableError` when there is no kernel sandbox and `unsafe_no_sandbox` is False.
    `python_guards=False` leaves out the audit-hook layer: only for testing the kernel layer alone.
    Output is decoded as UTF-8 with replacement.
    """
    if timeout_s <= 0:
        raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
    kernel = kernel_sandbox_problem() is None
    if not kernel and not unsafe_no_sandbox:
        raise SandboxUnavailableError(_refusal(kernel_sandbox_problem()))
    return _execute(
        code,
        kernel=kernel,
        timeout_s=timeout_s,
        memory_mb=memory_mb,
        file_size_mb=file_size_mb,
        disk_mb=disk_mb,
        max_processes=max_processes,
        stdin=stdin,
        guards=python_guards,
    )


def sandbox_isolation(*, unsafe_no_sandbox: bool = False) -> dict:
    """The isolation programs will get here, for the manifest; refuses like `run_python` does.

    Call it before any work starts, so a machine without a sandbox fails at once with one line.
    """
    problem = kernel_sandbox_problem()
    if problem is None:
        return {
            "isolation": BWRAP,
            "bwrap": bwrap.bwrap_version(),
            "layers": ["namespaces", "seccomp", "rlimits", "python_guards"],
        }
    if not unsafe_no_sandbox:
        raise SandboxUnavailableError(_refusal(problem))
    layers = ["rlimits", "python_guards"] + (["seccomp"] if _seccomp_or_none() else [])
    return {"isolation": NONE, "unsafe_no_sandbox": True, "why": problem, "layers": layers}


def _refusal(problem: str | None) -> str:
    return (
        f"no OS sandbox for untrusted programs: {problem}; install bubblewrap "
        "(scripts/install-system-deps.sh) or pass --unsafe-no-sandbox (recipe: unsafe_no_sandbox = true) "
        "to run them with Python-level guards only"
    )


@functools.lru_cache(maxsize=1)
def kernel_sandbox_problem() -> str | None:
    """None when bwrap + seccomp work here (checked by running a program once), else why not."""
    if bwrap.find_bwrap() is None:
        return "bubblewrap (bwrap) is not installed"
    try:
        filter_program()
    except SeccompUnavailable as err:
        return str(err)
    probe = _execute(
        "print(6 * 7)",
        kernel=True,
        timeout_s=30.0,
        memory_mb=512,
        file_size_mb=1,
        disk_mb=1,
        max_processes=0,
        stdin="",
        guards=True,
    )
    if not (probe.ok and probe.stdout == "42\n"):
        detail = (probe.stderr.strip().splitlines() or [f"exit {probe.returncode}"])[-1]
        return f"bwrap cannot start a sandbox here ({detail})"
    return None


def _seccomp_or_none() -> bytes | None:
    try:
        return filter_program()
    except SeccompUnavailable:
        return None


def _execute(
    code: str,
    *,
    kernel: bool,
    timeout_s: float,
    memory_mb: int,
    file_size_mb: int,
    disk_mb: int,
    max_processes: int,
    stdin: str,
    guards: bool,
) -> SandboxResult:
    root = Path(tempfile.mkdtemp(prefix="sciloom-sandbox-"))
    try:
        job_dir = root / "job"
        job_dir.mkdir()
        (job_dir / "main.py").write_text(code, encoding="utf-8")
        bpf = filter_program() if kernel else _seccomp_or_none()
        if bpf is not None:
            (job_dir / "filter.bpf").write_bytes(bpf)
        if kernel:
            inside_job, work_dir, cwd = bwrap.JOB_DIR, bwrap.WORK_DIR, root
        else:
            work = root / "work"
            work.mkdir()
            inside_job, work_dir, cwd = str(job_dir), str(work), work
        job = {
            "code": f"{inside_job}/main.py",
            "work_dir": work_dir,
            "seccomp": f"{inside_job}/filter.bpf" if bpf is not None else None,
            "guards": guards,
            "read_roots": list(bwrap.interpreter_roots()),
            "limits": {
                "RLIMIT_AS": memory_mb * 1024 * 1024,
                "RLIMIT_CPU": math.ceil(timeout_s) + 1,
                "RLIMIT_FSIZE": file_size_mb * 1024 * 1024,
                "RLIMIT_NPROC": max_processes,
                "RLIMIT_CORE": 0,
            },
        }
        (job_dir / "job.json").write_text(json.dumps(job), encoding="utf-8")
        prefix = bwrap.bwrap_argv(job_dir, disk_mb) if kernel else []
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": work_dir,
            "TMPDIR": work_dir,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            # numpy's BLAS would otherwise start one thread per core and reserve memory for each
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "MPLBACKEND": "Agg",
        }
        argv = [*prefix, sys.executable, "-I", "-B", "-X", "utf8", "-c", _BOOTSTRAP, f"{inside_job}/job.json"]
        out_path, err_path, in_path = root / "stdout", root / "stderr", root / "stdin"
        in_path.write_text(stdin, encoding="utf-8")
        start = time.monotonic()
        timed_out = False
        with open(out_path, "wb") as out, open(err_path, "wb") as err, open(in_path, "rb") as inp:
            proc = subprocess.Popen(
                argv,
                stdin=inp,
                stdout=out,
                stderr=err,
                cwd=cwd,
                env=env,
                start_new_session=True,  # own process group: the timeout kills everything it left
                close_fds=True,
            )
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(proc.pid)
                proc.wait()
        wall = time.monotonic() - start
        stdout, stderr = _read_text(out_path), _read_text(err_path)
        limit = job["limits"]["RLIMIT_FSIZE"]
        full = max(out_path.stat().st_size, err_path.stat().st_size) >= limit
        reason = reason_for(proc.returncode, timed_out, stderr, through_bwrap=kernel, output_full=full)
        return SandboxResult(
            ok=reason is None,
            stdout=stdout,
            stderr=stderr,
            reason=reason,
            returncode=proc.returncode,
            wall_s=wall,
            isolation=BWRAP if kernel else NONE,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")
