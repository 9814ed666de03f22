"""Start a shell with os.popen."""

# guards: forbidden_operation
# kernel: forbidden_syscall
import os

os.popen("touch @WATCHED@/pwned").read()
