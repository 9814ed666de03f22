"""Allocate until the machine runs out of memory."""

# guards: memory
# kernel: memory
chunks = []
while True:
    chunks.append(bytearray(64 * 1024 * 1024))
