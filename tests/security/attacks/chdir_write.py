"""Leave the working directory, then write with a relative path."""

# guards: forbidden_operation
# kernel: nonzero_exit
# kernel-error: Read-only file system
import os

os.chdir("/")
open("pwned.txt", "w").write("pwned")
