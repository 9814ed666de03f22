"""Replace the interpreter with a fresh one that has no guards (the executable is visible)."""

# guards: forbidden_operation
# kernel: forbidden_syscall
import os
import sys

os.execv(sys.executable, [sys.executable, "-c", "open('@WATCHED@/pwned', 'w').write('x')"])
