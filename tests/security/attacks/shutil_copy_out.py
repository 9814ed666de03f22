"""Copy a local file into the watched folder with shutil."""

# guards: forbidden_write
# kernel: nonzero_exit
# kernel-error: FileNotFoundError
import shutil

open("local.txt", "w").write("pwned")
shutil.copy("local.txt", "@WATCHED@/pwned")
