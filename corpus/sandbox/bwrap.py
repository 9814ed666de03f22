"""The bubblewrap command line: which namespaces, which read-only folders, which writable one.

Each program gets a fresh `bwrap` (bubblewrap, the sandbox Flatpak uses) with new user, mount,
pid, network, IPC, UTS and cgroup namespaces (`--unshare-all`), no capabilities
(`--cap-drop ALL`), uid/gid 65534 inside, its own session (`--new-session`: no TIOCSTI into the
caller's terminal), no further user namespaces (`--disable-userns`) and `--die-with-parent`.
Its root is an empty tmpfs, remounted read-only once populated, holding only:

- read-only binds of the shared libraries (`/usr/lib*`, with `/lib*` as on the host) and
  `/etc/ld.so.cache`; no `/usr/bin`, so there is no shell to start even if exec were allowed;
- read-only binds of the interpreter's own folders: the base installation and the virtualenv
  (for a system Python under `/usr`, only its library folders and the executable);
- `/run/sciloom/` read-only: the job (program, settings, seccomp filter);
- `/sandbox`, a size-capped tmpfs: the program's working directory, HOME and TMPDIR;
- a fresh `/proc` for the new pid namespace and a minimal read-only `/dev` (null, zero, urandom...).

Nothing else of the host exists inside: not `/home`, `/root` (beyond the interpreter's folder if
it lives there), `/etc/passwd`, `/tmp`, the project's source or the caller's files.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

WORK_DIR = "/sandbox"  # the writable folder inside
JOB_DIR = "/run/sciloom"  # the job folder inside (read-only)
SANDBOX_UID = 65534  # "nobody"
_SYSTEM_PREFIXES = ("/", "/usr", "/usr/local")


def find_bwrap() -> str | None:
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=1)
def bwrap_version() -> str:
    bwrap = find_bwrap()
    if bwrap is None:
        return ""
    try:
        out = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip()


@functools.lru_cache(maxsize=1)
def interpreter_roots() -> tuple[str, ...]:
    """Host folders (real paths) the child interpreter reads: stdlib, site-packages, executable."""
    roots: set[str] = set()
    for prefix in {sys.base_prefix, sys.prefix, sys.base_exec_prefix, sys.exec_prefix}:
        real = os.path.realpath(prefix)
        if real not in _SYSTEM_PREFIXES:
            roots.add(real)
            continue
        # a system Python: its library folders only, never all of /usr or /
        scheme_vars = {"base": prefix, "platbase": prefix, "installed_base": prefix}
        for key in ("stdlib", "platstdlib", "purelib", "platlib"):
            path = sysconfig.get_path(key, vars=scheme_vars)
            if path and os.path.isdir(path):
                roots.add(os.path.realpath(path))
    for exe in (sys.executable, os.path.realpath(sys.executable)):
        if not any(_under(exe, r) for r in roots):
            roots.add(exe)
    # keep only the outermost: binding a folder inside an already bound one is redundant
    ordered = sorted(roots, key=len)
    return tuple(r for i, r in enumerate(ordered) if not any(_under(r, o) for o in ordered[:i]))


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _library_mounts() -> list[str]:
    args: list[str] = []
    for lib in ("/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libx32"):
        if os.path.isdir(lib) and not os.path.islink(lib):
            args += ["--ro-bind", lib, lib]
    for lib in ("/lib", "/lib64", "/lib32", "/libx32"):
        if os.path.islink(lib):
            args += ["--symlink", os.readlink(lib), lib]
        elif os.path.isdir(lib):
            args += ["--ro-bind", lib, lib]
    args += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    return args


def bwrap_argv(job_dir: Path, disk_mb: int) -> list[str]:
    """The `bwrap ... --` prefix for one run whose job files are in `job_dir` (host path)."""
    bwrap = find_bwrap()
    if bwrap is None:
        raise FileNotFoundError("bwrap")
    args = [
        bwrap,
        "--unshare-all",
        "--unshare-user",  # implied for unprivileged callers, not for root: always wanted
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_UID),
        "--hostname",
        "sandbox",
        *_library_mounts(),
    ]
    for root in interpreter_roots():
        args += ["--ro-bind", root, root]
    args += [
        "--proc",
        "/proc",
        # Run by root, bubblewrap maps the sandbox's uid to host uid 0, and a process whose kernel
        # uid is 0 passes the permission check of every writable sysctl (core_pattern among them)
        # even without capabilities. No program needs /proc/sys: an empty read-only tmpfs hides it.
        "--tmpfs",
        "/proc/sys",
        "--remount-ro",
        "/proc/sys",
        # the other /proc files uid 0 may open for writing (bwrap covers sysrq-trigger, irq, bus)
        "--ro-bind-try",
        "/proc/mtrr",
        "/proc/mtrr",
        "--ro-bind-try",
        "/proc/pressure",
        "/proc/pressure",
        "--dev",
        "/dev",
        "--size",
        str(disk_mb * 1024 * 1024),
        "--tmpfs",
        WORK_DIR,
        "--ro-bind",
        str(job_dir),
        JOB_DIR,
        "--remount-ro",
        "/dev",
        "--remount-ro",
        "/",
        "--chdir",
        WORK_DIR,
        "--",
    ]
    return args
