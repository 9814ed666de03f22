"""`sciloom dedup --workers 1` end to end vs a datasketch script, on the same ~40k ~2 KB documents.

Both run as fresh processes pinned to one core (`taskset -c 0`): start, imports, read, signatures,
clusters, write. Reported: wall seconds and CPU seconds (user + sys of the child, from
`resource.getrusage`); on a shared, loaded box CPU seconds are the fair per-core measure.
Usage: python bench/dedup_end_to_end.py [--docs 40000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dedup_corpus  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable


def timed(cmd: list[str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(["taskset", "-c", "0", *cmd], capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=40000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sciloom_dedup_bench_"))
    try:
        shards = dedup_corpus.write_parquet(work / "in", dedup_corpus.documents(args.docs))
        sciloom = [str(Path(PY).parent / "sciloom"), "dedup", str(work / "in"), "--workers", "1", "--out"]
        baseline = [PY, str(REPO / "bench" / "dedup_datasketch_baseline.py")]
        results: dict[str, list[tuple[float, float, str]]] = {"sciloom": [], "datasketch": []}
        for r in range(args.repeat):
            out = work / f"sciloom{r}"
            results["sciloom"].append(timed([*sciloom, str(out)]))
            results["datasketch"].append(timed([*baseline, str(work / f"ds{r}"), *shards]))
        for name, runs in results.items():
            wall = min(w for w, _, _ in runs)
            cpu = min(c for _, c, _ in runs)
            print(
                f"{name:10s} best wall {wall:7.2f} s  best cpu {cpu:7.2f} s  ({args.docs / cpu:,.0f} docs/cpu-s)  {runs[0][2]}"
            )
        s_cpu = min(c for _, c, _ in results["sciloom"])
        d_cpu = min(c for _, c, _ in results["datasketch"])
        s_wall = min(w for w, _, _ in results["sciloom"])
        d_wall = min(w for w, _, _ in results["datasketch"])
        print(f"speed-up sciloom vs datasketch: {d_cpu / s_cpu:.2f}x (cpu), {d_wall / s_wall:.2f}x (wall)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
