"""Shards on disk: one fixed Parquet schema for every stage; JSONL(.gz) accepted as input.

A stage folder holds `docs/<rank>.parquet`. The writer writes to a temporary name and renames at
the end, so a killed task never leaves a half shard that a later stage would read (a rerun of
that task rewrites it). Readers accept Parquet with our schema, and JSONL/JSONL.gz rows with at
least `id` and `text` (other columns become metadata).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document

from sciloom.corpus.jsonl_reader import (
    BAD_JSON_LINE,
    MISSING_TEXT,
    SHOWN_BYTES,
    TEXT_NOT_STRING,
    ReadLimits,
    RowProblem,
    iter_row_results,
)
from sciloom.corpus.record import from_row, provenance_of, source_of, to_row
from sciloom.corpus.step import SciloomReader, SciloomStep, text_bytes

SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.large_string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("metadata", pa.large_string(), nullable=False),
        pa.field("provenance", pa.large_string(), nullable=False),
    ]
)
DOCS_DIR = "docs"
ROW_GROUP_ROWS = 2048
ROW_GROUP_BYTES = 64 * 1024 * 1024
INVALID_UNICODE = "invalid_unicode"
BAD_FIELD = "bad_record_field"
BAD_SOURCE_NAME = "bad_source_name"
SOURCE_SEPARATOR = "|"  # separates names in the ledger's counter keys (corpus/step.py)
SHARD_SUFFIXES = (".parquet", ".jsonl", ".jsonl.gz", ".json.gz", ".ndjson")


def is_shard_file(path: str | os.PathLike) -> bool:
    return str(path).endswith(SHARD_SUFFIXES)


def shard_files(stage_dir: str | os.PathLike) -> list[Path]:
    """The Parquet shards of a stage folder, sorted."""
    return sorted((Path(stage_dir) / DOCS_DIR).glob("*.parquet"))


def iter_checked_rows(
    path: str | os.PathLike, limits: ReadLimits | None = None
) -> Iterator[tuple[int, dict[str, Any] | None, RowProblem | None]]:
    """(line/row number, row, None) for each row that can be a document, (n, None, problem) else.

    The one reading loop of every stage (`jsonl_reader.iter_row_results` plus the field checks of
    `line_problem`): a bad line is one problem and reading goes on; never raises for bad data.
    """
    path = str(path)
    is_parquet = path.endswith(".parquet")
    for n, row, problem in iter_row_results(path, limits):
        if row is not None:
            reason = line_problem(row)
            if reason is None:
                yield n, row, None
                continue
            shown = json.dumps(row, default=str, ensure_ascii=False)[:SHOWN_BYTES]
            problem = RowProblem(
                path, n, reason, shown, raw=shown.encode("utf-8", errors="replace"), row=is_parquet
            )
        yield n, None, problem


def iter_rows(path: str | os.PathLike, limits: ReadLimits | None = None) -> Iterator[dict[str, Any]]:
    """The good rows of one shard file (Parquet or JSONL/JSONL.gz); bad ones are skipped.

    For passes that read a file again after a counting pass has quarantined its problems
    (`iter_checked_rows`): both skip the same rows, so row positions agree.
    """
    for _, row, _ in iter_checked_rows(path, limits):
        if row is not None:
            yield row


def _json_object_or_none(value: Any) -> bool:
    if value is None or isinstance(value, dict):
        return True
    if isinstance(value, str):
        if not value:
            return True
        try:
            return isinstance(json.loads(value), dict)
        except json.JSONDecodeError:
            return False
    return False


def line_problem(row: dict[str, Any] | None) -> str | None:
    """Why a row cannot be a document (a quarantine reason), or None when it can."""
    if row is None:
        return BAD_JSON_LINE
    if "text" not in row:
        return MISSING_TEXT
    if not isinstance(row["text"], str):
        return TEXT_NOT_STRING
    try:
        row["text"].encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: valid JSON, not writable as UTF-8
        return INVALID_UNICODE
    for key in ("url", "source"):
        if row.get(key) is not None and not isinstance(row[key], str):
            return BAD_FIELD
    if SOURCE_SEPARATOR in str(row.get("source") or ""):
        return BAD_SOURCE_NAME
    if not _json_object_or_none(row.get("metadata")) or not _json_object_or_none(row.get("provenance")):
        return BAD_FIELD
    return None


def row_to_document(row: dict[str, Any], default_source: str) -> Document:
    extra = {
        k: v for k, v in row.items() if k not in ("id", "text", "source", "url", "metadata", "provenance")
    }
    doc = from_row(row, default_source)
    for k, v in extra.items():
        doc.metadata.setdefault(k, v)
    return doc


def read_documents(paths: Iterable[str | os.PathLike], default_source: str = "unknown") -> Iterator[Document]:
    """All documents of the given shard files, in order (no counting: for tests and tools)."""
    for path in paths:
        for row in iter_rows(path):
            yield row_to_document(row, default_source)


def quarantine_problem(step: SciloomStep, problem: RowProblem, source: str) -> None:
    """Quarantine (and count in) what one `RowProblem` covers, from a reader step."""
    step.quarantine(
        input=problem.path,
        member=problem.member,
        reason=problem.reason,
        detail=problem.detail,
        source=source,
        data=problem.raw,
        nbytes=problem.nbytes,
        count_in=True,
    )


class ShardReader(SciloomReader):
    """Read Parquet/JSONL shards (an earlier stage's output or user JSONL) into a stage.

    A bad JSONL line or row is quarantined alone, with its line number. A file that cannot be read
    past some point (truncated gzip, corrupt Parquet) gives its readable rows, and the rest is
    quarantined as one input. Documents over the size cap (`ReadLimits`) are quarantined.
    """

    name = "shard_reader"

    def __init__(
        self,
        paths: list[str],
        source: str = "unknown",
        force_source: bool = False,
        limits: ReadLimits | None = None,
    ) -> None:
        super().__init__(paths, source)
        # True for raw user inputs of a recipe source: every document takes the recipe's name.
        self.force_source = force_source
        # Fixed when the stage is set up (workers inherit it), and part of the stage plan: a
        # rerun with another cap starts afresh.
        self.limits = limits or ReadLimits.from_env()

    def read(self, path: str) -> Iterable[Document]:
        # A bad row is quarantined alone: the good rows around it still flow on; a file that breaks
        # off keeps the rows read before the break (they were counted in and flow on).
        for _, row, problem in iter_checked_rows(path, self.limits):
            if row is not None:
                if self.force_source:
                    row = self._own_source(row)
                yield self._counted(row_to_document(row, self.source))
            else:
                quarantine_problem(self, problem, self.source)

    def _own_source(self, row: dict[str, Any]) -> dict[str, Any]:
        """Raw user data names its source by the recipe; a `source` field of its own is kept aside."""
        row = dict(row)
        if row.get("source") not in (None, self.source):
            row["original_source"] = row["source"]
        row["source"] = self.source
        return row

    def _counted(self, doc: Document) -> Document:
        self.count_in(source_of(doc), text_bytes(doc))
        return doc


class ParquetShardWriter(SciloomStep):
    """Last step of every stage: write kept documents to `docs/<rank>.parquet` atomically."""

    name = "parquet_writer"
    type = "writer"

    def __init__(self, stage_dir: str | os.PathLike, stage_name: str) -> None:
        super().__init__()
        self.stage_dir = str(stage_dir)
        self.stage_name = stage_name

    def process(self, data: Iterable[Document], rank: int, world_size: int) -> Iterable[Document]:
        out_dir = Path(self.stage_dir) / DOCS_DIR
        out_dir.mkdir(parents=True, exist_ok=True)
        final = out_dir / f"{rank:05d}.parquet"
        tmp = out_dir / f".{rank:05d}.parquet.tmp"
        writer = pq.ParquetWriter(tmp, SCHEMA, compression="zstd")
        batch: list[dict[str, Any]] = []
        batch_bytes = 0
        try:
            for doc in data:
                stages = provenance_of(doc).setdefault("stages", [])
                if not stages or stages[-1] != self.stage_name:
                    stages.append(self.stage_name)
                batch.append(to_row(doc))
                nbytes = text_bytes(doc)
                batch_bytes += nbytes
                self.count("kept", source_of(doc), nbytes)
                # Rows and bytes both bound a row group: 2048 documents near the size cap would
                # otherwise be held (and read back by later stages) as one 20 GB group.
                if len(batch) >= ROW_GROUP_ROWS or batch_bytes >= ROW_GROUP_BYTES:
                    writer.write_table(pa.Table.from_pylist(batch, schema=SCHEMA))
                    batch, batch_bytes = [], 0
                yield doc
            if batch:
                writer.write_table(pa.Table.from_pylist(batch, schema=SCHEMA))
        finally:
            writer.close()
        os.replace(tmp, final)
