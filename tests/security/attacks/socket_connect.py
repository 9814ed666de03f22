"""Connect to the caller's HTTP server on 127.0.0.1 and send a request."""

# guards: forbidden_import
# kernel: nonzero_exit
# kernel-error: Operation not permitted
import socket

s = socket.create_connection(("127.0.0.1", int("@PORT@")), timeout=2)
s.sendall(b"GET /pwned HTTP/1.0\r\n\r\n")
print(s.recv(100))
