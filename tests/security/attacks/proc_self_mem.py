"""Open the interpreter's own memory for writing (to patch the guards out)."""

# guards: forbidden_write
# kernel: contained
f = open("/proc/self/mem", "r+b")
f.close()
