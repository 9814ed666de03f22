"""Flood stdout."""

# guards: file_size
# kernel: file_size
line = "x" * 4096
while True:
    print(line)
