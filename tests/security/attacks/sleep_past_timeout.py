"""Sleep far past the time limit."""

# guards: timeout
# kernel: timeout
import time

time.sleep(3600)
