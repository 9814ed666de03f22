"""The mix stage vs a naive in-memory shuffle, CPU time per core and peak memory (issue 19).

Run by hand: `.venv/bin/python bench/mix_stage.py [--repeat 3] [--scale 1] [--format jsonl|parquet]`.

Inputs: three sources built from ../shared/data (GSM8K train question+answer, web-math pages with
tags removed, arXiv TeX cut in 4 KB pieces), repeated to ~84 MB x `--scale`, one file per
source, JSONL (a user's own data) or Parquet (an earlier stage's shards).

- sciloom: `run_mix_stage` with equal weights and no repetition (every document once), the
  bytes/4 token estimate; plan, ledger, shuffle keys, bounded-memory external shuffle, Parquet
  shards and the manifest.
- naive peer: every row in memory through the same reader (`iter_rows`), `random.shuffle`, one
  `pa.Table.from_pylist` + `pq.write_table` (zstd). No plan, no ledger, memory = the corpus.

Times are CPU seconds of this process (`time.process_time`: the box is shared by 8 agents, wall
time measures the neighbours), both methods alternating in the same run, best of `--repeat`.
Peak memory is measured in a fresh child process per method (`ru_maxrss` from `os.wait4`), with
`--shard-mb` set so the mix has several shards: the mix holds one shard, the peer the corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def build_inputs(tmp: Path, scale: int, fmt: str) -> tuple[dict[str, list[str]], int, int]:
    rows = [json.loads(line) for line in open(DATA / "problems/gsm8k/train.jsonl", encoding="utf-8")]
    pages = [
        re.sub(r"<[^>]+>", " ", p.read_text(errors="replace"))
        for p in sorted((DATA / "web-math/pages").glob("*.html"))
    ]
    tex = [p.read_text(errors="replace") for p in sorted((DATA / "arxiv-src/good").glob("*.tex"))]
    sources = {
        "general": [r["question"] + "\n" + r["answer"] for r in rows] * 4 * scale,
        "web": pages * 60 * scale,
        "arxiv": [t[i : i + 4000] for t in tex for i in range(0, len(t), 4000)] * 60 * scale,
    }
    inputs, total_bytes, ndocs = {}, 0, 0
    for name, texts in sources.items():
        records = [{"id": f"{name}-{i}", "text": t, "source": name} for i, t in enumerate(texts)]
        total_bytes += sum(len(t.encode()) for t in texts)
        ndocs += len(texts)
        if fmt == "jsonl":
            path = tmp / f"{name}.jsonl"
            with open(path, "w", encoding="utf-8") as fh:
                fh.writelines(json.dumps(r) + "\n" for r in records)
        else:
            from sciloom.corpus.shards import SCHEMA

            path = tmp / f"{name}.parquet"
            table = pa.Table.from_pylist(
                [{**r, "url": None, "metadata": "{}", "provenance": '{"stages": []}'} for r in records],
                schema=SCHEMA,
            )
            pq.write_table(table, path, compression="zstd", row_group_size=2048)
        inputs[name] = [str(path)]
    return inputs, total_bytes, ndocs


def run_sciloom(inputs: dict[str, list[str]], out: Path, shard_mb: int) -> int:
    from sciloom.corpus.mix.config import MixConfig
    from sciloom.corpus.mix.stage import run_mix_stage
    from sciloom.corpus.stage import StageRun

    shutil.rmtree(out, ignore_errors=True)
    config = MixConfig(
        weights={"general": 1.0, "web": 1.0, "arxiv": 1.0},
        max_epochs={"general": 1, "web": 1, "arxiv": 1},
        max_shard_mb=shard_mb,
    )
    m = run_mix_stage(inputs, config, StageRun("mix", out), None)
    return m.extra["mix"]["total_docs"]


def run_naive(inputs: dict[str, list[str]], out: Path) -> int:
    from sciloom.corpus.shards import iter_rows

    all_rows = [row for name in sorted(inputs) for path in inputs[name] for row in iter_rows(path)]
    random.Random(0).shuffle(all_rows)
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(all_rows), out / "naive.parquet", compression="zstd")
    return len(all_rows)


def child_peak(method: str, inputs: dict[str, list[str]], out: Path, shard_mb: int) -> tuple[float, float]:
    """(CPU s, peak RSS MiB) of one run in a fresh process (imports included in the CPU).

    The peak is the child's own `VmHWM` (reset by exec), not `ru_maxrss`, which a forked child
    inherits from this process's high-water mark.
    """
    call = (
        f"b.run_sciloom(inputs, Path({str(out)!r}), {shard_mb})"
        if method == "sciloom"
        else f"b.run_naive(inputs, Path({str(out)!r}))"
    )
    code = (
        "import json, sys; sys.path.insert(0, 'bench'); import mix_stage as b; from pathlib import Path; "
        f"inputs = json.loads({json.dumps(json.dumps(inputs))}); {call}; "
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE
    )
    peak_kib = proc.stdout.read().decode().split()[-1]
    _, status, usage = os.wait4(proc.pid, 0)
    assert status == 0, f"{method} child failed ({status})"
    return usage.ru_utime + usage.ru_stime, int(peak_kib) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--format", choices=("jsonl", "parquet"), default="jsonl")
    parser.add_argument("--shard-mb", type=int, default=16, help="mix.max_shard_mb for the memory runs")
    parser.add_argument("--no-memory", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-mix-stage-"))
    try:
        inputs, nbytes, ndocs = build_inputs(tmp, args.scale, args.format)
        mb = nbytes / 1e6
        print(f"inputs: {ndocs:,} docs, {mb:.1f} MB of text, {args.format}; CPU s of this process")
        run_naive(inputs, tmp / "warm")  # imports and page cache warm for both
        run_sciloom(inputs, tmp / "warm_mix", 256)
        best = {"sciloom": 1e9, "naive": 1e9}
        ratios = []
        for r in range(args.repeat):
            times = {}
            for method in ("sciloom", "naive"):
                start = time.process_time()
                n = (
                    run_sciloom(inputs, tmp / "mix", 256)
                    if method == "sciloom"
                    else run_naive(inputs, tmp / "n")
                )
                times[method] = time.process_time() - start
                best[method] = min(best[method], times[method])
            ratios.append(times["sciloom"] / times["naive"])
            print(
                f"repeat {r + 1}: sciloom {times['sciloom']:.2f} s, naive {times['naive']:.2f} s, "
                f"ratio {ratios[-1]:.2f} ({n:,} docs)"
            )
        ratios.sort()
        print(
            f"best: sciloom {best['sciloom']:.2f} s ({mb / best['sciloom']:.1f} MB/s), naive "
            f"{best['naive']:.2f} s ({mb / best['naive']:.1f} MB/s); best/best {best['sciloom'] / best['naive']:.2f}x, "
            f"median of paired ratios {ratios[len(ratios) // 2]:.2f}x"
        )
        if not args.no_memory:
            for method in ("sciloom", "naive"):
                cpu, rss = child_peak(method, inputs, tmp / f"child_{method}", args.shard_mb)
                print(f"fresh process {method}: {cpu:.2f} CPU s (imports included), peak RSS {rss:,.0f} MiB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
