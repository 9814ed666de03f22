"""Shared by the dedup benchmarks: a synthetic corpus of ~2 KB documents with planted duplicates.

Documents are built from real GSM8K train sentences (../shared/data/problems), so the vocabulary
and sentence lengths are those of math text; 10% of documents get a near-duplicate (2% of words
replaced) and 3% an exact copy. Written as Parquet shards in the stage schema, the format an
earlier stage hands to `sciloom dedup`.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "problems" / "gsm8k" / "train.jsonl"


def sentences() -> list[str]:
    import json

    out = []
    with open(SHARED, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            out += [
                s for s in re.split(r"(?<=[.?!])\s+", row["question"] + " " + row["answer"]) if len(s) > 20
            ]
    return out


def documents(n: int, seed: int = 0, size: int = 2000) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pool = sentences()
    docs: list[tuple[str, str]] = []
    i = 0
    while len(docs) < n:
        parts, length = [], 0
        while length < size:
            s = rng.choice(pool)
            parts.append(s)
            length += len(s) + 1
        text = " ".join(parts)
        docs.append((f"doc{i:07d}", text))
        r = rng.random()
        if r < 0.10 and len(docs) < n:
            words = text.split()
            for _ in range(max(1, len(words) // 50)):
                words[rng.randrange(len(words))] = rng.choice(pool).split()[0]
            docs.append((f"doc{i:07d}n", " ".join(words)))
        elif r < 0.13 and len(docs) < n:
            docs.append((f"doc{i:07d}x", text))
        i += 1
    return docs


def write_parquet(folder: Path, docs: list[tuple[str, str]], shards: int = 4) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sciloom.corpus.shards import SCHEMA

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(shards):
        part = docs[k::shards]
        table = pa.table(
            {
                "id": [d[0] for d in part],
                "text": [d[1] for d in part],
                "source": ["web"] * len(part),
                "url": [None] * len(part),
                "metadata": ["{}"] * len(part),
                "provenance": ['{"stages": []}'] * len(part),
            },
            schema=SCHEMA,
        )
        path = folder / f"{k:05d}.parquet"
        pq.write_table(table, path, compression="zstd")
        paths.append(str(path))
    return paths
