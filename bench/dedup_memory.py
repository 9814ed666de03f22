"""Peak RSS and CPU time of `sciloom dedup --workers 1` as the corpus grows (local mode, spilled).

Builds corpora of each size from bench/dedup_corpus.py (~2 KB documents from real GSM8K
sentences, 10% near-duplicates, 3% exact copies) in Parquet shards of `--shard-docs` documents,
generated shard by shard so this process never holds the corpus, then runs the CLI in a fresh
process per size and reads its peak RSS (`ru_maxrss` of the child) and CPU seconds (user + sys).

Usage: python bench/dedup_memory.py [--sizes 50000,200000,1000000] [--shard-docs 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dedup_corpus  # noqa: E402

RUN = """
import resource, sys, time
t = time.process_time()
from sciloom.corpus.cli.main import main
code = main(["dedup", sys.argv[1], "--workers", "1", "--out", sys.argv[2]])
print(code, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.process_time() - t)
"""


def build(folder: Path, n: int, shard_docs: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sciloom.corpus.shards import SCHEMA

    folder.mkdir(parents=True)
    for k, start in enumerate(range(0, n, shard_docs)):
        count = min(shard_docs, n - start)
        docs = dedup_corpus.documents(count, seed=k)
        table = pa.table(
            {
                "id": [f"s{k:04d}-{i}" for i, _ in docs],
                "text": [t for _, t in docs],
                "source": ["web"] * count,
                "url": [None] * count,
                "metadata": ["{}"] * count,
                "provenance": ['{"stages": []}'] * count,
            },
            schema=SCHEMA,
        )
        pq.write_table(table, folder / f"{k:05d}.parquet", compression="zstd")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="50000,200000,1000000")
    ap.add_argument("--shard-docs", type=int, default=20000)
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()}")
    work = Path(tempfile.mkdtemp(prefix="sciloom_dedup_mem_"))
    try:
        for n in (int(x) for x in args.sizes.split(",")):
            t = time.perf_counter()
            build(work / f"in{n}", n, args.shard_docs)
            built = time.perf_counter() - t
            out = work / f"out{n}"
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", RUN, str(work / f"in{n}"), str(out)], capture_output=True, text=True
            )
            wall = time.perf_counter() - t
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if proc.returncode:
                raise SystemExit(proc.stderr[-3000:])
            code, peak_kb, _ = proc.stdout.split()[-3:]
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            manifest = json.loads((out / "manifest.json").read_text())
            dropped = manifest["totals"]["docs"]["dropped"] if "totals" in manifest else None
            print(
                f"{n:>9,} docs: exit {code}, peak RSS {int(peak_kb) / 1024:,.0f} MiB "
                f"({int(peak_kb) * 1024 / n:,.0f} B/doc), CPU {cpu:.1f} s ({n / cpu:,.0f} docs/cpu-s), "
                f"wall {wall:.1f} s, dropped {dropped}; corpus built in {built:.0f} s",
                flush=True,
            )
            shutil.rmtree(work / f"in{n}")
            shutil.rmtree(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
