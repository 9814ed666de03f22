"""Allocate until the machine runs out of memory."""

# guards: memory
# kernel: memory
# (bytes() takes zeroed pages from calloc, so the flood reaches the address-space limit in a
# fraction of a second even on a loaded machine; RLIMIT_AS bounds resident memory as well)
chunks = []
while True:
    chunks.append(bytes(64 * 1024 * 1024))
