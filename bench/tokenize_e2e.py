"""End-to-end `sciloom tokenize` vs a bare SentencePiece encode loop, start-up included, per size.

    .venv/bin/python bench/tokenize_e2e.py [--sizes 1,5,25,50] [--vocab 8000] [--repeats 2]
                                           [--corpus problems|real]

Builds JSONL corpora of each size in MB (default: GSM8K train + MATH test problems and solutions
from ../shared/data/problems, repeated with fresh ids, 8 shards; `--corpus real` uses the raw TeX,
HTML and text documents of bench/real_corpus.py), trains one BPE tokenizer on a sample,
then times in the same run, interleaved, each as a fresh process:

- bare: `bench_spm`, the loop a user would write: import sentencepiece, load the model, read every
  JSONL line with `json.loads`, `sp.encode(text)` (one thread); start-up included;
- e2e 1 worker: the `sciloom tokenize --workers 1` CLI: start-up, read the JSONL shards, encode,
  write .bin/.idx per source and the pass-through Parquet, merge, manifest;
- e2e 2 workers: the same with `--workers 2` (scaling, as per-core throughput).

Times are CPU seconds (user + sys) of the process and its children, the fair per-core measure on
a shared box (wall seconds are printed too); ratios are bare / e2e of paired runs, median.
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
PROBLEMS = REPO.parent / "shared" / "data" / "problems"
SHARDS = 8
BARE = """
import json, sys
import sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
n = 0
for path in sys.argv[2:]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            n += len(sp.encode(json.loads(line)["text"]))
print(n)
"""


def problem_documents() -> list[dict]:
    docs = []
    with open(PROBLEMS / "gsm8k" / "train.jsonl", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            row = json.loads(line)
            docs.append(
                {"id": f"gsm8k{i}", "text": row["question"] + "\n" + row["answer"], "source": "gsm8k"}
            )
    with open(PROBLEMS / "math" / "test.jsonl", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            row = json.loads(line)
            docs.append({"id": f"math{i}", "text": row["problem"] + "\n" + row["solution"], "source": "math"})
    return docs


def build_corpus(folder: Path, target_bytes: int, docs: list[dict]) -> tuple[list[str], int, int]:
    folder.mkdir(parents=True, exist_ok=True)
    total = n = 0
    files = [open(folder / f"shard{i:02d}.jsonl", "w", encoding="utf-8") for i in range(SHARDS)]
    while total < target_bytes:
        d = docs[n % len(docs)]
        row = {"id": f"{d['id']}#{n}", "text": d["text"], "source": d["source"]}
        files[n % SHARDS].write(json.dumps(row, ensure_ascii=False) + "\n")
        total += len(d["text"].encode("utf-8", errors="surrogatepass"))
        n += 1
    for f in files:
        f.close()
    return [str(folder / f"shard{i:02d}.jsonl") for i in range(SHARDS)], total, n


def bare_encode(model: Path, shards: list[str]) -> tuple[float, float]:
    """(wall, cpu) seconds of the bare loop in a fresh process."""
    wall, cpu = time.perf_counter(), children_cpu()
    subprocess.run([sys.executable, "-c", BARE, str(model), *shards], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - wall, children_cpu() - cpu


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
    ap.add_argument("--sizes", default="1,5,25,50", help="corpus sizes in MB, comma-separated")
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--corpus", choices=("problems", "real"), default="problems")
    args = ap.parse_args()

    from sciloom.tokenizer.config import TokenizerConfig
    from sciloom.tokenizer.train import train_tokenizer

    if args.corpus == "real":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from real_corpus import real_documents  # raw TeX, HTML and text of ../shared/data

        docs = real_documents(REPO.parent / "shared" / "data")
    else:
        docs = problem_documents()
    sizes = [float(x) for x in args.sizes.split(",")]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpora = {mb: build_corpus(tmp / f"in{mb:g}", int(mb * 1e6), docs) for mb in sizes}
        t = time.perf_counter()
        config = TokenizerConfig(vocab_size=args.vocab, sample_bytes=20_000_000, num_threads=2)
        model = train_tokenizer(corpora[max(sizes)][0], config, tmp / "tok")
        print(f"trained a {args.vocab} BPE in {time.perf_counter() - t:.0f} s")
        for mb in sizes:
            shards, nbytes, ndocs = corpora[mb]
            runs: list[dict[str, tuple[float, float]]] = []
            for r in range(args.repeats):
                # Each repeat times all three back to back, so a ratio compares runs under the same load.
                runs.append(
                    {
                        "bare": bare_encode(model, shards),
                        "e2e_w1": cli_tokenize(shards, model, tmp / f"w1_{mb:g}_{r}", 1),
                        "e2e_w2": cli_tokenize(shards, model, tmp / f"w2_{mb:g}_{r}", 2),
                    }
                )
            manifest = json.loads((tmp / f"w1_{mb:g}_0" / "manifest.json").read_text())
            tokens = manifest["extra"]["tokenize"]["tokens"]
            best = {k: (min(x[k][0] for x in runs), min(x[k][1] for x in runs)) for k in runs[0]}
            ratio = statistics.median(x["bare"][1] / x["e2e_w1"][1] for x in runs)
            wall_ratio = statistics.median(x["bare"][0] / x["e2e_w1"][0] for x in runs)
            per_core = statistics.median(x["e2e_w1"][1] / x["e2e_w2"][1] for x in runs)
            speedup = statistics.median(x["e2e_w1"][0] / x["e2e_w2"][0] for x in runs)
            print(
                f"{nbytes / 1e6:5.1f} MB {ndocs:6d} docs {tokens:,} tokens | best cpu s: bare {best['bare'][1]:.2f}, "
                f"w1 {best['e2e_w1'][1]:.2f}, w2 {best['e2e_w2'][1]:.2f} | best wall s: bare {best['bare'][0]:.2f}, "
                f"w1 {best['e2e_w1'][0]:.2f}, w2 {best['e2e_w2'][0]:.2f} | w1/bare cpu {ratio:.3f} (wall {wall_ratio:.3f}) "
                f"| w2 per-core {per_core:.2f} of w1, wall speed-up {speedup:.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
