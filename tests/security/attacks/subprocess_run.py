"""Start a shell with subprocess.run."""

# guards: forbidden_operation
# kernel: forbidden_syscall
import subprocess

subprocess.run(["/bin/sh", "-c", "touch @WATCHED@/pwned"], check=True)
