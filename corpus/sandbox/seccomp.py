"""The seccomp filter every sandboxed program runs under, compiled once per process with libseccomp.

The filter is built here with libseccomp (through `pyseccomp`, a ctypes binding, so it needs the
Debian library `libseccomp2` and nothing compiled) and exported as a raw BPF program; the child's
bootstrap loads it with `prctl` before the program is compiled. It is an allow-list of nothing
in particular but a deny-list of what a math program never needs:

- process creation and replacement kill the process (`SIGSYS`, reason `forbidden_syscall`):
  `fork`, `vfork`, `execve`, `execveat`, and `clone` without `CLONE_THREAD` (threads still work).
  `clone3` fails with ENOSYS: its flags live in memory a filter cannot read, and glibc then falls
  back to `clone`, which is checked. This is what stops fork bombs when the caller is root, for
  whom Linux ignores RLIMIT_NPROC.
- `ptrace` and `process_vm_readv/writev` kill too (reading or steering another process).
- sockets other than AF_UNIX fail with EPERM (the network namespace already has no route).
- namespace, mount, module, keyring, BPF, perf, io_uring, userfaultfd, clock and reboot calls
  fail with EPERM (Docker's default profile refuses the same families).

Other architectures' system call numbers (i386 via `int 0x80`, x32) kill the process: libseccomp
adds that check to every filter.
"""

from __future__ import annotations

import errno
import functools
import tempfile

CLONE_THREAD = 0x00010000
AF_UNIX = 1

KILL = ("fork", "vfork", "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev")
REFUSE = (
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "open_by_handle_at",
    "name_to_handle_at",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "syslog",
    "quotactl",
    "iopl",
    "ioperm",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "fanotify_init",
    "lookup_dcookie",
)


class SeccompUnavailable(RuntimeError):
    """libseccomp (or its Python binding) is missing, or cannot build the filter here."""


@functools.lru_cache(maxsize=1)
def filter_program() -> bytes:
    """The filter as raw BPF (`struct sock_filter` array) for this machine's architecture."""
    try:
        import pyseccomp as sc
    except (ImportError, RuntimeError, OSError) as err:  # RuntimeError: "Unable to find libseccomp"
        raise SeccompUnavailable(f"pyseccomp/libseccomp not usable: {err}") from err
    try:
        f = sc.SyscallFilter(sc.ALLOW)
        for name in KILL:
            f.add_rule(sc.KILL_PROCESS, name)
        f.add_rule(sc.KILL_PROCESS, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
        f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
        f.add_rule(sc.ERRNO(errno.EPERM), "socket", sc.Arg(0, sc.NE, AF_UNIX))
        for name in REFUSE:
            f.add_rule(sc.ERRNO(errno.EPERM), name)
        with tempfile.TemporaryFile() as fh:
            f.export_bpf(fh)
            fh.seek(0)
            program = fh.read()
    except (OSError, ValueError, RuntimeError) as err:
        raise SeccompUnavailable(f"libseccomp could not build the filter: {err}") from err
    if not program or len(program) % 8:
        raise SeccompUnavailable(f"libseccomp exported a malformed filter ({len(program)} bytes)")
    return program
