"""The document record that flows through every stage.

In memory a record is a datatrove `Document` (so our steps compose with datatrove's readers,
writers and executors); the fields datatrove lacks live in `metadata` under fixed keys:

- `source`     the recipe source name (e.g. "arxiv", "web", "gsm8k_work")
- `url`        URL or input path the text came from
- `provenance` dict: input file, member, byte offset, sha256, extractor, ... and `stages`,
               the list of stages the record passed through
- everything else in `metadata` is stage metadata (scores, signals).

On disk (corpus/shards.py) the same record is one Parquet row with columns `id, text, source,
url, metadata, provenance` where metadata and provenance are JSON strings.
"""

from __future__ import annotations

import json
from typing import Any

from datatrove.data import Document

SOURCE = "source"
URL = "url"
PROVENANCE = "provenance"
RESERVED_KEYS = (SOURCE, URL, PROVENANCE)


def make_document(
    id: str,
    text: str,
    source: str,
    *,
    url: str | None = None,
    metadata: dict[str, Any] | None = None,
    provenance: dict[str, Any] | None = None,
) -> Document:
    """Build a Document carrying the full sciloom record."""
    meta = dict(metadata or {})
    meta[SOURCE] = source
    meta[URL] = url
    prov = dict(provenance or {})
    prov.setdefault("stages", [])
    meta[PROVENANCE] = prov
    return Document(text=text, id=id, metadata=meta)


def source_of(doc: Document) -> str:
    return str(doc.metadata.get(SOURCE) or "unknown")


def provenance_of(doc: Document) -> dict[str, Any]:
    prov = doc.metadata.get(PROVENANCE)
    if not isinstance(prov, dict):
        prov = {"stages": []}
        doc.metadata[PROVENANCE] = prov
    return prov


def copy_document(doc: Document, new_id: str) -> Document:
    """A new record with `doc`'s text, source, url and metadata, and a deep copy of its provenance:
    the variants a prompt or synth step derives from one input row."""
    meta = {k: v for k, v in doc.metadata.items() if k not in ("source", "url", "provenance")}
    return make_document(
        new_id,
        doc.text,
        source_of(doc),
        url=doc.metadata.get("url"),
        metadata=meta,
        provenance=json.loads(json.dumps(provenance_of(doc))),
    )


def stage_metadata(doc: Document) -> dict[str, Any]:
    """Metadata without the reserved record keys."""
    return {k: v for k, v in doc.metadata.items() if k not in RESERVED_KEYS}


def to_row(doc: Document) -> dict[str, Any]:
    """Document -> Parquet row (metadata/provenance as JSON strings)."""
    return {
        "id": str(doc.id),
        "text": doc.text,
        "source": source_of(doc),
        "url": doc.metadata.get(URL),
        "metadata": json.dumps(stage_metadata(doc), ensure_ascii=False, sort_keys=True, default=str),
        "provenance": json.dumps(provenance_of(doc), ensure_ascii=False, sort_keys=True, default=str),
    }


def from_row(row: dict[str, Any], default_source: str = "unknown") -> Document:
    """Parquet/JSONL row -> Document. Accepts rows with only `id` and `text` (JSONL inputs)."""
    meta = row.get("metadata") or {}
    if isinstance(meta, str):
        meta = json.loads(meta) if meta else {}
    prov = row.get("provenance") or {}
    if isinstance(prov, str):
        prov = json.loads(prov) if prov else {}
    source = row.get("source") or meta.pop(SOURCE, None) or default_source
    return make_document(
        str(row["id"]),
        row["text"],
        source,
        url=row.get("url") or meta.pop(URL, None),
        metadata={k: v for k, v in meta.items() if k not in RESERVED_KEYS},
        provenance=prov,
    )
