"""Flood stderr."""

# guards: file_size
# kernel: file_size
import sys

line = "x" * 4096
while True:
    sys.stderr.write(line + "\n")
