"""Call libc's fork() through the process's own symbols."""

# guards: forbidden_operation
# kernel: forbidden_syscall
import ctypes

libc = ctypes.CDLL(None)
if libc.fork() == 0:
    libc._exit(0)
