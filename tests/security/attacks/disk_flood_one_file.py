"""Grow one file without end."""

# guards: file_size
# kernel: file_size
block = b"x" * (1024 * 1024)
with open("big.bin", "wb") as f:
    while True:
        f.write(block)
