"""Read the host's /etc/passwd and print it into the record."""

# guards: forbidden_read
# kernel: nonzero_exit
# kernel-error: FileNotFoundError
print(open("/etc/passwd").read())
