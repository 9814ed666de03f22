"""The documents the mix read in its counting pass, kept as Arrow batches for the writing pass.

The counting pass must read every input before the plan exists; reading JSONL a second time
(parsing every line again) cost as much as the whole naive shuffle. So the first pass stages
each document's output fields (`rows.MixRow`, text and mix source) in an uncompressed Arrow
IPC stream under the stage folder, in read order, and the writing pass reads that back batch by
batch. Memory: up to the budget (the stage passes one output shard's size), beyond it one batch
(`STAGE_BATCH_ROWS` rows or `STAGE_BATCH_BYTES` of text). Disk, beyond the budget: about the
corpus's text once more while the mix runs; the file is removed at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from sciloom.corpus.mix.rows import MixRow

STAGE_BATCH_ROWS = 4096
STAGE_BATCH_BYTES = 32 * 1024 * 1024
STAGED = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("text", pa.large_string()),
        pa.field("source", pa.string()),
        pa.field("url", pa.string()),
        pa.field("metadata", pa.large_string()),  # template, see rows.metadata_for
        pa.field("has_slot", pa.bool_()),
        pa.field("provenance", pa.large_string()),
    ]
)


class StagingWriter:
    """Append staged documents; batches stay in memory up to `memory_bytes`, then go to disk.

    A mix smaller than the budget (one output shard by default) never touches the disk; a larger
    one streams every batch to one IPC file.
    """

    def __init__(self, path: str | os.PathLike, memory_bytes: int) -> None:
        self.path = Path(path)
        self.memory_bytes = memory_bytes
        self._held: list[pa.RecordBatch] = []
        self._held_bytes = 0
        self._sink: pa.NativeFile | None = None
        self._writer: pa.ipc.RecordBatchStreamWriter | None = None
        self._columns: list[list] = [[] for _ in STAGED.names]
        self._bytes = 0
        self._closed = False
        self.num_rows = 0

    def add(self, row: MixRow, text: str, source: str, nbytes: int) -> None:
        ids, texts, sources, urls, metas, slots, provs = self._columns
        ids.append(row.id)
        texts.append(text)
        sources.append(source)
        urls.append(row.url)
        metas.append(row.metadata)
        slots.append(row.has_slot)
        provs.append(row.provenance)
        self._bytes += nbytes
        self.num_rows += 1
        if len(ids) >= STAGE_BATCH_ROWS or self._bytes >= STAGE_BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self._columns[0]:
            return
        arrays = [pa.array(col, type=f.type) for col, f in zip(self._columns, STAGED)]
        batch = pa.record_batch(arrays, schema=STAGED)
        self._columns = [[] for _ in STAGED.names]
        self._bytes = 0
        if self._writer is None and self._held_bytes + batch.nbytes <= self.memory_bytes:
            self._held.append(batch)
            self._held_bytes += batch.nbytes
            return
        if self._writer is None:  # over the budget: everything held so far goes to disk first
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._sink = pa.OSFile(str(self.path), "wb")
            self._writer = pa.ipc.new_stream(self._sink, STAGED)
            for held in self._held:
                self._writer.write_batch(held)
            self._held, self._held_bytes = [], 0
        self._writer.write_batch(batch)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.flush()
        if self._writer is not None:
            self._writer.close()
            self._sink.close()

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The staged batches in write order, one from disk at a time (held ones are released)."""
        held, self._held = self._held[::-1], []
        while held:
            yield held.pop()
        if self._writer is not None:
            with pa.OSFile(str(self.path), "rb") as source:
                yield from pa.ipc.open_stream(source)
