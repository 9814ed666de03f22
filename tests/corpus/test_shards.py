import gzip
import json
import zlib

import pyarrow.parquet as pq
import pytest

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


def test_concatenated_gzip_members_are_read_as_one_file(tmp_path):
    path = tmp_path / "multi.jsonl.gz"
    path.write_bytes(
        gzip.compress(json.dumps({"id": "a", "text": "one"}).encode() + b"\n")
        + gzip.compress(json.dumps({"id": "b", "text": "two"}).encode() + b"\n")
    )
    assert [r["id"] for r in iter_rows(path)] == ["a", "b"]


def test_json_that_only_the_stdlib_accepts_is_still_read(tmp_path):
    # NaN and 2**70 are refused by orjson, accepted by json (and by the reader before it)
    path = tmp_path / "lenient.jsonl"
    path.write_text(
        '{"id": "a", "text": "x", "score": NaN}\n{"id": "b", "text": "y", "n": 1180591620717411303424}\n'
    )
    assert [r["id"] for r in iter_rows(path)] == ["a", "b"]


def test_a_json_value_that_is_not_an_object_is_a_bad_line(tmp_path):
    path = tmp_path / "list.jsonl"
    path.write_text('[1, 2]\n"text"\n{"id": "ok", "text": "z"}\n')
    results = list(iter_checked_rows(path))
    assert [(p.reason, p.member) for _, _, p in results if p] == [
        ("bad_json_line", "line 1"),
        ("bad_json_line", "line 2"),
    ]
    assert [r["id"] for _, r, _ in results if r] == ["ok"]


def test_a_line_over_the_line_limit_is_skipped_without_being_held(tmp_path):
    from sciloom.corpus.jsonl_reader import ReadLimits

    limits = ReadLimits(max_document_bytes=1000)  # lines up to 4 x 1000 + 1 MiB are parsed
    path = tmp_path / "long.jsonl"
    huge = json.dumps({"id": "huge", "text": "x" * (3 * 1024 * 1024)})
    over = json.dumps({"id": "c", "text": "y" * 1500})  # parsed, then over the 1000-byte cap
    path.write_text(
        json.dumps({"id": "a", "text": "short"})
        + "\n"
        + huge
        + "\n"
        + json.dumps({"id": "c", "text": "y" * 1500})
        + "\n"
    )
    results = list(iter_checked_rows(path, limits))
    problems = [(p.reason, p.member, p.nbytes) for _, _, p in results if p]
    assert problems == [
        ("document_too_large", "line 2", len(huge) + 1),
        ("document_too_large", "line 3", len(over) + 1),
    ]
    assert [r["id"] for _, r, _ in results if r] == ["a"]
    (first,) = [p for _, _, p in results if p and p.line == 2]
    assert len(first.raw) <= 200  # only the head of the long line is kept for the quarantine copy


def test_parquet_rows_over_the_cap_are_quarantined_one_by_one(tmp_path):
    import pyarrow as pa

    from sciloom.corpus.jsonl_reader import ReadLimits

    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": ["ok", "é" * 600, "fine"]}), path)
    results = list(iter_checked_rows(path, ReadLimits(max_document_bytes=1000)))
    assert [r["id"] for _, r, _ in results if r] == ["a", "c"]
    assert [(p.reason, p.member) for _, _, p in results if p] == [("document_too_large", "row 2")]


def test_a_missing_file_is_one_problem_not_an_exception(tmp_path):
    results = list(iter_checked_rows(tmp_path / "gone.jsonl"))
    assert [(p.reason, p.rest) for _, _, p in results] == [("unreadable_jsonl", True)]


def test_a_bad_cap_in_the_environment_is_a_usage_error(monkeypatch):
    from sciloom.corpus.errors import UsageError
    from sciloom.corpus.jsonl_reader import ReadLimits

    monkeypatch.setenv("SCILOOM_MAX_DOCUMENT_MB", "ten")
    with pytest.raises(UsageError, match="SCILOOM_MAX_DOCUMENT_MB"):
        ReadLimits.from_env()
    monkeypatch.setenv("SCILOOM_MAX_DOCUMENT_MB", "2.5")
    assert ReadLimits.from_env().max_document_bytes == int(2.5 * 1024 * 1024)


def test_a_utf8_byte_order_mark_does_not_cost_the_first_line(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "a", "text": "x"}).encode() + b"\n")
    assert [r["id"] for r in iter_rows(path)] == ["a"]
