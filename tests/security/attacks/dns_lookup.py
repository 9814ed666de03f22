"""Resolve a host name (DNS exfiltration channel)."""

# guards: forbidden_import
# kernel: nonzero_exit
# kernel-error: name resolution
import socket

print(socket.getaddrinfo("example.com", 80))
