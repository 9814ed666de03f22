"""Send a UDP datagram to the caller's machine."""

# guards: forbidden_import
# kernel: nonzero_exit
# kernel-error: Operation not permitted
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"pwned", ("127.0.0.1", int("@PORT@")))
