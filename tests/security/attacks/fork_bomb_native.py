"""A fork bomb through _posixsubprocess: each child is a fresh interpreter doing the same."""

# guards: forbidden_syscall
# kernel: forbidden_syscall
import _posixsubprocess
import os
import sys

me = sys.executable.encode()
code = b"import os; [os.fork() for _ in range(64)]"
while True:
    try:
        r, w = os.pipe()
        _posixsubprocess.fork_exec(
            [me, b"-c", code],
            [me],
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
    except BaseException:
        pass
