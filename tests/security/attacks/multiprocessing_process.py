"""Start a worker process with multiprocessing."""

# guards: forbidden_import
# kernel: forbidden_syscall
import multiprocessing


def write():
    open("@WATCHED@/pwned", "w").write("worker")


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    p = multiprocessing.Process(target=write)
    p.start()
    p.join()
