import gzip
import json

import pyarrow.parquet as pq
import pytest

from sciloom.corpus.errors import InputError
from sciloom.corpus.shards import SCHEMA, iter_rows


def test_jsonl_gz_rows_are_read_with_ids(tmp_path):
    path = tmp_path / "in.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(json.dumps({"text": "a"}) + "\n\n" + json.dumps({"id": "x", "text": "b"}) + "\n")
    rows = list(iter_rows(path))
    assert [r["id"] for r in rows] == ["in.jsonl.gz:1", "x"]


def test_bad_json_line_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "text": "ok"}\n{oops\n')
    with pytest.raises(InputError) as err:
        list(iter_rows(path))
    assert err.value.reason == "bad_json_line" and "line 2" in err.value.detail


def test_truncated_gzip_is_an_input_error(tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    data = gzip.compress(("\n".join(json.dumps({"id": i, "text": "x" * 100}) for i in range(200))).encode())
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as err:
        list(iter_rows(path))
    assert err.value.reason == "unreadable_jsonl"


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
