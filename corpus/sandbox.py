"""Run a model-written Python program in a child interpreter with limits: `run_python(code)`.

Program-of-thought evaluation and the mix's `<work>` traces execute Python that a model (or a
dataset) wrote. The program runs in a separate `python -I -B` process, in a fresh temporary
directory that is removed afterwards, with three layers of protection:

1. Kernel resource limits (`resource.setrlimit`) set by the child's bootstrap before it reads
   the program: address space (`RLIMIT_AS`, so a memory hog gets `MemoryError`), CPU seconds
   (`RLIMIT_CPU`), file size (`RLIMIT_FSIZE`, which also caps captured stdout/stderr since they
   are files), and processes (`RLIMIT_NPROC`; Linux ignores it for root, which is why layer 3
   exists). They are set in the child rather than in a `preexec_fn` because `preexec_fn` is unsafe
   when the caller has threads (a thread pool of sandboxes) and forces a full `fork()` of the
   caller, which is slow when it holds a large model; without it CPython can use `vfork`.
2. A wall-clock timeout: the child leads its own process group and the whole group is killed
   with SIGKILL when the time is up.
3. A PEP 578 audit hook (`sys.addaudithook`) installed by a small bootstrap before the program is
   compiled and run. It stops the interpreter at once (`os._exit`) on importing network modules
   (`socket`, `ssl`, ...), on starting processes (`os.fork`, `os.system`, `os.exec*`,
   `os.posix_spawn`, `subprocess.Popen`), on sending signals, raising resource limits, loading
   native libraries by name (`ctypes.dlopen`), and on any write, delete, rename or chmod outside
   the temporary directory (`open` with a write flag, `os.remove`, ...). Exiting instead of raising
   means `try: ... except: pass` around a fork bomb cannot swallow the verdict.

Importing `subprocess` or `ctypes` is allowed (numpy and sympy import them); using them to start
processes or load libraries is not. This guards against accidents and runaway programs (infinite
loops, fork bombs, stray writes, downloads), in the spirit of OpenAI human-eval's
`reliability_guard`; it is not a security boundary against deliberately hostile code, which
belongs in a container or VM.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Reasons a run did not succeed (SandboxResult.reason), part of the interface the mix records.
TIMEOUT = "timeout"
MEMORY = "memory"
FORBIDDEN_IMPORT = "forbidden_import"
FORBIDDEN_OPERATION = "forbidden_operation"
FORBIDDEN_WRITE = "forbidden_write"
FILE_SIZE = "file_size"
KILLED = "killed"
NONZERO_EXIT = "nonzero_exit"

# Exit codes the bootstrap uses to tell the parent why it stopped (chosen outside 0-2 and 128+).
_EXIT_REASONS = {
    86: FORBIDDEN_IMPORT,
    87: FORBIDDEN_OPERATION,
    88: FORBIDDEN_WRITE,
    89: MEMORY,
}

_FORBIDDEN_MODULES = (
    "socket",
    "_socket",
    "ssl",
    "_ssl",
    "asyncio",
    "http.client",
    "urllib.request",
    "ftplib",
    "smtplib",
    "telnetlib",
    "multiprocessing",
    "_multiprocessing",
    "pty",
)

_FORBIDDEN_EVENTS = (
    "os.fork",
    "os.forkpty",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.kill",
    "os.killpg",
    "signal.pthread_kill",
    "subprocess.Popen",
    "resource.setrlimit",
    "resource.prlimit",
    "socket.__new__",
    "socket.connect",
    "socket.bind",
    "socket.getaddrinfo",
    "ctypes.dlsym",
    "ctypes.dlsym/handle",
    "sys.remote_exec",
)

# Events whose first argument is a path that must lie inside the sandbox directory.
_PATH_EVENTS = (
    "os.remove",
    "os.rmdir",
    "os.mkdir",
    "os.chmod",
    "os.chown",
    "os.truncate",
    "os.utime",
    "os.symlink",
    "os.link",
    "os.rename",
    "shutil.rmtree",
    "shutil.move",
    "shutil.chown",
    "sqlite3.connect",
)

# The bootstrap runs as `python -I -B -c BOOTSTRAP CODE_FILE WORK_DIR LIMITS`. Everything it needs is
# imported before the hook is installed; the hook itself only uses those modules.
_BOOTSTRAP = r"""
import os, sys, traceback, resource
for spec in sys.argv[3].split(","):
    which, value = spec.split("=")
    value = int(value)
    hard = value + 1 if which == "RLIMIT_CPU" else value
    resource.setrlimit(getattr(resource, which), (value, hard))
code_path, work_dir = sys.argv[1], os.path.realpath(sys.argv[2])
with open(code_path, encoding="utf-8") as f:
    source = f.read()
FORBIDDEN_MODULES = frozenset(@MODULES@)
FORBIDDEN_EVENTS = frozenset(@EVENTS@)
PATH_EVENTS = frozenset(@PATH_EVENTS@)
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
ALLOWED_FILES = frozenset(["/dev/null"])

def stop(code, message):
    try:
        sys.stdout.flush()
    except BaseException:
        pass
    try:
        os.write(2, ("\nsandbox: " + message + "\n").encode("utf-8", "replace"))
    finally:
        os._exit(code)

def inside(path):
    if isinstance(path, int):
        return True
    if isinstance(path, bytes):
        path = path.decode("utf-8", "surrogateescape")
    real = os.path.realpath(os.fspath(path))
    return real == work_dir or real.startswith(work_dir + os.sep) or real in ALLOWED_FILES

def hook(event, args):
    if event == "import":
        name = args[0]
        if name in FORBIDDEN_MODULES or name.split(".", 1)[0] in FORBIDDEN_MODULES:
            stop(86, "forbidden_import: " + name)
    elif event == "open":
        path, mode, flags = args
        writing = (isinstance(flags, int) and flags & WRITE_FLAGS) or (
            isinstance(mode, str) and any(c in mode for c in "wax+"))
        if writing and not inside(path):
            stop(88, "forbidden_write: " + repr(path))
    elif event in FORBIDDEN_EVENTS:
        stop(87, "forbidden_operation: " + event)
    elif event == "ctypes.dlopen" and args and args[0] is not None:
        stop(87, "forbidden_operation: ctypes.dlopen " + repr(args[0]))
    elif event in PATH_EVENTS:
        for path in args[:2]:
            if isinstance(path, (str, bytes, os.PathLike)) and not inside(path):
                stop(88, "forbidden_write: " + event + " " + repr(path))

sys.argv = ["main.py"]
sys.dont_write_bytecode = True
code = compile(source, "main.py", "exec")
sys.addaudithook(hook)
del source
try:
    exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
except MemoryError:
    stop(89, "memory: MemoryError")
except SystemExit:
    raise
except BaseException as exc:
    # the traceback starts at the program, not at this bootstrap
    traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)
    sys.stderr.flush()
    sys.exit(1)
"""
_BOOTSTRAP = (
    _BOOTSTRAP.replace("@MODULES@", repr(_FORBIDDEN_MODULES))
    .replace("@EVENTS@", repr(_FORBIDDEN_EVENTS))
    .replace("@PATH_EVENTS@", repr(_PATH_EVENTS))
)


@dataclass
class SandboxResult:
    """What a sandboxed program did.

    `ok` is True only for a clean exit 0; otherwise `reason` is one of the module's reason
    constants (`timeout`, `memory`, `forbidden_import`, `forbidden_operation`,
    `forbidden_write`, `file_size`, `killed`, `nonzero_exit`).
    """

    ok: bool
    stdout: str
    stderr: str
    reason: str | None
    returncode: int | None
    wall_s: float = 0.0


def run_python(
    code: str,
    *,
    timeout_s: float = 5.0,
    memory_mb: int = 512,
    file_size_mb: int = 8,
    max_processes: int = 0,
    stdin: str = "",
) -> SandboxResult:
    """Run `code` as `__main__` in a fresh child interpreter and return its output and verdict.

    `timeout_s` is wall-clock time (the CPU limit is set slightly above it), `memory_mb` the
    address-space limit, `file_size_mb` the largest file the program may write (its stdout and
    stderr included), `max_processes` the RLIMIT_NPROC value (ineffective for root; the audit
    hook blocks process creation regardless). Output is decoded as UTF-8 with replacement.
    """
    import time

    if timeout_s <= 0:
        raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
    root = Path(tempfile.mkdtemp(prefix="sciloom-sandbox-"))
    try:
        work = root / "work"
        work.mkdir()
        code_file = root / "main.py"
        code_file.write_text(code, encoding="utf-8")
        limits = {
            "RLIMIT_AS": memory_mb * 1024 * 1024,
            "RLIMIT_CPU": math.ceil(timeout_s) + 1,
            "RLIMIT_FSIZE": file_size_mb * 1024 * 1024,
            "RLIMIT_NPROC": max_processes,
            "RLIMIT_CORE": 0,
        }
        env = {
            "PATH": os.defpath,
            "HOME": str(work),
            "TMPDIR": str(work),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            # numpy's BLAS would otherwise start one thread per core and reserve memory for each
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "MPLBACKEND": "Agg",
        }
        argv = [
            sys.executable,
            "-I",
            "-B",
            "-X",
            "utf8",
            "-c",
            _BOOTSTRAP,
            str(code_file),
            str(work),
            ",".join(f"{k}={v}" for k, v in limits.items()),
        ]
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
                cwd=work,
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
        stdout = _read_text(out_path)
        stderr = _read_text(err_path)
        reason = _reason(proc.returncode, timed_out, stderr)
        return SandboxResult(
            ok=reason is None,
            stdout=stdout,
            stderr=stderr,
            reason=reason,
            returncode=proc.returncode,
            wall_s=wall,
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


def _reason(returncode: int, timed_out: bool, stderr: str) -> str | None:
    if timed_out:
        return TIMEOUT
    if returncode == 0:
        return None
    if returncode in _EXIT_REASONS:
        return _EXIT_REASONS[returncode]
    if returncode == -signal.SIGXCPU:
        return TIMEOUT
    if returncode == -signal.SIGXFSZ or "File too large" in stderr:
        return FILE_SIZE
    last = stderr.strip().rsplit("\n", 1)[-1] if stderr.strip() else ""
    if "MemoryError" in last or "Cannot allocate memory" in last:
        return MEMORY
    if returncode < 0:
        return KILLED
    return NONZERO_EXIT
