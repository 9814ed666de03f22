"""Interleave the planned document copies into one shuffled stream, in bounded memory.

Every planned copy `(source, document index, copy number)` gets a 64-bit key from a keyed
BLAKE2b hash of the seed and that triple. The key's low part picks the output shard, the rest
orders the copies inside it: a uniform random permutation of the whole mix that depends on the
seed and the plan only (not on input order, file sizes or the number of shards read at once).
Prompt documents therefore land spread through the pretraining stream at their planned share
instead of in blocks.

Materialising is an external shuffle on Arrow columns: the staged documents (`staging.py`) are
read batch by batch, each planned copy is routed to its shard's bucket (the batch is reordered
by shard once and sliced), and buffered buckets are appended to their files as length-prefixed
Arrow IPC streams in rounds of `flush_bytes`. Each bucket is then sorted by key (pyarrow) and
written as a Parquet shard. Memory holds the write buffer (64 MiB) and one bucket, whose size
`MixConfig.docs_per_shard` and `max_shard_mb` bound. The former row-by-row version (pickled
dicts, one `Document` per copy) spent 2x the time of a naive in-memory shuffle (bench/RESULTS.md).
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sciloom.corpus.shards import ROW_GROUP_ROWS, SCHEMA

RANK = "_rank"  # the key's order part, a bucket column until the shard is sorted
LENGTH = struct.Struct("<Q")


def copy_key(seed: int, source: str, index: int, copy: int) -> int:
    """The shuffle key of one copy (64 bits)."""
    h = hashlib.blake2b(f"{source}\x00{index}\x00{copy}".encode(), digest_size=8, key=str(seed).encode()[:64])
    return int.from_bytes(h.digest(), "big")


class CopyKeys:
    """`copy_key` for one seed, with the keyed hash state built once (same keys, 2x faster)."""

    def __init__(self, seed: int) -> None:
        self._base = hashlib.blake2b(digest_size=8, key=str(seed).encode()[:64])

    def __call__(self, source: str, index: int, copy: int) -> int:
        h = self._base.copy()
        h.update(f"{source}\x00{index}\x00{copy}".encode())
        return int.from_bytes(h.digest(), "big")


class BucketSpill:
    """Per-shard buckets: `add(...)` copies, then `sorted_table(shard)` for each shard.

    Buckets are held in memory and appended to their files (length-prefixed IPC streams) in
    rounds of about `flush_bytes`, so at most one bucket file is open at a time whatever the
    shard count; a mix smaller than one round never writes them.
    """

    def __init__(
        self, tmp_dir: str | os.PathLike, num_shards: int, flush_bytes: int = 64 * 1024 * 1024
    ) -> None:
        self.dir = Path(tmp_dir)
        self.num_shards = num_shards
        self.flush_bytes = flush_bytes
        self._buffers: dict[int, list[pa.Table]] = {}
        self._buffered = 0
        self._on_disk: set[int] = set()

    def add(
        self, batch: pa.RecordBatch, rows: list[int], ids: pa.Array, metadata: pa.Array, keys: list[int]
    ) -> None:
        """Copies of `batch` rows (`rows[i]` is the row of copy i) with their ids, metadata, keys.

        The copies are put in shard order with one `take` of the text, then sliced per shard.
        """
        if not keys:
            return
        key_array = np.array(keys, dtype=np.uint64)
        shards = key_array % np.uint64(self.num_shards)
        ranks = key_array // np.uint64(self.num_shards)
        row_index = np.asarray(rows, dtype=np.int64)
        if self.num_shards > 1:  # copies in shard order, so that each shard is one slice
            order = np.argsort(shards, kind="stable")
            shards, ranks, row_index = shards[order], ranks[order], row_index[order]
            ids, metadata = ids.take(pa.array(order)), metadata.take(pa.array(order))
        if len(row_index) == batch.num_rows and np.array_equal(row_index, np.arange(batch.num_rows)):
            picked = batch  # every row once, in order: no copy of the texts
        else:
            picked = batch.take(pa.array(row_index))
        table = pa.table(
            {
                "id": ids,
                "text": picked.column("text"),
                "source": picked.column("source"),
                "url": picked.column("url"),
                "metadata": metadata,
                "provenance": picked.column("provenance"),
                RANK: pa.array(ranks),
            }
        )
        bounds = np.searchsorted(shards, np.arange(self.num_shards + 1, dtype=np.uint64))
        for shard in np.flatnonzero(np.diff(bounds)).tolist():
            lo, hi = int(bounds[shard]), int(bounds[shard + 1])
            self._buffers.setdefault(shard, []).append(table.slice(lo, hi - lo))
        self._buffered += table.nbytes
        if self._buffered >= self.flush_bytes:
            self.flush()

    def flush(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        for shard, tables in sorted(self._buffers.items()):
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, tables[0].schema) as writer:
                for table in tables:
                    writer.write_table(table)
            data = sink.getvalue()
            with open(self._path(shard), "ab") as fh:
                fh.write(LENGTH.pack(data.size))
                fh.write(data)
            self._on_disk.add(shard)
        self._buffers.clear()
        self._buffered = 0

    def _path(self, shard: int) -> Path:
        return self.dir / f"{shard:05d}.arrows"

    def close(self) -> None:
        """Nothing to do: the last round stays in memory for `sorted_table`."""

    def sorted_table(self, shard: int) -> pa.Table:
        """The bucket's rows in key order (ties, astronomically rare, by id), without the key."""
        tables = []
        if shard in self._on_disk:
            path = self._path(shard)
            data = path.read_bytes()
            pos = 0
            while pos < len(data):
                (size,) = LENGTH.unpack_from(data, pos)
                pos += LENGTH.size
                tables.append(pa.ipc.open_stream(pa.py_buffer(data[pos : pos + size])).read_all())
                pos += size
            path.unlink()
        tables.extend(self._buffers.pop(shard, []))
        if not tables:
            return SCHEMA.empty_table()
        table = pa.concat_tables(tables)
        ranks = table.column(RANK).to_numpy()
        order = np.argsort(ranks, kind="stable")
        if len(ranks) > 1 and np.any(np.diff(ranks[order]) == 0):
            table = table.sort_by([(RANK, "ascending"), ("id", "ascending")])
        else:
            table = table.take(pa.array(order))
        return table.drop_columns([RANK]).cast(SCHEMA)  # zero-copy: same types, non-null fields


def write_shard(path: Path, table: pa.Table) -> int:
    """Write a table as one Parquet shard (temp name, then rename); returns the row count."""
    tmp = path.with_name(f".{path.name}.tmp")
    writer = pq.ParquetWriter(tmp, SCHEMA, compression="zstd")
    try:
        writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
    finally:
        writer.close()
    os.replace(tmp, path)
    return table.num_rows
