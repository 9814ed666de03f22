"""The embedded sample submissions (corpus/sample/arxiv) through the CLI."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pyarrow.parquet as pq

from sciloom.corpus.cli.main import main


def test_sample_archives_are_reproducible(repo_root: Path, tmp_path: Path) -> None:
    folder = repo_root / "corpus" / "sample" / "arxiv"
    spec = importlib.util.spec_from_file_location("make_archives", folder / "make_archives.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for built in tmp_path.iterdir():
        assert built.read_bytes() == (folder / built.name).read_bytes(), built.name


def test_sample_folder_extracts_every_paper(repo_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["extract", "arxiv", str(repo_root / "corpus" / "sample" / "arxiv"), "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sources"]["arxiv"]["docs"]["kept"] == 5
    assert sorted(Path(p).name for p in manifest["extra"]["skipped_inputs"]) == [
        "README.md",
        "make_archives.py",
    ]
    rows = {r["id"]: r for f in (out / "docs").glob("*.parquet") for r in pq.read_table(f).to_pylist()}
    text = rows["arxiv:2401.00001"]["text"]
    for piece in (
        "$\\langle f, g \\rangle_{\\mu}$ (or $\\langle f, g \\rangle_{\\nu}$)",
        "$\\Rightarrow$ is implication and $\\mathbb{R}_+$",
        "\\begin{equation}\n\\operatorname{gap}(\\mathcal{L}_n)",
        "Spectral gaps are 50% of the story; the rest is localisation.",
        "[START_REF] Absence of diffusion in certain random lattices, Anderson[END_REF]",
        "Figure: Empirical spectral gaps",
    ):
        assert piece in text
    for gone in ("must not appear", "forgot to delete", "ignored", "\\input", "gap_histogram"):
        assert gone not in text
    prov = json.loads(rows["arxiv:2401.00001"]["provenance"])
    assert prov["included_files"] == [
        "preamble.tex",
        "sections/intro.tex",
        "sections/notation.tex",
        "sections/results.tex",
        "main.bbl",
    ]
    notes = json.loads(rows["arxiv:lecture_notes"]["provenance"])
    assert notes["encoding"] == "cp1252" and "d'apr\u00e8s Dirichlet" in rows["arxiv:lecture_notes"]["text"]
    assert "[START_REF] A One-Sentence Proof" in rows["arxiv:2401.00003"]["text"]
