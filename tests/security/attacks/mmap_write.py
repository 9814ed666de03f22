"""Map the canary file shared and writable and overwrite it in memory."""

# guards: forbidden_write
# kernel: nonzero_exit
# kernel-error: FileNotFoundError
import mmap

with open("@CANARY@", "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    m[:5] = b"PWNED"
    m.flush()
