"""Write a file into the watched folder by its absolute path."""

# guards: forbidden_write
# kernel: nonzero_exit
# kernel-error: FileNotFoundError
open("@WATCHED@/pwned", "w").write("pwned")
