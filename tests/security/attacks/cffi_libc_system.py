"""Call libc's system() through cffi, which raises no audit event."""

# guards: forbidden_syscall
# kernel: forbidden_syscall
import cffi

ffi = cffi.FFI()
ffi.cdef("int system(const char *command);")
libc = ffi.dlopen(None)
libc.system(b"touch @WATCHED@/pwned")
