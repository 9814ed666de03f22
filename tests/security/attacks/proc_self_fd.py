"""Reach the watched folder through a /proc/self/fd magic link of the working directory."""

# guards: forbidden_write
# kernel: nonzero_exit
# kernel-error: FileNotFoundError
import os

here = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
open(f"/proc/self/fd/{here}/" + "../" * 12 + "@WATCHED@/pwned", "w").write("pwned")
