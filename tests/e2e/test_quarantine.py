"""Bad inputs in a build: exactly those are quarantined, with reasons; nothing else is lost."""

import gzip
import io
import tarfile
import tomllib
from pathlib import Path

import pytest

from sciloom.corpus.cli.main import main
from sciloom.corpus.recipe import SAMPLE_RECIPE
from sciloom.corpus.shards import read_documents, shard_files
from sciloom.manifests.schema import read_manifest_dict

LATIN1_PAGE = (
    "<html><head><meta charset='iso-8859-1'><title>Théorème</title></head><body><article>"
    "<h1>Le théorème de Pythagore</h1><p>Dans un triangle rectangle, on a toujours "
    "$a^2 + b^2 = c^2$ où $c$ est l'hypoténuse. Démonstration élémentaire.</p></article></body></html>"
)


def tex_tarball() -> bytes:
    body = b"\\documentclass{article}\\begin{document}Hello $x$.\\end{document}\n" * 200
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("main.tex")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    return buf.getvalue()


def write_bad_inputs(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True)
    good = tex_tarball()
    corrupt = bytearray(good)
    for i in range(40, min(len(corrupt), 400)):
        corrupt[i] ^= 0x5A
    files = {
        "corrupt": folder / "2101.00001.tar.gz",
        "truncated": folder / "2101.00002.gz",
        "binary": folder / "image.html",
        "latin1": folder / "latin1.html",
    }
    files["corrupt"].write_bytes(bytes(corrupt))
    tex = gzip.compress(
        b"\\documentclass{article}\\begin{document}" + b"Some text $y^2$. " * 500 + b"\\end{document}"
    )
    files["truncated"].write_bytes(tex[: len(tex) // 2])
    files["binary"].write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64)
    files["latin1"].write_bytes(LATIN1_PAGE.encode("latin-1"))
    return files


@pytest.fixture(scope="module")
def bad_build(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    files = write_bad_inputs(tmp / "inputs")
    raw = tomllib.loads(SAMPLE_RECIPE.read_text())
    sample_dir = SAMPLE_RECIPE.parent
    recipe_text = SAMPLE_RECIPE.read_text()
    for src in raw["sources"]:
        if "paths" not in src:
            continue
        extra = []
        if src["kind"] == "arxiv":
            extra = [files["corrupt"], files["truncated"]]
        elif src["kind"] == "web":
            extra = [files["binary"], files["latin1"]]
        old = "paths = [" + ", ".join(f'"{p}"' for p in src["paths"]) + "]"
        new_paths = [str(sample_dir / p) for p in src["paths"]] + [str(p) for p in extra]
        new = "paths = [" + ", ".join(f'"{p}"' for p in new_paths) + "]"
        assert old in recipe_text, f"sample recipe must write paths as {old}"
        recipe_text = recipe_text.replace(old, new, 1)
    recipe = tmp / "recipe.toml"
    recipe.write_text(recipe_text)
    out = tmp / "build"
    assert main(["build", str(recipe), "--out", str(out), "--no-progress"]) == 0
    return out, files


def stage(build: Path, name: str) -> dict:
    top = read_manifest_dict(build)
    entry = next(s for s in top["stages"] if s["name"] == name)
    return read_manifest_dict(build / entry["dir"]) | {"_dir": build / entry["dir"]}


def test_exactly_the_three_bad_inputs_are_quarantined_with_reasons(bad_build):
    build, files = bad_build
    entries = stage(build, "extract-arxiv")["quarantine"] + stage(build, "extract-web")["quarantine"]
    by_name = {Path(e["input"]).name: e for e in entries}
    assert set(by_name) == {files["corrupt"].name, files["truncated"].name, files["binary"].name}
    for e in entries:
        assert e["reason"] and e["reason"].replace("_", "").isalnum()
    top = read_manifest_dict(build)
    total_q = sum(
        read_manifest_dict(build / s["dir"])["totals"]["docs"]["quarantined"]
        for s in top["stages"]
        if "totals" in s
    )
    assert total_q == 3


def test_everything_else_is_kept(bad_build, sample_build):
    build, _ = bad_build
    for name, more in (("extract-arxiv", 0), ("extract-web", 1)):
        clean = stage(sample_build, name)["totals"]["docs"]["kept"]
        assert stage(build, name)["totals"]["docs"]["kept"] == clean + more, name


def test_a_latin1_page_declared_as_such_is_decoded(bad_build):
    build, files = bad_build
    docs = [
        d
        for d in read_documents(shard_files(stage(build, "extract-web")["_dir"]))
        if d.metadata["provenance"]["input"] == str(files["latin1"])
    ]
    assert len(docs) == 1
    assert "hypoténuse" in docs[0].text and "$a^2 + b^2 = c^2$" in docs[0].text


def test_a_changed_recipe_is_refused_without_force(bad_build, tmp_path, capsys):
    build, _ = bad_build
    recipe = tmp_path / "changed.toml"
    text = (build / ".." / "recipe.toml").resolve().read_text().replace("seed = 1234", "seed = 99")
    recipe.write_text(text)
    assert main(["build", str(recipe), "--out", str(build), "--no-progress"]) == 2
    assert "built from another recipe" in capsys.readouterr().err


def test_a_whole_latin1_jsonl_is_quarantined_line_by_line_with_bounded_copies(tmp_path, capsys):
    from sciloom.corpus.quarantine import MAX_COPIES

    path = tmp_path / "latin1.jsonl"
    rows = [{"id": f"r{i}", "text": f"Théorème {i}: a² + b² = c²"} for i in range(MAX_COPIES + 200)]
    path.write_bytes("".join(json_line(r) for r in rows).encode("latin-1"))
    out = tmp_path / "out"
    assert main(["filter", str(path), "--out", str(out)]) == 0
    manifest = read_manifest_dict(out)
    assert [q["member"] for q in manifest["quarantine"]] == [f"line {i}" for i in range(1, len(rows) + 1)]
    assert {q["reason"] for q in manifest["quarantine"]} == {"invalid_utf8"}
    docs = manifest["sources"]["unknown"]["docs"]
    assert docs["in"] == docs["quarantined"] == len(rows)
    assert len(list((out / "quarantine" / "files").iterdir())) == MAX_COPIES


def json_line(row: dict) -> str:
    import json

    return json.dumps(row, ensure_ascii=False) + "\n"
