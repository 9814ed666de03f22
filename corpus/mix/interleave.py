"""Interleave the planned document copies into one shuffled stream, in bounded memory.

Every planned copy `(source, document index, copy number)` gets a 64-bit key from a keyed
BLAKE2b hash of the seed and that triple. The key's low part picks the output shard, the rest
orders the copies inside it: a uniform random permutation of the whole mix that depends on the
seed and the plan only (not on input order, file sizes or the number of shards read at once).
Prompt documents therefore land spread through the pretraining stream at their planned share
instead of in blocks.

Materialising is an external shuffle: one read pass spills each copy's row to its shard's
bucket file (pickled `(key, row)` records we wrote ourselves, appended in buffered rounds), then each bucket is sorted
by key and written as a Parquet shard. Memory holds the write buffer (64 MiB) and one bucket,
whose size `MixConfig.docs_per_shard` and `max_shard_mb` bound.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sciloom.corpus.shards import ROW_GROUP_ROWS, SCHEMA


def copy_key(seed: int, source: str, index: int, copy: int) -> int:
    """The shuffle key of one copy (64 bits)."""
    h = hashlib.blake2b(f"{source}\x00{index}\x00{copy}".encode(), digest_size=8, key=str(seed).encode()[:64])
    return int.from_bytes(h.digest(), "big")


class BucketSpill:
    """Per-shard bucket files under `tmp_dir`: `add(key, row)`, then `sorted_rows(shard)`.

    Lines are buffered in memory and appended to their bucket files in rounds of about
    `flush_bytes`, so at most one bucket file is open at a time whatever the shard count.
    """

    def __init__(
        self, tmp_dir: str | os.PathLike, num_shards: int, flush_bytes: int = 64 * 1024 * 1024
    ) -> None:
        self.dir = Path(tmp_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.num_shards = num_shards
        self.flush_bytes = flush_bytes
        self._buffers: dict[int, list[bytes]] = {}
        self._buffered = 0
        for i in range(num_shards):
            self._path(i).touch()

    def add(self, key: int, row: dict[str, Any]) -> None:
        shard = key % self.num_shards
        record = pickle.dumps((key // self.num_shards, row), protocol=pickle.HIGHEST_PROTOCOL)
        self._buffers.setdefault(shard, []).append(record)
        self._buffered += len(record)
        if self._buffered >= self.flush_bytes:
            self.flush()

    def flush(self) -> None:
        for shard, records in sorted(self._buffers.items()):
            with open(self._path(shard), "ab") as fh:
                fh.writelines(records)
        self._buffers.clear()
        self._buffered = 0

    def _path(self, shard: int) -> Path:
        return self.dir / f"{shard:05d}.pkl"

    def close(self) -> None:
        self.flush()

    def sorted_rows(self, shard: int) -> Iterator[dict[str, Any]]:
        path = self._path(shard)
        entries = []
        with open(path, "rb") as fh:
            while True:
                try:
                    entries.append(pickle.load(fh))
                except EOFError:
                    break
        # ties (astronomically rare) fall back to the row id, so the order stays deterministic
        entries.sort(key=lambda e: (e[0], e[1]["id"]))
        for _, row in entries:
            yield row
        path.unlink()


def write_shard(path: Path, rows: Iterator[dict[str, Any]]) -> int:
    """Write rows as one Parquet shard (temp name, then rename); returns the row count."""
    tmp = path.with_name(f".{path.name}.tmp")
    n = 0
    writer = pq.ParquetWriter(tmp, SCHEMA, compression="zstd")
    batch: list[dict[str, Any]] = []
    try:
        for row in rows:
            batch.append(row)
            n += 1
            if len(batch) >= ROW_GROUP_ROWS:
                writer.write_table(pa.Table.from_pylist(batch, schema=SCHEMA))
                batch = []
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema=SCHEMA))
    finally:
        writer.close()
    os.replace(tmp, path)
    return n
