"""Find the audit hook through the garbage collector and replace its code, then write outside."""

# guards: forbidden_operation
# kernel: nonzero_exit
# kernel-error: FileNotFoundError
import gc

for obj in gc.get_objects():
    if callable(obj) and getattr(obj, "__name__", "") == "hook":
        obj.__code__ = (lambda event, args: None).__code__
open("@WATCHED@/pwned", "w").write("pwned")
