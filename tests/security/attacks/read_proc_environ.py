"""Look for the caller's secret in every visible process's environment."""

# guards: forbidden_read
# kernel: nonzero_exit
# kernel-error: secret not visible
import glob

for path in glob.glob("/proc/[0-9]*/environ"):
    data = open(path, "rb").read()
    if b"@SECRET_ENV@" in data:
        print(data.decode(errors="replace"))
        break
else:
    raise SystemExit("secret not visible")
