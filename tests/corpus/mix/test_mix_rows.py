"""The mix's one-step row serialisation, staging and Arrow shuffle give the row-by-row results.

`rows.mix_row` + `metadata_for` replace `to_row(row_to_document(row))` per copy; each is checked
against that definition on real rows (an arXiv stage's Parquet shards, JSONL rows with metadata,
extra columns, foreign sources). Staging and buckets that go to disk must give what they give
in memory.
"""

from __future__ import annotations

import copy as copy_module
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from sciloom.corpus.arxiv.config import ArxivConfig
from sciloom.corpus.arxiv.stage import run_arxiv_stage
from sciloom.corpus.mix.interleave import BucketSpill, CopyKeys, copy_key
from sciloom.corpus.mix.rows import PLACEHOLDER, SLOT, copy_columns, copy_id, metadata_for, mix_row
from sciloom.corpus.mix.staging import STAGED, StagingWriter
from sciloom.corpus.record import to_row
from sciloom.corpus.shards import iter_rows, row_to_document
from sciloom.corpus.stage import StageRun


def reference_row(row: dict, source: str, copy: int) -> dict:
    """What the mix wrote per copy before: a Document, the stage's metadata updates, to_row."""
    doc = row_to_document(copy_module.deepcopy(row), source)  # from_row pops from a metadata dict
    origin = doc.metadata.get("source")
    if origin != source:
        doc.metadata["origin_source"] = origin
    doc.metadata["source"] = source
    doc.id = str(doc.id) if copy == 0 else f"{doc.id}#e{copy}"
    doc.metadata["mix_epoch"] = copy
    return to_row(doc)


@pytest.fixture(scope="module")
def real_rows(shared_data: Path, tmp_path_factory) -> list[dict]:
    """Rows of an arXiv stage's shards plus JSONL-style rows with every optional field."""
    out = tmp_path_factory.mktemp("arxiv_stage")
    papers = sorted(
        str(p) for p in (shared_data / "arxiv-src/papers").iterdir() if p.suffix not in (".json", ".md")
    )
    run_arxiv_stage(papers, ArxivConfig(), StageRun("extract", out))
    rows = [row for path in sorted((out / "docs").glob("*.parquet")) for row in iter_rows(path)]
    assert len(rows) >= 8
    problems = [
        json.loads(line) for line in open(shared_data / "problems/gsm8k/test.jsonl", encoding="utf-8")
    ]
    for i, p in enumerate(problems[:60]):
        row = {"id": f"g{i}", "text": p["question"] + " \u2014 \u00fc"}
        if i % 2:
            row["source"] = "gsm8k" if i % 4 == 1 else "web"
        if i % 3 == 0:
            row["metadata"] = {"score": i / 7, "tags": ["a", "\u00e9"], "source": "meta-src", "url": "u"}
        if i % 5 == 0:
            row["answer"] = p["answer"]  # an extra column joins the metadata
        if i % 7 == 0:
            row["provenance"] = {"input": "x.jsonl", "stages": ["ingest"]}
        if i % 11 == 0:
            row["url"] = f"https://example.org/{i}"
        rows.append(row)
    return rows


@pytest.mark.parametrize("copy", [0, 1, 3])
def test_mix_row_gives_the_bytes_to_row_gave_for_every_copy(real_rows: list[dict], copy: int) -> None:
    for row in real_rows:
        for source in ("arxiv", "web"):
            want = reference_row(row, source, copy)
            got = mix_row(row, source)
            assert copy_id(got.id, copy) == want["id"]
            assert metadata_for(got.metadata, got.has_slot, copy) == want["metadata"]
            assert got.provenance == want["provenance"]
            assert got.url == want["url"]


def test_a_metadata_value_equal_to_the_placeholder_falls_back_to_a_dump_per_copy() -> None:
    row = {"id": "a", "text": "t", "metadata": {"mix_epoch_note": PLACEHOLDER}}
    got = mix_row(row, "web")
    assert not got.has_slot and SLOT in got.metadata
    for copy in (0, 2):
        assert metadata_for(got.metadata, got.has_slot, copy) == reference_row(row, "web", copy)["metadata"]


def test_copy_columns_vectorised_and_per_copy_paths_agree(real_rows: list[dict]) -> None:
    writer = StagingWriter("/nonexistent/never-written", memory_bytes=1 << 30)
    for row in real_rows:
        writer.add(mix_row(row, "arxiv"), row["text"], "arxiv", len(row["text"]))
    writer.close()
    (batch,) = list(writer.batches())
    rows = list(range(batch.num_rows))
    fast_ids, fast_meta = copy_columns(batch, rows, [0] * len(rows), repeats=False)
    slow_ids, slow_meta = copy_columns(batch, rows, [0] * len(rows), repeats=True)
    assert fast_ids.to_pylist() == slow_ids.to_pylist()
    assert fast_meta.to_pylist() == slow_meta.to_pylist()
    assert fast_meta.to_pylist() == [reference_row(r, "arxiv", 0)["metadata"] for r in real_rows]


def test_staging_over_its_memory_budget_streams_the_same_batches_from_disk(
    real_rows: list[dict], tmp_path: Path
) -> None:
    def staged(memory_bytes: int) -> tuple[pa.Table, bool]:
        writer = StagingWriter(tmp_path / f"s{memory_bytes}.arrows", memory_bytes)
        for row in real_rows * 30:
            writer.add(mix_row(row, "arxiv"), row["text"], "arxiv", len(row["text"].encode()))
        writer.close()
        table = pa.Table.from_batches(list(writer.batches()), schema=STAGED)
        return table, writer.path.exists()

    in_memory, wrote = staged(1 << 30)
    assert not wrote
    on_disk, wrote = staged(1 << 20)
    assert wrote
    assert on_disk.equals(in_memory) and in_memory.num_rows == 30 * len(real_rows)


def test_bucket_spill_flushed_to_files_sorts_like_the_in_memory_one(
    real_rows: list[dict], tmp_path: Path
) -> None:
    writer = StagingWriter(tmp_path / "unused.arrows", 1 << 30)
    for row in real_rows:
        writer.add(mix_row(row, "arxiv"), row["text"], "arxiv", len(row["text"]))
    writer.close()
    (batch,) = list(writer.batches())
    keys_of = CopyKeys(3)
    rows = [i for i in range(batch.num_rows) for _ in range(2)]
    copies = [c for _ in range(batch.num_rows) for c in range(2)]
    keys = [keys_of("arxiv", i, c) for i, c in zip(rows, copies)]
    assert keys[:4] == [
        copy_key(3, "arxiv", 0, 0),
        copy_key(3, "arxiv", 0, 1),
        copy_key(3, "arxiv", 1, 0),
        copy_key(3, "arxiv", 1, 1),
    ]
    ids, meta = copy_columns(batch, rows, copies, repeats=True)
    results = []
    for flush_bytes in (1 << 30, 1):
        spill = BucketSpill(tmp_path / f"b{flush_bytes}", num_shards=3, flush_bytes=flush_bytes)
        half = len(rows) // 2
        for part in (slice(0, half), slice(half, None)):
            spill.add(batch, rows[part], ids[part], meta[part], keys[part])
        spill.close()
        assert (tmp_path / f"b{flush_bytes}" / "00000.arrows").exists() == (flush_bytes == 1)
        results.append([spill.sorted_table(s) for s in range(3)])
        assert not (tmp_path / f"b{flush_bytes}" / "00000.arrows").exists()  # read once, removed
    for memory, disk in zip(*results):
        assert memory.equals(disk)
    ordered = sorted(zip(keys, ids.to_pylist()))
    for shard, table in enumerate(results[0]):
        want = [i for k, i in ordered if k % 3 == shard]
        assert table.column("id").to_pylist() == want
    assert sum(t.num_rows for t in results[0]) == len(rows)
    assert np.all(np.diff([k // 3 for k, _ in ordered if k % 3 == 0]) > 0)
