"""Make a symlink to the watched folder and write through it."""

# guards: forbidden_write
# kernel: nonzero_exit
# kernel-error: FileNotFoundError
import os

os.symlink("@WATCHED@", "out")
open("out/pwned", "w").write("pwned")
