"""The issue's exploit: rename a local file out of the sandbox with dst_dir_fd and a relative path."""

# guards: forbidden_write
# kernel: nonzero_exit
# kernel-error: FileNotFoundError
import os

open("local.txt", "w").write("pwned")
here = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
depth = "../" * 12
os.rename("local.txt", depth + "@WATCHED@/pwned", dst_dir_fd=here)
