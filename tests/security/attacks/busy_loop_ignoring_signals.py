"""Spin with every catchable signal ignored."""

# guards: timeout
# kernel: timeout
import signal

for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM, signal.SIGXCPU):
    signal.signal(sig, signal.SIG_IGN)
while True:
    pass
