"""Call libc's system() through ctypes."""

# guards: forbidden_operation
# kernel: forbidden_syscall
import ctypes

ctypes.CDLL("libc.so.6").system(b"touch @WATCHED@/pwned")
