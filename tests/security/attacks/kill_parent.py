"""Kill the parent process (inside the sandbox: bubblewrap's init, which ignores it)."""

# guards: forbidden_operation
# kernel: contained
import os
import signal

os.kill(os.getppid(), signal.SIGKILL)
