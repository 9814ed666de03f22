"""Disarm an in-process guard by patching the functions it might call, then write outside."""

# guards: forbidden_write
# kernel: nonzero_exit
# kernel-error: FileNotFoundError
import os
import posix

os._exit = lambda code: None
os.path.realpath = lambda path, **kw: "/sandbox/ok"
posix.lstat = os.lstat = lambda *a, **kw: os.stat(".")
open("@WATCHED@/pwned", "w").write("pwned")
