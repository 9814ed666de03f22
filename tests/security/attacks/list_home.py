"""List the caller's home folder."""

# guards: forbidden_read
# kernel: nonzero_exit
# kernel-error: FileNotFoundError
import os

print(os.listdir("@HOME@"))
