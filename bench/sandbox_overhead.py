"""Per-program cost of the bubblewrap sandbox against the guards-only child and a bare interpreter.

Three ways to run the same program, one after the other, `--runs` times each:

- `bwrap`: `run_python` as sciloom runs it (namespaces + seccomp + rlimits + guards);
- `guards`: the same bootstrap without bubblewrap (what `--unsafe-no-sandbox` runs where bwrap is
  missing, and what sciloom ran before issue 17, plus the seccomp filter);
- `bare`: `subprocess.run([python, -I, -c, code])`, the peer: a plain child with no protection.

Reported per run: CPU time of all child processes (user + system from `RUSAGE_CHILDREN`, which
the shared machine's load does not inflate the way it inflates wall time) and wall time. bwrap's
pid-1 init reports the exit status before it is reaped, so it would be reparented away with the
program's CPU time: the bench makes itself a child subreaper and reaps it.

    .venv/bin/python bench/sandbox_overhead.py [--runs 10]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import subprocess
import sys
import time

from sciloom.corpus.sandbox import runner

PROGRAMS = {
    "print(6 * 7)": "print(6 * 7)",
    "import numpy": "import numpy as np\nprint(np.arange(5).sum())",
    "import sympy": "import sympy\nprint(sympy.Rational(1, 3))",
}


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _reap_orphans() -> None:
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _measure(fn, runs: int) -> tuple[float, float]:
    fn()  # warm the page cache and the parent's caches (bwrap probe, seccomp filter)
    _reap_orphans()
    cpu0, wall0 = _children_cpu(), time.perf_counter()
    for _ in range(runs):
        fn()
        _reap_orphans()
    return (_children_cpu() - cpu0) / runs, (time.perf_counter() - wall0) / runs


def _sandboxed(code: str, kernel: bool):
    def run() -> None:
        r = runner._execute(  # the private entry lets the bench pick the mode on a machine with bwrap
            code,
            kernel=kernel,
            timeout_s=60,
            memory_mb=1024,
            file_size_mb=8,
            disk_mb=64,
            max_processes=0,
            stdin="",
            guards=True,
        )
        assert r.ok, r.stderr

    return run


def _bare(code: str):
    def run() -> None:
        subprocess.run([sys.executable, "-I", "-c", code], check=True, capture_output=True)

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    pr_set_child_subreaper = 36
    if ctypes.CDLL(None).prctl(pr_set_child_subreaper, 1, 0, 0, 0) != 0:
        raise SystemExit("prctl(PR_SET_CHILD_SUBREAPER) failed")
    assert runner.kernel_sandbox_problem() is None, runner.kernel_sandbox_problem()
    print(
        "| program | bwrap cpu / wall (ms) | guards cpu / wall (ms) | bare cpu / wall (ms) | bwrap/guards cpu | bwrap/bare cpu |"
    )
    print("|---|---|---|---|---|---|")
    for label, code in PROGRAMS.items():
        b = _measure(_sandboxed(code, kernel=True), args.runs)
        g = _measure(_sandboxed(code, kernel=False), args.runs)
        p = _measure(_bare(code), args.runs)
        print(
            f"| `{label}` | {1e3 * b[0]:.0f} / {1e3 * b[1]:.0f} | {1e3 * g[0]:.0f} / {1e3 * g[1]:.0f} | "
            f"{1e3 * p[0]:.0f} / {1e3 * p[1]:.0f} | {b[0] / g[0]:.2f}x | {b[0] / p[0]:.2f}x |"
        )


if __name__ == "__main__":
    main()
