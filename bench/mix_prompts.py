"""Benchmark the prompts and mix stages (issue 6). Run by hand: `.venv/bin/python bench/mix_prompts.py`.

1. `<work>` traces from GSM8K train: the stage with programs run 4 at a time vs one at a time.
2. The arithmetic generator: items per second per difficulty.
3. The mix stage (external shuffle, bytes/4 token estimate) vs the naive peer: all rows in memory,
   `random.shuffle`, one `pyarrow` write, on the same ~36 MB of text.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sciloom.corpus.mix.config import MixConfig
from sciloom.corpus.mix.stage import run_mix_stage
from sciloom.corpus.prompts.arithmetic import DIFFICULTIES, ArithmeticGenerator
from sciloom.corpus.prompts.config import PromptsConfig
from sciloom.corpus.prompts.stage import run_prompts_stage
from sciloom.corpus.shards import iter_rows
from sciloom.corpus.stage import StageRun

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def bench_work(tmp: Path) -> None:
    problems = tmp / "gsm8k_400.jsonl"
    with open(DATA / "problems/gsm8k/train.jsonl", encoding="utf-8") as src:
        problems.write_text("".join(itertools.islice(src, 400)))
    for parallel in (1, 4):
        out = tmp / f"work{parallel}"
        start = time.time()
        m = run_prompts_stage("work", [str(problems)], PromptsConfig(parallel=parallel), StageRun("w", out))
        secs = time.time() - start
        print(
            f"work traces parallel={parallel}: 400 problems in {secs:.1f}s = {400 / secs:.1f} problems/s, kept {m.totals.docs['kept']}"
        )


def bench_arith() -> None:
    for name, cfg in DIFFICULTIES.items():
        gen = ArithmeticGenerator(cfg, seed=1)
        start = time.time()
        n = 20000
        chars = sum(len(gen.item(i).text) for i in range(n))
        secs = time.time() - start
        print(f"arith {name}: {n / secs:,.0f} items/s, {chars / secs / 1e6:.2f} MB/s")


def bench_mix(tmp: Path) -> None:
    rows = [json.loads(line) for line in open(DATA / "problems/gsm8k/train.jsonl", encoding="utf-8")]
    pages = [
        re.sub(r"<[^>]+>", " ", p.read_text(errors="replace"))
        for p in sorted((DATA / "web-math/pages").glob("*.html"))
    ]
    tex = [p.read_text(errors="replace") for p in sorted((DATA / "arxiv-src/good").glob("*.tex"))]
    sources = {
        "general": [r["question"] + "\n" + r["answer"] for r in rows] * 4,
        "web": pages * 60,
        "arxiv": [t[i : i + 4000] for t in tex for i in range(0, len(t), 4000)] * 60,
    }
    inputs = {}
    total_bytes = 0
    for name, texts in sources.items():
        path = tmp / f"{name}.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for i, t in enumerate(texts):
                fh.write(json.dumps({"id": f"{name}-{i}", "text": t, "source": name}) + "\n")
                total_bytes += len(t.encode())
        inputs[name] = [str(path)]
    ndocs = sum(len(v) for v in sources.values())
    config = MixConfig(
        weights={"general": 1.0, "web": 1.0, "arxiv": 1.0}, max_epochs={"general": 1, "web": 1, "arxiv": 1}
    )
    start = time.time()
    m = run_mix_stage(inputs, config, StageRun("mix", tmp / "mix"), None)
    ours = time.time() - start
    # peer: everything in memory, shuffle, one write (no plan, no ledger)
    start = time.time()
    all_rows = [row for name in sorted(inputs) for row in iter_rows(inputs[name][0])]
    random.Random(0).shuffle(all_rows)
    pq.write_table(pa.Table.from_pylist(all_rows), tmp / "naive.parquet", compression="zstd")
    peer = time.time() - start
    print(
        f"mix: {ndocs:,} docs, {total_bytes / 1e6:.1f} MB in, {m.extra['mix']['total_docs']:,} out: "
        f"{ours:.1f}s ({total_bytes / 1e6 / ours:.1f} MB/s) vs naive in-memory shuffle {peer:.1f}s "
        f"({total_bytes / 1e6 / peer:.1f} MB/s): {ours / peer:.2f}x"
    )


if __name__ == "__main__":
    tmp = Path(tempfile.mkdtemp(prefix="bench-mix-"))
    try:
        bench_work(tmp)
        bench_arith()
        bench_mix(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
