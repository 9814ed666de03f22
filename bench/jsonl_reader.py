"""CPU cost of reading JSONL / JSONL.gz rows: sciloom's shared reader against its peers, same run.

Peers: datatrove's `JsonlReader.read_file` (the library reader; it stops at a bad byte and only
logs bad lines), and sciloom's reader before the shared one (text-mode decode + `json.loads`).
The corpus is real GSM8K train rows repeated to the size asked (default 25 MB), as plain JSONL
and gzip. Figures are CPU seconds of this process (`time.process_time`, best of 3), since the
machine is shared.

    .venv/bin/python bench/jsonl_reader.py [--mb 25] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path


def make_corpus(data: Path, folder: Path, mb: int) -> tuple[Path, Path]:
    rows = [json.loads(line) for line in open(data / "problems" / "gsm8k" / "train.jsonl", encoding="utf-8")]
    plain = folder / "bench.jsonl"
    with open(plain, "w", encoding="utf-8") as fh:
        i, size = 0, 0
        while size < mb * 1024 * 1024:
            line = (
                json.dumps(
                    {
                        "id": f"d{i}",
                        "text": rows[i % len(rows)]["question"] + "\n" + rows[i % len(rows)]["answer"],
                    }
                )
                + "\n"
            )
            fh.write(line)
            size += len(line)
            i += 1
    packed = folder / "bench.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes(), compresslevel=6))
    return plain, packed


def previous_reader(path: Path) -> Iterator[dict]:
    """sciloom's JSONL reader before the shared one (corpus/shards.py iter_jsonl_lines + checks)."""
    from sciloom.corpus.shards import line_problem

    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                row = None
            row = row if isinstance(row, dict) else None
            if line_problem(row) is None:
                yield row


def shared_reader(path: Path) -> Iterator[dict]:
    from sciloom.corpus.shards import iter_checked_rows

    for _, row, _ in iter_checked_rows(path):
        if row is not None:
            yield row


def datatrove_reader(path: Path) -> Iterator:
    from datatrove.pipeline.readers import JsonlReader

    reader = JsonlReader(str(path.parent), compression="gzip" if path.name.endswith(".gz") else None)
    yield from reader.read_file(path.name)


def cpu_seconds(fn: Callable[[Path], Iterator], path: Path) -> tuple[float, int]:
    best, rows = float("inf"), 0
    for _ in range(3):
        start = time.process_time()
        rows = sum(1 for _ in fn(path))
        best = min(best, time.process_time() - start)
    return best, rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=25)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = make_corpus(args.data, Path(tmp), args.mb)
        size_mb = files[0].stat().st_size / 1e6
        for path in files:
            results = {
                name: cpu_seconds(fn, path)
                for name, fn in (
                    ("sciloom shared reader", shared_reader),
                    ("sciloom previous reader", previous_reader),
                    ("datatrove JsonlReader", datatrove_reader),
                )
            }
            ours = results["sciloom shared reader"][0]
            print(f"{path.name} ({size_mb:.1f} MB of JSONL text)")
            for name, (seconds, rows) in results.items():
                print(
                    f"  {name:24s} {rows:7d} rows {seconds:6.3f} s CPU {size_mb / seconds:6.1f} MB/s"
                    f"  x{seconds / ours:4.2f} of the shared reader's time"
                )


if __name__ == "__main__":
    main()
