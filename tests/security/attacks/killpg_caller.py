"""Signal the calling sciloom process's whole process group."""

# guards: forbidden_operation
# kernel: nonzero_exit
# kernel-error: No such process
import os
import signal

os.killpg(int("@PARENT_PGID@"), signal.SIGUSR1)
