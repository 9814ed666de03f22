"""Shards on disk: one fixed Parquet schema for every stage; JSONL(.gz) accepted as input.

A stage folder holds `docs/<rank>.parquet`. The writer writes to a temporary name and renames at
the end, so a killed task never leaves a half shard that a later stage would read (a rerun of
that task rewrites it). Readers accept Parquet with our schema, and JSONL/JSONL.gz rows with at
least `id` and `text` (other columns become metadata).
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document

from sciloom.corpus.errors import InputError
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
BAD_JSON_LINE = "bad_json_line"
MISSING_TEXT = "missing_text_field"
TEXT_NOT_STRING = "text_not_string"
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


def iter_rows(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """Rows of one shard file (Parquet or JSONL/JSONL.gz). Bad JSON raises InputError."""
    path = str(path)
    if path.endswith(".parquet"):
        try:
            pf = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as err:
            raise InputError("unreadable_parquet", str(err), path=path) from err
        name = Path(path).name
        if "text" not in pf.schema_arrow.names:
            raise InputError("missing_text_field", "Parquet file has no `text` column", path=path)
        row_number = 0
        for batch in pf.iter_batches(batch_size=ROW_GROUP_ROWS):
            for row in batch.to_pylist():
                row_number += 1
                if row.get("id") is None:  # third-party Parquet without ids: name them by position
                    row["id"] = f"{name}:{row_number}"
                yield row
        return
    name = Path(path).name
    for lineno, row, _ in iter_jsonl_lines(path):
        if row is None:
            raise InputError("bad_json_line", f"line {lineno}: not a JSON object", path=path)
        if "text" not in row:
            raise InputError("missing_text_field", f"line {lineno}", path=path)
        if not isinstance(row["text"], str):
            raise InputError(
                TEXT_NOT_STRING, f"line {lineno}: text is {type(row['text']).__name__}", path=path
            )
        if "id" not in row:
            row["id"] = f"{name}:{lineno}"
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


def iter_jsonl_lines(path: str | os.PathLike) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    """(line number, row or None when the line is not a JSON object, raw line) of a JSONL(.gz) file.

    The one JSONL line reader: callers decide whether a bad line stops the file (`iter_rows`) or
    is quarantined alone (`ShardReader`, the prompt readers). A file that cannot be read at all
    (truncated gzip, undecodable bytes) raises InputError("unreadable_jsonl").
    """
    path = str(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    row = None
                yield lineno, row if isinstance(row, dict) else None, line
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise InputError("unreadable_jsonl", str(err), path=path) from err


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


class ShardReader(SciloomReader):
    """Read Parquet/JSONL shards (an earlier stage's output or user JSONL) into a stage.

    A bad JSONL line is quarantined alone. A file that cannot be read past some point (truncated
    gzip, corrupt Parquet) is quarantined as one input; the documents read before the error stay
    in the stage (they were counted in and flow on).
    """

    name = "shard_reader"

    def __init__(self, paths: list[str], source: str = "unknown", force_source: bool = False) -> None:
        super().__init__(paths, source)
        # True for raw user inputs of a recipe source: every document takes the recipe's name.
        self.force_source = force_source

    def read(self, path: str) -> Iterable[Document]:
        try:
            if path.endswith(".parquet"):
                rows = ((n, row, None) for n, row in enumerate(iter_rows(path), 1))
            else:
                rows = iter_jsonl_lines(path)
            name = Path(path).name
            for lineno, row, raw in rows:
                # A bad row is quarantined alone: the good rows around it still flow on.
                reason = line_problem(row)
                if reason is None:
                    row.setdefault("id", f"{name}:{lineno}")
                    if self.force_source:
                        row = self._own_source(row)
                    yield self._counted(row_to_document(row, self.source))
                    continue
                shown = raw if raw is not None else json.dumps(row, default=str, ensure_ascii=False)
                self.quarantine(
                    input=path,
                    member=f"line {lineno}" if raw is not None else f"row {lineno}",
                    reason=reason,
                    detail=shown[:200],
                    source=self.source,
                    data=shown.encode("utf-8", errors="replace"),
                    count_in=True,
                )
        except InputError as err:
            data_size = os.path.getsize(path) if os.path.exists(path) else 0
            self.quarantine(
                input=path,
                reason=err.reason,
                detail=err.detail,
                source=self.source,
                nbytes=data_size,
                count_in=True,
            )

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
        try:
            for doc in data:
                stages = provenance_of(doc).setdefault("stages", [])
                if not stages or stages[-1] != self.stage_name:
                    stages.append(self.stage_name)
                batch.append(to_row(doc))
                self.count("kept", source_of(doc), text_bytes(doc))
                if len(batch) >= ROW_GROUP_ROWS:
                    writer.write_table(pa.Table.from_pylist(batch, schema=SCHEMA))
                    batch = []
                yield doc
            if batch:
                writer.write_table(pa.Table.from_pylist(batch, schema=SCHEMA))
        finally:
            writer.close()
        os.replace(tmp, final)
