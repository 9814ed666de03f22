"""The child side of the sandbox: limits, seccomp, guards, then the program (stdlib only).

This file is not imported by sciloom: its source is passed to `python -I -B -c` and runs as the
child's `__main__` with one argument, the path of a JSON job (the program's path, the writable
folder, the rlimits, the seccomp program, whether to install the guards, the folders that may be
read). In order, before any of the program's code exists as code:

1. `setrlimit` for address space, CPU seconds, file size, processes and core dumps.
2. The seccomp filter (a BPF program compiled by the parent, `seccomp.py`) is loaded with
   `prctl(PR_SET_NO_NEW_PRIVS)` + `prctl(PR_SET_SECCOMP)`; from here on no process can be started
   or replaced, whatever the program calls. If loading fails, the program does not run.
3. The guards (a PEP 578 audit hook, the second layer): stop the interpreter at once
   (`os._exit`, so `try/except` cannot swallow it) on importing network modules, on starting
   processes, sending signals, raising rlimits, on ctypes calls, on writes outside the writable
   folder and on reads outside it and the interpreter's own folders, and keeps the current
   directory inside the writable folder. Relative paths are judged from the writable folder's
   top: an ancestor of the current directory and of every `dir_fd` folder, so a path that
   leaves the folder from where the kernel starts also leaves it from there. The hook is a closure over
   functions captured here (patching `os._exit` or `os.lstat` afterwards changes nothing it
   uses), and nothing the program can reach by name refers to it.
4. The program runs as a fresh `__main__` module.
"""

import json
import os
import posix
import resource
import stat
import sys
import traceback

FORBIDDEN_MODULES = frozenset(
    (
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
)
FORBIDDEN_EVENTS = frozenset(
    (
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
        "ctypes.call_function",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "sys.remote_exec",
    )
)
# event -> ((index of a path argument, index of the dir_fd it is relative to, or None), ...),
# per CPython's audit events table
PATH_EVENTS = {
    "os.remove": ((0, 1),),
    "os.rmdir": ((0, 1),),
    "os.mkdir": ((0, 2),),
    "os.chmod": ((0, 2),),
    "os.chown": ((0, 3),),
    "os.truncate": ((0, None),),
    "os.utime": ((0, 3),),
    "os.symlink": ((0, None), (1, 2)),
    "os.link": ((0, 2), (1, 3)),
    "os.rename": ((0, 2), (1, 3)),
    "shutil.rmtree": ((0, 1),),
    "shutil.move": ((0, None), (1, None)),
    "shutil.chown": ((0, None),),
    "sqlite3.connect": ((0, None),),
}
NO_DIR_FD = (None, -1, -100)  # CPython passes -1 when none was given; -100 is AT_FDCWD
READ_EVENTS = ("os.listdir", "os.scandir")
PROGRAM_NAME = "main.py"  # the program's code objects carry this file name
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
WRITABLE_FILES = ("/dev/null",)
READABLE_FILES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
# exit codes, mirrored in reasons.py
EXIT = {"forbidden_import": 86, "forbidden_operation": 87, "forbidden_write": 88, "memory": 89}
EXIT.update({"forbidden_read": 90, "sandbox_error": 91})


def load_seccomp(path):
    """Install the BPF program at `path` for this process and all it could ever start."""
    import ctypes

    with open(path, "rb") as f:
        program = f.read()

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    buf = ctypes.create_string_buffer(program, len(program))
    fprog = SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(pr_set_seccomp, seccomp_mode_filter, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


def make_realpath():
    """`os.path.realpath` built on functions captured now, so the program cannot patch it."""
    lstat, readlink, getcwd, is_link, fsdecode = (
        posix.lstat,
        posix.readlink,
        posix.getcwd,
        stat.S_ISLNK,
        os.fsdecode,
    )

    def realpath(path, base=None):
        """Resolved from `base` (default: the current directory) when relative."""
        path = fsdecode(path)
        if not path.startswith("/"):
            path = (base or getcwd()) + "/" + path
        todo = [p for p in path.split("/") if p]
        resolved, links = "", 0
        while todo:
            name = todo.pop(0)
            if name == ".":
                continue
            if name == "..":
                resolved = resolved.rsplit("/", 1)[0]
                continue
            candidate = resolved + "/" + name
            try:
                st = lstat(candidate)
            except OSError:  # missing: the kernel cannot go through it either, keep it literally
                resolved = candidate
                continue
            if is_link(st.st_mode):
                links += 1
                if links > 40:
                    return "\0symlink-loop"  # matches no allowed folder
                target = readlink(candidate)
                if target.startswith("/"):
                    resolved = ""
                todo = [p for p in target.split("/") if p] + todo
            else:
                resolved = candidate
        return resolved or "/"

    return realpath


def install_guards(work_dir, read_roots):
    realpath, exit_now, write, stat_, is_dir = make_realpath(), os._exit, os.write, posix.stat, stat.S_ISDIR
    stdout_flush = sys.stdout.flush
    is_pathlike = (str, bytes, os.PathLike)
    fspath, fsdecode, readlink = os.fspath, os.fsdecode, posix.readlink
    work = realpath(work_dir)
    roots = tuple(realpath(r) for r in read_roots) + (work,)
    modules, events, path_events, exit_codes = FORBIDDEN_MODULES, FORBIDDEN_EVENTS, PATH_EVENTS, dict(EXIT)
    getframe = sys._getframe

    def imported_by_program():
        # The first frame above importlib's own is the module doing the import. Only the
        # program's own imports are refused: numpy.testing and scipy.linalg import socket (via
        # email.utils) without using it, and any use still raises socket.__new__ below.
        frame = getframe(2)
        while frame is not None:
            filename = frame.f_code.co_filename
            if not filename.startswith("<frozen importlib"):
                return filename == PROGRAM_NAME
            frame = frame.f_back
        return True

    def stop(reason, detail):
        try:
            stdout_flush()
        except BaseException:
            pass
        try:
            write(2, ("\nsandbox: " + reason + ": " + detail + "\n").encode("utf-8", "replace"))
        finally:
            exit_now(exit_codes[reason])

    def relative_to(path, dir_fd):
        """`path` as the kernel will see it: relative paths are taken from `dir_fd`'s folder."""
        path = fsdecode(fspath(path))
        if dir_fd in NO_DIR_FD or path.startswith("/"):
            return path
        try:
            return readlink(f"/proc/self/fd/{int(dir_fd)}") + "/" + path
        except (OSError, TypeError, ValueError):
            return "\0unknown-dir-fd"  # matches no allowed folder

    def isdir(path):
        try:
            return is_dir(stat_(path).st_mode)
        except OSError:
            return False

    def check_chdir(target):
        if isinstance(target, int):
            real = relative_to(".", target)
        else:
            real = realpath(fspath(target))  # from the real current directory, as the kernel does
        if not under(realpath(real), (work,)):
            stop("forbidden_operation", "os.chdir out of the work folder " + repr(target))

    def under(real, folders):
        return any(real == f or real.startswith(f + "/") for f in folders)

    def check_write(path, what):
        if isinstance(path, int):
            return
        real = realpath(fspath(path), work)
        if not (under(real, (work,)) or real in WRITABLE_FILES):
            stop("forbidden_write", what + " " + repr(path))

    def check_read(path, what):
        if path is None or isinstance(path, int):
            return
        real = realpath(fspath(path), work)
        if not (under(real, roots) or real in READABLE_FILES):
            stop("forbidden_read", what + " " + repr(path))
        if what == "open" and not under(real, (work,)) and isdir(real):
            # a directory fd outside the folder is the handle for dir_fd= writes: no reason to hand it out
            stop("forbidden_read", "directory " + repr(path))

    def hook(event, args):
        if event == "import":
            name = args[0]
            if (name in modules or name.split(".", 1)[0] in modules) and imported_by_program():
                stop("forbidden_import", name)
        elif event == "open":
            path, mode, flags = args
            writing = (isinstance(flags, int) and flags & WRITE_FLAGS) or (
                isinstance(mode, str) and any(c in mode for c in "wax+")
            )
            if writing:
                check_write(path, "open")
            else:
                check_read(path, "open")
        elif event in events:
            stop("forbidden_operation", event)
        elif event == "ctypes.dlopen" and args and args[0] is not None:
            stop("forbidden_operation", "ctypes.dlopen " + repr(args[0]))
        elif event == "object.__setattr__" and len(args) > 1 and args[1] in ("__code__", "__closure__"):
            stop("forbidden_operation", "setting " + str(args[1]))
        elif event in path_events:
            for path_at, dir_fd_at in path_events[event]:
                if path_at >= len(args) or not isinstance(args[path_at], is_pathlike):
                    continue
                dir_fd = args[dir_fd_at] if dir_fd_at is not None and dir_fd_at < len(args) else None
                check_write(relative_to(args[path_at], dir_fd), event)
        elif event == "os.chdir" and args:
            check_chdir(args[0])
        elif event in READ_EVENTS and args:
            check_read(args[0], event)

    sys.addaudithook(hook)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    for which, value in job["limits"].items():
        hard = value + 1 if which == "RLIMIT_CPU" else value
        resource.setrlimit(getattr(resource, which), (value, hard))
    with open(job["code"], encoding="utf-8") as f:
        source = f.read()
    guards = (job["work_dir"], job["read_roots"]) if job["guards"] else None
    if job["seccomp"]:
        try:
            load_seccomp(job["seccomp"])
        except OSError as err:
            os.write(2, f"\nsandbox: sandbox_error: seccomp not loaded: {err}\n".encode())
            os._exit(EXIT["sandbox_error"])
    module = type(sys)("__main__")
    module.__dict__["__builtins__"] = __builtins__
    sys.argv = [PROGRAM_NAME]
    sys.dont_write_bytecode = True
    code = compile(source, PROGRAM_NAME, "exec")
    del source, job
    if guards:
        install_guards(*guards)
    sys.modules["__main__"] = module
    try:
        exec(code, module.__dict__)
    except MemoryError:
        sys.stderr.write("\nsandbox: memory: MemoryError\n")
        sys.stderr.flush()
        os._exit(EXIT["memory"])
    except SystemExit:
        raise
    except BaseException as exc:
        # the traceback starts at the program, not at this bootstrap
        traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)
        sys.stderr.flush()
        sys.exit(1)


if __name__ == "__main__":
    main()
