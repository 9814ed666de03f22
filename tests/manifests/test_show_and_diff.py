import json
from collections import Counter

from sciloom.corpus.cli.main import main
from sciloom.corpus.shards import read_documents, shard_files


def test_show_json_counts_equal_the_shards(build_factory, capsys):
    build = build_factory("a")
    assert main(["manifest", "show", str(build), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for stage in data["stages"]:
        on_disk = Counter(d.metadata["source"] for d in read_documents(shard_files(build / stage["dir"])))
        assert {s: c["docs"]["kept"] for s, c in stage["sources"].items()} == dict(on_disk)
    filt = data["stages"][1]
    assert filt["totals"]["docs"]["in"] == 40
    assert filt["totals"]["dropped_reasons"]["too_short"] == filt["totals"]["docs"]["dropped"] > 0


def test_show_prints_a_table_per_stage_and_source(build_factory, capsys):
    build = build_factory("a")
    assert main(["manifest", "show", str(build)]) == 0
    out = capsys.readouterr().out
    assert "import" in out and "filter" in out and "too_short" in out and "arxiv" in out


def test_diff_shows_the_effect_of_one_threshold(build_factory, capsys):
    a = build_factory("a", min_chars=20)
    b = build_factory("b", min_chars=40)
    assert main(["manifest", "diff", str(a), str(b), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["recipe"] == {"filters.min_chars": {"a": 20, "b": 40}}
    assert "import" not in d["stages"]  # unchanged stage
    web = d["stages"]["filter"]["sources"]["web"]
    assert web["docs.kept"]["delta"] < 0
    assert web["docs.dropped"]["delta"] == -web["docs.kept"]["delta"]
    assert main(["manifest", "diff", str(a), str(b)]) == 0
    assert "filters.min_chars" in capsys.readouterr().out


def test_show_on_a_missing_folder_is_a_one_line_error(tmp_path, capsys):
    assert main(["manifest", "show", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no manifest here" in err[0]
