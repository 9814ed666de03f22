"""Hard-link the canary into the working directory to read it."""

# guards: forbidden_write
# kernel: nonzero_exit
# kernel-error: FileNotFoundError
import os

os.link("@CANARY@", "stolen")
print(open("stolen").read())
