"""Fork a child that writes into the watched folder."""

# guards: forbidden_operation
# kernel: forbidden_syscall
import os

if os.fork() == 0:
    open("@WATCHED@/pwned", "w").write("child")
    os._exit(0)
os.wait()
