import gzip
import json
import zlib

import pyarrow.parquet as pq

from sciloom.corpus.shards import SCHEMA, iter_checked_rows, iter_rows


def test_jsonl_gz_rows_are_read_with_ids(tmp_path):
    path = tmp_path / "in.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(json.dumps({"text": "a"}) + "\n\n" + json.dumps({"id": "x", "text": "b"}) + "\n")
    rows = list(iter_rows(path))
    assert [r["id"] for r in rows] == ["in.jsonl.gz:1", "x"]


def test_a_bad_json_line_is_skipped_and_reported_with_its_line_number(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "text": "ok"}\n{oops\n{"id": "c", "text": "after"}\n')
    assert [r["id"] for r in iter_rows(path)] == ["a", "c"]
    problems = [p for _, _, p in iter_checked_rows(path) if p is not None]
    assert [(p.reason, p.member) for p in problems] == [("bad_json_line", "line 2")]


def test_a_truncated_gzip_keeps_every_complete_line_and_reports_the_rest(tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    lines = "".join(json.dumps({"id": i, "text": "x" * 100}) + "\n" for i in range(2000)).encode()
    data = gzip.compress(lines)
    cut = data[: len(data) // 2]
    path.write_bytes(cut)
    # what zlib itself can recover from the cut stream: every line before the break
    recoverable = zlib.decompressobj(31).decompress(cut).count(b"\n")
    results = list(iter_checked_rows(path))
    assert 0 < recoverable < 2000
    assert [r["id"] for _, r, _ in results if r is not None] == list(range(recoverable))
    (problem,) = [p for _, _, p in results if p is not None]
    assert problem.reason == "truncated_gzip" and problem.member == f"line {recoverable + 1} onwards"


def test_parquet_schema_is_fixed():
    assert SCHEMA.names == ["id", "text", "source", "url", "metadata", "provenance"]
    assert pq is not None


def test_parquet_without_id_column_gets_positional_ids(tmp_path):
    import pyarrow as pa

    path = tmp_path / "third_party.parquet"
    pq.write_table(pa.table({"text": ["a", "b"], "lang": ["en", "fr"]}), path)
    rows = list(iter_rows(path))
    assert [r["id"] for r in rows] == ["third_party.parquet:1", "third_party.parquet:2"]
    assert rows[1]["lang"] == "fr"


def test_shard_reader_quarantines_a_bad_line_alone(tmp_path):
    from sciloom.corpus.shards import ShardReader
    from sciloom.manifests.ledger import counts_from_stats

    path = tmp_path / "mixed.jsonl"
    path.write_text(
        '{"id": "a", "text": "one"}\n{oops\n{"id": "c"}\n{"id": "d", "text": "four"}\n{"id": "e", "text": 42}\n'
    )
    reader = ShardReader([str(path)], source="web")
    docs = list(reader.run(None))
    assert [d.id for d in docs] == ["a", "d"]
    counts = counts_from_stats([reader.stats.to_dict()])["web"]
    assert counts.docs["in"] == 5 and counts.docs["quarantined"] == 3
    assert counts.quarantined_reasons == {"bad_json_line": 1, "missing_text_field": 1, "text_not_string": 1}


def test_malformed_rows_are_quarantined_one_by_one(tmp_path):
    import pyarrow as pa

    from sciloom.corpus.shards import ShardReader
    from sciloom.manifests.ledger import counts_from_stats

    rows = [
        {"id": "ok1", "text": "fine"},
        {"id": "m", "text": "x", "metadata": "{not json"},
        {"id": "p", "text": "x", "provenance": [1, 2]},
        {"id": "u", "text": "x", "url": 7},
        {"id": "s", "text": "x", "source": "a|b"},
        {"id": "ok2", "text": "also fine"},
    ]
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + '\n{"id": "z", "text": "\\ud83d"}\n')
    parquet = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["good", None]}), parquet)
    reader = ShardReader([str(jsonl), str(parquet)], source="web")
    assert [d.id for d in reader.run(None)] == ["ok1", "ok2", "a"]
    counts = counts_from_stats([reader.stats.to_dict()])["web"]
    assert counts.docs["in"] == 9 and counts.docs["quarantined"] == 6
    assert counts.quarantined_reasons == {
        "bad_record_field": 3,
        "bad_source_name": 1,
        "invalid_unicode": 1,
        "text_not_string": 1,
    }


def test_raw_inputs_of_a_recipe_source_take_its_name(tmp_path):
    from sciloom.corpus.shards import ShardReader

    path = tmp_path / "owm.jsonl"
    path.write_text(json.dumps({"id": "1", "text": "t", "source": "commoncrawl"}) + "\n")
    (doc,) = ShardReader([str(path)], source="owm", force_source=True).run(None)
    assert doc.metadata["source"] == "owm" and doc.metadata["original_source"] == "commoncrawl"
