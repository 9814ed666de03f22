"""Read the caller's SSH private key (by $HOME-relative and absolute path)."""

# guards: forbidden_read
# kernel: nonzero_exit
# kernel-error: no key found
import os

for path in (os.path.expanduser("~/.ssh/id_ed25519"), "@HOME@/.ssh/id_ed25519"):
    try:
        print(open(path).read())
        break
    except FileNotFoundError:
        continue
else:
    raise SystemExit("no key found")
