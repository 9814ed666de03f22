import pytest

from sciloom.corpus.cli.main import COMMANDS, build_parser, main


def test_every_subcommand_in_the_table_is_installed():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)


def test_bad_recipe_exits_2_with_one_line(tmp_path, capsys):
    recipe = tmp_path / "r.toml"
    recipe.write_text('[build]\nname = "x"\nseeed = 3\n[[sources]]\nname="a"\nkind="jsonl"\npaths=["."]\n')
    assert main(["build", str(recipe), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown key build.seeed" in err[0]


def test_missing_recipe_path_is_named(tmp_path, capsys):
    recipe = tmp_path / "r.toml"
    recipe.write_text('[[sources]]\nname="a"\nkind="jsonl"\npaths=["does/not/exist"]\n')
    assert main(["build", str(recipe), "--out", str(tmp_path / "out")]) == 2
    assert "does/not/exist does not exist" in capsys.readouterr().err


def test_unknown_source_kind_lists_the_known_ones(tmp_path, capsys):
    recipe = tmp_path / "r.toml"
    recipe.write_text('[[sources]]\nname="a"\nkind="pdf"\npaths=["."]\n')
    assert main(["build", str(recipe), "--out", str(tmp_path / "out")]) == 2
    assert "unknown kind 'pdf'" in capsys.readouterr().err


def test_missing_input_for_a_stage_command_is_usage_error(tmp_path, capsys):
    code = main(["extract", "web", str(tmp_path / "nothing*.html"), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "no such file" in capsys.readouterr().err


def test_usage_error_from_argparse_exits_2():
    with pytest.raises(SystemExit) as err:
        main(["build"])
    assert err.value.code == 2


def test_out_that_is_a_file_is_a_usage_error(tmp_path, capsys):
    target = tmp_path / "afile"
    target.write_text("")
    assert main(["build", "--out", str(target)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_a_whole_build_folder_as_input_is_refused_with_a_hint(tmp_path, capsys):
    build = tmp_path / "b"
    stage = build / "01-extract"
    (stage / "docs").mkdir(parents=True)
    (stage / "manifest.json").write_text('{"kind": "stage"}')
    (build / "recipe.sha256").write_text("x\n")
    assert main(["filter", str(build), "--out", str(tmp_path / "f")]) == 2
    assert "is a whole build folder; give one of its stage folders, e.g." in capsys.readouterr().err


def test_reusing_an_out_folder_for_other_inputs_starts_afresh(tmp_path, capsys):
    import json

    from sciloom.corpus.shards import read_documents, shard_files

    for name in ("a", "b"):
        (tmp_path / f"{name}.jsonl").write_text(json.dumps({"id": name, "text": f"doc {name}"}) + "\n")
    out = tmp_path / "out"
    assert main(["filter", str(tmp_path / "a.jsonl"), "--out", str(out), "--no-require-math"]) == 0
    assert main(["filter", str(tmp_path / "b.jsonl"), "--out", str(out), "--no-require-math"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs"] == [str(tmp_path / "b.jsonl")]
    ids = {d.id for d in read_documents(shard_files(out))} | {
        s["id"] for refs in manifest["samples"].values() for s in refs
    }
    assert ids <= {"b"}


def test_unexpected_failures_are_one_line_with_the_log_named(tmp_path, capsys, monkeypatch):
    # A bug deep inside a command (injected here: no real input triggers one on purpose) must still
    # be one line, with the traceback in the stage's log.
    import sciloom.corpus.inputs as inputs

    def broken(*args, **kwargs):
        raise RuntimeError("injected fault")

    monkeypatch.setattr(inputs, "resolve_inputs", broken)
    out = tmp_path / "out"
    assert main(["filter", str(tmp_path), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "RuntimeError: injected fault" in err[0] and "sciloom.log" in err[0]
    assert "Traceback" in (out / "logs" / "sciloom.log").read_text()


def test_zero_workers_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as err:
        main(["filter", str(tmp_path), "--out", str(tmp_path / "o"), "--workers", "0"])
    assert err.value.code == 2


def test_repeated_main_calls_close_the_log_files_they_opened(tmp_path):
    import gc
    import logging
    import warnings

    from sciloom.corpus.cli.main import setup_logging

    # A FileHandler dropped without close() leaks its file until garbage collection, which then
    # warns "unclosed file"; tests and long-lived callers run main() many times in one process.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for i in range(5):
            setup_logging(False, str(tmp_path / f"out{i}"))
        setup_logging(False, None)
        gc.collect()
    leaked = [
        w for w in caught if issubclass(w.category, ResourceWarning) and "sciloom.log" in str(w.message)
    ]
    assert leaked == []
    assert not any(isinstance(h, logging.FileHandler) for h in logging.getLogger().handlers)
