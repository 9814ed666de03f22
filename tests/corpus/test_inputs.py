import json

from sciloom.corpus.inputs import resolve_inputs
from sciloom.corpus.shards import ShardReader
from sciloom.corpus.stage import StageRun, run_stage


def make_stage(folder):
    src = folder / "in.jsonl"
    src.write_text("\n".join(json.dumps({"id": str(i), "text": "x" * i}) for i in range(4)) + "\n")
    run_stage(StageRun("s", folder / "build" / "stage"), ShardReader([str(src)]), [])
    return folder / "build" / "stage"


def test_a_stage_folder_gives_only_its_shards_by_name_glob_or_parent(tmp_path):
    stage = make_stage(tmp_path)
    expected = [str(p) for p in sorted((stage / "docs").glob("*.parquet"))]
    assert resolve_inputs([stage]) == expected
    assert resolve_inputs([str(tmp_path / "build" / "st*")]) == expected
    assert resolve_inputs([tmp_path / "build"]) == expected


def test_the_same_file_named_twice_is_read_once_and_order_is_sorted(tmp_path):
    (tmp_path / "b.jsonl").write_text("{}\n")
    (tmp_path / "a.jsonl").write_text("{}\n")
    spellings = [tmp_path / "b.jsonl", str(tmp_path / "." / "b.jsonl"), tmp_path / "a.jsonl"]
    assert resolve_inputs(spellings) == [str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")]
