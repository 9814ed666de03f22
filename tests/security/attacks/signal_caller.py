"""Signal the calling sciloom process by its pid."""

# guards: forbidden_operation
# kernel: nonzero_exit
# kernel-error: No such process
import os
import signal

os.kill(int("@PARENT_PID@"), signal.SIGUSR1)
