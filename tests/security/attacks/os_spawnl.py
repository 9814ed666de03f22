"""Start a shell with os.spawnl."""

# guards: forbidden_operation
# kernel: forbidden_syscall
import os

os.spawnl(os.P_WAIT, "/bin/sh", "/bin/sh", "-c", "touch @WATCHED@/pwned")
