"""Start a shell with os.posix_spawn (vfork/clone3 in glibc)."""

# guards: forbidden_operation
# kernel: forbidden_syscall
import os

pid = os.posix_spawn("/bin/sh", ["/bin/sh", "-c", "touch @WATCHED@/pwned"], {})
os.waitpid(pid, 0)
