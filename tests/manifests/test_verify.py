from sciloom.corpus.cli.main import main
from sciloom.corpus.shards import shard_files


def test_a_fresh_build_verifies(build_factory, capsys):
    build = build_factory("a")
    assert main(["manifest", "verify", str(build)]) == 0
    assert "verified" in capsys.readouterr().out


def test_verify_catches_a_modified_shard(build_factory, capsys):
    build = build_factory("a")
    shard = shard_files(build / "02-filter")[0]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    assert main(["manifest", "verify", str(build)]) == 1
    assert f"shard docs/{shard.name} was modified" in capsys.readouterr().err


def test_verify_catches_a_deleted_shard(build_factory, capsys):
    build = build_factory("a")
    shard = shard_files(build / "01-import")[0]
    shard.unlink()
    assert main(["manifest", "verify", str(build)]) == 1
    assert f"shard docs/{shard.name} is missing" in capsys.readouterr().err


def test_verify_catches_an_input_stage_rewritten_after_use(build_factory, capsys):
    build = build_factory("a")
    manifest = build / "01-import" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"seed": 0', '"seed": 1'))
    assert main(["manifest", "verify", str(build)]) == 1
    err = capsys.readouterr().err
    assert "input stage 01-import changed" in err
    assert "import: stage manifest differs" in err
