"""Input row -> the mix's output row, serialised once per document instead of once per copy.

The mix writes each copy as `record.to_row(row_to_document(row, source))` with `metadata.source`,
`metadata.origin_source` and `metadata.mix_epoch` set (docs/mix.md). Building a `Document` and
dumping its JSON for every copy cost a third of the stage's time, so `MixRow` does the same in
one step per document: the metadata JSON is dumped with a placeholder in the `mix_epoch` slot,
and each copy's JSON is that template with its copy number put in (`metadata_for`). The bytes are
those `to_row` writes (tests/corpus/mix/test_mix_rows.py checks it on real rows): the same
`json` options, through one cached encoder rather than a new one per call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sciloom.corpus.record import PROVENANCE, RESERVED_KEYS, SOURCE, URL

# The options of `record.to_row`; `json.dumps` with non-default options builds a new encoder
# on every call, which was half the cost of a small dump.
ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)
ROW_KEYS = frozenset(("id", "text", SOURCE, URL, "metadata", PROVENANCE))
PLAIN_KEYS = frozenset(("id", "text", SOURCE))
EPOCH_KEY = "mix_epoch"
ORIGIN_KEY = "origin_source"
# A string no input holds (NUL bytes around a fixed name), dumped where the copy number goes.
PLACEHOLDER = "\x00sciloom:mix_epoch\x00"
SLOT = ENCODER.encode(PLACEHOLDER)
EMPTY_TEMPLATE = ENCODER.encode({EPOCH_KEY: PLACEHOLDER})
EMPTY_PROVENANCE = ENCODER.encode({"stages": []})


@dataclass(frozen=True)
class MixRow:
    """One document's output fields; `metadata` is a template (see `metadata_for`)."""

    id: str
    url: str | None
    metadata: str
    has_slot: bool  # True: `metadata` holds SLOT once; False: it is the JSON without mix_epoch
    provenance: str


def _json_object(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        if value == "{}" or value == EMPTY_PROVENANCE:  # what the stages write for empty fields
            return {} if value == "{}" else {"stages": []}
        return json.loads(value) if value else {}
    return dict(value or {})


def mix_row(row: dict[str, Any], source: str) -> MixRow:
    """The fields `to_row` gives for this row routed to `source` (the mix source).

    Mirrors `shards.row_to_document` + `record.from_row` + the stage's metadata updates: the
    row's own source (or its metadata's) becomes `origin_source` when it differs, extra columns
    join the metadata unless it has the key, reserved keys leave it.
    """
    if row.keys() <= PLAIN_KEYS:  # id, text, maybe source: the common JSONL row, no JSON to dump
        origin = row.get(SOURCE) or source
        if origin == source:
            return MixRow(str(row["id"]), None, EMPTY_TEMPLATE, True, EMPTY_PROVENANCE)
        template = ENCODER.encode({EPOCH_KEY: PLACEHOLDER, ORIGIN_KEY: origin})
        if template.count(SLOT) == 1:
            return MixRow(str(row["id"]), None, template, True, EMPTY_PROVENANCE)
    meta = _json_object(row.get("metadata"))
    prov = _json_object(row.get(PROVENANCE))
    origin = row.get(SOURCE) or meta.pop(SOURCE, None) or source
    url = row.get(URL) or meta.pop(URL, None)
    out = {k: v for k, v in meta.items() if k not in RESERVED_KEYS}
    for k, v in row.items():
        if k not in ROW_KEYS:
            out.setdefault(k, v)
    if origin != source:
        out[ORIGIN_KEY] = origin
    prov.setdefault("stages", [])
    provenance = EMPTY_PROVENANCE if prov == {"stages": []} else ENCODER.encode(prov)
    if not out:
        return MixRow(str(row["id"]), url, EMPTY_TEMPLATE, True, provenance)
    out[EPOCH_KEY] = PLACEHOLDER
    template = ENCODER.encode(out)
    if template.count(SLOT) == 1:
        return MixRow(str(row["id"]), url, template, True, provenance)
    del out[EPOCH_KEY]  # the placeholder also occurs in the row's own metadata: dump per copy
    return MixRow(str(row["id"]), url, ENCODER.encode(out), False, provenance)


def metadata_for(template: str, has_slot: bool, copy: int) -> str:
    """The metadata JSON of copy number `copy`."""
    if has_slot:
        return template.replace(SLOT, str(copy))
    meta = json.loads(template)
    meta[EPOCH_KEY] = copy
    return ENCODER.encode(meta)


def copy_id(base_id: str, copy: int) -> str:
    """Copy 0 keeps the document's id; repeats get `#e<n>`."""
    return base_id if copy == 0 else f"{base_id}#e{copy}"


def copy_columns(
    batch: pa.RecordBatch, rows: list[int], copy_numbers: list[int], repeats: bool
) -> tuple[pa.Array, pa.Array]:
    """Ids and metadata of the copies `(rows[i], copy_numbers[i])` of staged documents.

    Without repeats (every copy is copy 0) and with every template slotted, one vectorised
    replace; otherwise per copy in Python.
    """
    take = pa.array(rows, type=pa.int64())
    ids = batch.column("id").take(take)
    templates = batch.column("metadata").take(take)
    slots = batch.column("has_slot").take(take)
    if not repeats and pc.all(slots).as_py():
        return ids, pc.replace_substring(templates, SLOT, "0")
    out_ids = [copy_id(i, c) for i, c in zip(ids.to_pylist(), copy_numbers)]
    out_meta = [
        metadata_for(t, s, c) for t, s, c in zip(templates.to_pylist(), slots.to_pylist(), copy_numbers)
    ]
    return pa.array(out_ids, type=pa.string()), pa.array(out_meta, type=pa.large_string())
