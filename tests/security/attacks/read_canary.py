"""Read a file next to the caller's data."""

# guards: forbidden_read
# kernel: nonzero_exit
# kernel-error: FileNotFoundError
print(open("@CANARY@").read())
