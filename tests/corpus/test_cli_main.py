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
