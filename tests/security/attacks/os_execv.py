"""Replace the interpreter with a shell."""

# guards: forbidden_operation
# kernel: forbidden_syscall
import os

os.execv("/bin/sh", ["/bin/sh", "-c", "touch @WATCHED@/pwned"])
