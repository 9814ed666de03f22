"""Start a shell on a pseudo-terminal with pty.spawn."""

# guards: forbidden_import
# kernel: forbidden_syscall
import pty

pty.spawn(["/bin/sh", "-c", "touch @WATCHED@/pwned"])
