"""Read a secret from the environment the caller runs with."""

# guards: nonzero_exit
# kernel: nonzero_exit
# kernel-error: KeyError
import os

print(os.environ["@SECRET_ENV@"])
