"""End-to-end `sciloom tokenize` vs bare `SentencePieceProcessor.encode` on the same text.

    .venv/bin/python bench/tokenize_e2e.py [--mb 50] [--vocab 32000] [--repeats 2]

Builds ~MB megabytes of JSONL from the real documents in ../shared/data (TeX sources, web pages
and their extracted text, MATH solutions; repeated with fresh ids until the size is reached),
trains a BPE tokenizer on a sample of it, then times in the same run, interleaved:

- bare: `sp.encode(texts, num_threads=1)` on the texts already in memory (the ceiling);
- e2e 1 worker: the `sciloom tokenize --workers 1` CLI in a fresh process: start-up, read the
  JSONL shards, encode, write .bin/.idx per source and the pass-through Parquet, merge, manifest;
- e2e 2 workers: the same with `--workers 2` (scaling).

MB/s are UTF-8 text megabytes per second, best of `repeats`, two ways: per wall-clock second,
and per CPU second (user + sys of the process and all its children: MB/s per busy core). On a
shared box the CPU figure is the fair one: wall time there measures the neighbours' load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from real_corpus import real_documents  # noqa: E402  (raw TeX, HTML and text of ../shared/data)

SHARDS = 8


def build_corpus(folder: Path, target_bytes: int) -> tuple[list[str], list[str], int]:
    docs = real_documents(REPO.parent / "shared" / "data")
    texts: list[str] = []
    total = 0
    files = [open(folder / f"shard{i:02d}.jsonl", "w", encoding="utf-8") for i in range(SHARDS)]
    n = 0
    while total < target_bytes:
        for d in docs:
            row = {"id": f"{d['id']}#{n}", "text": d["text"], "source": d["source"]}
            files[n % SHARDS].write(json.dumps(row, ensure_ascii=False) + "\n")
            texts.append(d["text"])
            total += len(d["text"].encode("utf-8", errors="surrogatepass"))
            n += 1
            if total >= target_bytes:
                break
    for f in files:
        f.close()
    return [str(folder / f"shard{i:02d}.jsonl") for i in range(SHARDS)], texts, total


def bare_encode(model: Path, texts: list[str]) -> tuple[float, float]:
    """(wall, cpu) seconds of one-thread SentencePiece encode of every text."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(model))
    wall, cpu = time.perf_counter(), time.process_time()
    sp.encode(texts, num_threads=1)
    return time.perf_counter() - wall, time.process_time() - cpu


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli_tokenize(shards: list[str], model: Path, out: Path, workers: int) -> tuple[float, float]:
    """(wall, cpu) seconds of the whole CLI process, its workers included.

    With 1 worker everything runs in the CLI process, whose rusage is exact. With 2, datatrove's
    workers are children of a forkserver that nobody reaps, so rusage misses them: their CPU is
    sampled every 50 ms instead (it misses at most the last 50 ms of each process).
    """
    import psutil

    cmd = [sys.executable, "-m", "sciloom.corpus.cli.main", "tokenize", *shards]
    cmd += ["--tokenizer", str(model), "--out", str(out), "--workers", str(workers)]
    wall, cpu = time.perf_counter(), children_cpu()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: dict[int, float] = {}
    parent = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            for p in [parent, *parent.children(recursive=True)]:
                t = p.cpu_times()
                seen[p.pid] = t.user + t.system
        except psutil.Error:
            pass
        time.sleep(0.05)
    if proc.returncode:
        raise RuntimeError(f"tokenize exited with {proc.returncode}")
    wall = time.perf_counter() - wall
    if workers == 1:
        return wall, children_cpu() - cpu
    return wall, sum(seen.values())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=50)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    from sciloom.tokenizer.config import TokenizerConfig
    from sciloom.tokenizer.train import train_tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "in").mkdir()
        shards, texts, nbytes = build_corpus(tmp / "in", int(args.mb * 1e6))
        t = time.perf_counter()
        config = TokenizerConfig(vocab_size=args.vocab, sample_bytes=20_000_000, num_threads=2)
        model = train_tokenizer(shards, config, tmp / "tok")
        print(
            f"corpus {nbytes / 1e6:.1f} MB, {len(texts)} docs; trained {args.vocab} BPE in {time.perf_counter() - t:.0f} s"
        )
        runs: list[dict[str, tuple[float, float]]] = []
        for r in range(args.repeats):
            # Each repeat times all three back to back, so a ratio compares runs under the same load.
            runs.append(
                {
                    "bare": bare_encode(model, texts),
                    "e2e_w1": cli_tokenize(shards, model, tmp / f"w1_{r}", 1),
                    "e2e_w2": cli_tokenize(shards, model, tmp / f"w2_{r}", 2),
                }
            )
            print({k: (round(w, 2), round(c, 2)) for k, (w, c) in runs[-1].items()}, flush=True)
        manifest = json.loads((tmp / "w1_0" / "manifest.json").read_text())
        tokens = manifest["extra"]["tokenize"]["tokens"]
        mb = nbytes / 1e6
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()}")
        print(f"tokens {tokens:,} ({nbytes / tokens:.2f} bytes/token, EOD included)")
        for k in runs[0]:
            wall = min(run[k][0] for run in runs)
            cpu = min(run[k][1] for run in runs)
            print(
                f"{k}: best wall {wall:.2f} s = {mb / wall:.2f} MB/s; best cpu {cpu:.2f} s = {mb / cpu:.2f} MB/s per core"
            )

        def median(values: list[float]) -> float:
            return statistics.median(values)

        cpu_ratio = median([run["bare"][1] / run["e2e_w1"][1] for run in runs])
        wall_ratio = median([run["bare"][0] / run["e2e_w1"][0] for run in runs])
        print(
            f"e2e 1 worker / bare encode (median of paired repeats): cpu {cpu_ratio:.3f}, wall {wall_ratio:.3f}"
        )
        speedup = median([run["e2e_w1"][0] / run["e2e_w2"][0] for run in runs])
        per_core = median([run["e2e_w1"][1] / run["e2e_w2"][1] for run in runs])
        print(
            f"2 workers vs 1 (median): wall speed-up {speedup:.2f}x; per-core throughput {per_core:.2f} of 1 worker's"
        )


if __name__ == "__main__":
    main()
