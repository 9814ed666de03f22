"""What a program sees from inside the sandbox, asked of the kernel with the Python guards off."""

from __future__ import annotations

import errno
import json
import os

from sciloom.corpus.sandbox import FORBIDDEN_SYSCALL, run_python
from sciloom.corpus.sandbox.bwrap import interpreter_roots

PROBE = r"""
import errno, json, os, socket, sys

def attempt(fn):
    try:
        fn()
        return 0
    except OSError as err:
        return err.errno

def sock(family):
    return lambda: socket.socket(family, socket.SOCK_STREAM).close()

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()

def writable_in_proc():
    found = []
    for dirpath, dirs, files in os.walk("/proc"):
        top = dirpath.split("/")[2] if dirpath.count("/") >= 2 else ""
        if top.isdigit() or top in ("self", "thread-self"):  # the sandbox's own processes
            dirs[:] = []
            continue
        found += [os.path.join(dirpath, f) for f in files if os.access(os.path.join(dirpath, f), os.W_OK)]
    return sorted(found)

vfs = os.statvfs("/sandbox")
print(json.dumps({
    "root": sorted(os.listdir("/")),
    "etc": sorted(os.listdir("/etc")),
    "uid": os.getuid(),
    "gid": os.getgid(),
    "cap_eff": status("CapEff"),
    "seccomp": status("Seccomp"),
    "no_new_privs": status("NoNewPrivs"),
    "hostname": os.uname().nodename,
    "cwd": os.getcwd(),
    "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "interfaces": sorted(l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:]),
    "inet": attempt(sock(socket.AF_INET)),
    "inet6": attempt(sock(socket.AF_INET6)),
    "unix": attempt(sock(socket.AF_UNIX)),
    "write_stdlib": attempt(lambda: os.close(os.open(os.path.realpath(os.__file__), os.O_RDWR))),
    "write_root": attempt(lambda: open("/pwned", "w")),
    "write_dev_shm": attempt(lambda: open("/dev/shm/pwned", "w")),
    "write_devnull": attempt(lambda: open("/dev/null", "w").write("x")),
    "work_bytes": vfs.f_blocks * vfs.f_frsize,
    "proc_sys": os.listdir("/proc/sys"),
    "proc_writable": writable_in_proc(),
    "env": sorted(os.environ),
}))
"""


def test_the_sandbox_shows_a_bare_unprivileged_offline_world():
    os.environ["SCILOOM_KERNEL_VIEW_SECRET"] = "must-not-show"
    try:
        r = run_python(PROBE, python_guards=False, disk_mb=16, timeout_s=20)
    finally:
        os.environ.pop("SCILOOM_KERNEL_VIEW_SECRET")
    assert r.ok, r.stderr
    view = json.loads(r.stdout)
    # only libraries, the interpreter's folders, the job and the work folder exist
    allowed_top = {"usr", "lib", "lib64", "lib32", "libx32", "etc", "proc", "dev", "sandbox", "run"}
    allowed_top |= {root.strip("/").split("/")[0] for root in interpreter_roots()}
    assert set(view["root"]) <= allowed_top
    assert view["etc"] in (["ld.so.cache"], [])
    # unprivileged, filtered, in its own pid, uts and network namespaces
    assert (view["uid"], view["gid"]) == (65534, 65534)
    assert int(view["cap_eff"], 16) == 0
    assert view["seccomp"] == "2" and view["no_new_privs"] == "1"
    assert view["hostname"] == "sandbox" and view["cwd"] == "/sandbox"
    assert len(view["pids"]) <= 3  # bubblewrap's init and the program: nothing of the host
    assert view["interfaces"] == ["lo"]
    assert view["inet"] == view["inet6"] == errno.EPERM and view["unix"] == 0
    # read-only everywhere but the size-capped work folder and /dev/null
    assert view["write_stdlib"] == errno.EROFS
    assert view["write_root"] == view["write_dev_shm"] == errno.EROFS
    assert view["write_devnull"] == 0
    assert view["work_bytes"] == 16 * 1024 * 1024
    # run by root, the sandbox's uid is host uid 0 to the kernel: no sysctl or other /proc file
    # outside its own processes may be writable (core_pattern would run a program as host root)
    assert view["proc_sys"] == [] and view["proc_writable"] == []
    assert "SCILOOM_KERNEL_VIEW_SECRET" not in view["env"]
    assert set(view["env"]) <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "OPENBLAS_NUM_THREADS"} | {
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "MPLBACKEND",
        "PWD",
        "LC_CTYPE",
    }


def test_threads_run_but_a_new_process_kills_the_program():
    threads = (
        "import threading\nt = threading.Thread(target=print, args=('from a thread',))\nt.start()\nt.join()\n"
    )
    r = run_python(threads, python_guards=False)
    assert r.ok and r.stdout == "from a thread\n"
    r = run_python("import os\nprint('before', flush=True)\nos.fork()\nprint('after')\n", python_guards=False)
    assert r.reason == FORBIDDEN_SYSCALL and r.stdout == "before\n"
