"""Start a shell with os.system and touch a file in the watched folder."""

# guards: forbidden_operation
# kernel: forbidden_syscall
import os

os.system("touch @WATCHED@/pwned")
