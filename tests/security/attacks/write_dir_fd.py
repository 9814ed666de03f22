"""The issue's exploit: open the watched folder, then create a file relative to it with dir_fd."""

# guards: forbidden_read
# kernel: nonzero_exit
# kernel-error: FileNotFoundError
import os

fd = os.open("@WATCHED@", os.O_RDONLY | os.O_DIRECTORY)
out = os.open("pwned", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd)
os.write(out, b"pwned")
