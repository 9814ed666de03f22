"""Fill the disk with many files, each under the file-size limit."""

# guards: disk_full
# kernel: disk_full
block = b"x" * (1024 * 1024)
i = 0
while True:
    with open(f"fill{i}.bin", "wb") as f:
        f.write(block * 4)
    i += 1
