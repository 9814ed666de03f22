"""`sciloom extract arxiv` end to end: every real source, one build, a balanced manifest."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sciloom.corpus.arxiv.config import ArxivConfig
from sciloom.corpus.arxiv.stage import run_arxiv_stage
from sciloom.corpus.cli.main import main
from sciloom.corpus.stage import StageRun


def snapshot(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in root.rglob("*")}


@pytest.fixture(scope="module")
def build(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, Path]:
    src = shared_data / "arxiv-src"
    work = tmp_path_factory.mktemp("arxiv_cli")
    out = work / "out"
    before_src, before_work = snapshot(src), set(os.listdir(work))
    cwd = os.getcwd()
    os.chdir(work)  # anything written relative to the working folder would show up here
    try:
        code = main(
            [
                "extract",
                "arxiv",
                str(src / "good"),
                str(src / "bad"),
                str(src / "papers"),
                "--out",
                str(out),
                "--workers",
                "2",
            ]
        )
    finally:
        os.chdir(cwd)
    assert code == 0
    assert snapshot(src) == before_src
    assert set(os.listdir(work)) == before_work | {"out"}
    return out, json.loads((out / "manifest.json").read_text()), src


def test_build_over_all_real_sources_balances(build) -> None:
    out, manifest, src = build
    counts = manifest["sources"]["arxiv"]["docs"]
    n_inputs = sum(
        1 for d in ("good", "bad", "papers") for p in (src / d).iterdir() if p.suffix not in (".md", ".json")
    )
    assert counts["in"] == n_inputs
    assert counts["kept"] == 7 + 12 + 8
    assert counts["in"] == counts["kept"] + counts["quarantined"]
    assert [Path(p).name for p in manifest["extra"]["skipped_inputs"]] == ["sentinels.json"]
    reasons = manifest["sources"]["arxiv"]["quarantined_reasons"]
    assert reasons == {
        "empty_archive": 2,
        "no_tex_source": 7,
        "pdfpages_wrapper": 2,
        "truncated_archive": 1,
        "unsafe_path": 1,
        "unsupported_compression": 1,
    }


def test_manifest_totals_unresolved_macros_and_includes(build) -> None:
    _, manifest, _ = build
    totals = manifest["extra"]["arxiv"]
    assert totals["unresolved_macros"] == 0
    assert totals["num_formulas"] > 10_000 and totals["num_cites"] > 500


def test_documents_carry_provenance_and_signals(build) -> None:
    out, _, _ = build
    rows = [r for f in sorted((out / "docs").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    by_id = {r["id"]: r for r in rows}
    assert len(by_id) == len(rows)
    row = by_id["arxiv:0903.0180"]
    prov, meta = json.loads(row["provenance"]), json.loads(row["metadata"])
    assert prov["main_file"] == "main_a.tex" and prov["bbl"] == "main_a.bbl" and prov["sha256"]
    assert row["url"] == "https://arxiv.org/abs/0903.0180"
    assert 0 < meta["arxiv"]["math_fraction"] < 1 and meta["arxiv"]["unresolved_macros"] == 0


def test_bulk_tar_yields_one_document_per_member_and_quarantines_a_bad_one(
    tmp_path: Path, shared_data: Path
) -> None:
    good = (shared_data / "arxiv-src" / "good" / "upload4.gz").read_bytes()
    bulk = tmp_path / "arXiv_src_0903_001.tar"
    with tarfile.open(bulk, "w") as tf:
        for name, data in (
            ("0903/0903.00001.gz", good),
            ("0903/0903.00002.gz", b"\x1f\x8bbroken"),
            ("0903/0903.00003.pdf", b"%PDF-1.4"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    run = StageRun(name="extract_arxiv", out_dir=tmp_path / "out")
    manifest = run_arxiv_stage([str(bulk)], ArxivConfig(), run)
    counts = manifest.sources["arxiv"]
    assert counts.docs["in"] == 3 and counts.docs["kept"] == 1
    assert counts.quarantined_reasons == {"corrupt_archive": 1, "no_tex_source": 1}
    assert {q["member"] for q in manifest.quarantine} == {"0903/0903.00002.gz", "0903/0903.00003.pdf"}


def test_oversized_bulk_member_is_quarantined_unread(tmp_path: Path) -> None:
    bulk = tmp_path / "arXiv_src_0903_002.tar"
    with tarfile.open(bulk, "w") as tf:
        for name, data in (
            ("0903/0903.00004.gz", b"\x1f\x8b" + b"\0" * 5000),
            ("0903/0903.00005.pdf", b"%PDF"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    run = StageRun(name="extract_arxiv", out_dir=tmp_path / "out")
    manifest = run_arxiv_stage([str(bulk)], ArxivConfig(max_input_bytes=1000), run)
    assert manifest.sources["arxiv"].quarantined_reasons == {"archive_too_large": 1, "no_tex_source": 1}
