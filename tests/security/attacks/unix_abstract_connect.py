"""Connect to an abstract unix socket the caller listens on (AF_UNIX passes the seccomp filter)."""

# guards: forbidden_import
# kernel: nonzero_exit
# kernel-error: Connection refused
import socket

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("\0@UNIX_NAME@")
s.sendall(b"pwned")
