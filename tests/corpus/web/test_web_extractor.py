"""WebExtractor: bad pages are quarantined with a reason, the stage goes on; the ledger balances."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sciloom.corpus.errors import RecipeError
from sciloom.corpus.stage import StageRun, run_stage
from sciloom.corpus.web.config import WebConfig
from sciloom.corpus.web.extractor import WebExtractor
from sciloom.corpus.web.stage import run_web_stage

SAMPLE = Path(__file__).resolve().parents[3] / "corpus" / "sample" / "web"


def run(inputs: list[Path], out: Path, config: WebConfig | None = None) -> dict:
    run_web_stage([str(p) for p in inputs], config or WebConfig(), StageRun(name="extract_web", out_dir=out))
    return json.loads((out / "manifest.json").read_text())


@pytest.fixture
def mixed_inputs(tmp_path: Path) -> list[Path]:
    """The four sample pages, a PDF named .html, and a text file named .html."""
    folder = tmp_path / "in"
    folder.mkdir()
    for page in SAMPLE.glob("*.html"):
        shutil.copy(page, folder / page.name)
    (folder / "paper.html").write_bytes(b"%PDF-1.5\n%\xd0\xd4\xc5\xd8\n" + bytes(range(256)) * 4)
    (folder / "notes.html").write_text("no markup here, just a note\n" * 5)
    (folder / "README.md").write_text("# Pages\nWhat these pages are.\n")
    return sorted(folder.iterdir())


def test_bad_pages_are_quarantined_with_reasons_and_stage_goes_on(
    mixed_inputs: list[Path], tmp_path: Path
) -> None:
    manifest = run(mixed_inputs, tmp_path / "out")
    web = manifest["sources"]["web"]
    pages = len(list(SAMPLE.glob("*.html")))  # every sample page is kept, the two bad ones are not
    assert web["docs"] == {"in": pages + 2, "added": 0, "kept": pages, "dropped": 0, "quarantined": 2}
    assert web["quarantined_reasons"] == {"binary_content": 1, "not_html": 1}
    assert [Path(p).name for p in manifest["extra"]["skipped_inputs"]] == ["README.md"]
    entries = [
        json.loads(line) for f in (tmp_path / "out" / "quarantine").glob("*.jsonl") for line in f.open()
    ]
    assert {Path(e["input"]).name: e["reason"] for e in entries} == {
        "paper.html": "binary_content",
        "notes.html": "not_html",
    }
    assert all((tmp_path / "out" / "quarantine" / e["copy"]).is_file() for e in entries)


def test_page_over_time_limit_is_quarantined(tmp_path: Path) -> None:
    manifest = run([SAMPLE / "mathjax2.html"], tmp_path / "out", WebConfig(page_timeout_s=1e-6))
    assert manifest["sources"]["web"]["quarantined_reasons"] == {"page_timeout": 1}


class _ExplodingExtractor(WebExtractor):
    """Fault injection: options() fails like a parser bug would, inside the guarded page call."""

    def options(self):
        raise RuntimeError("parser bug")


def test_page_that_crashes_the_extractor_is_quarantined_not_fatal(tmp_path: Path) -> None:
    pages = [str(SAMPLE / "mathjax2.html"), str(SAMPLE / "currency.html")]
    run_stage(StageRun(name="extract_web", out_dir=tmp_path / "out"), _ExplodingExtractor(pages), [])
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["sources"]["web"]["quarantined_reasons"] == {"extractor_crash": 2}
    entries = [
        json.loads(line) for f in (tmp_path / "out" / "quarantine").glob("*.jsonl") for line in f.open()
    ]
    assert [e["detail"] for e in entries] == ["RuntimeError: parser bug"] * 2


def test_min_math_score_drops_pages_without_math(tmp_path: Path) -> None:
    pages = [SAMPLE / "currency.html", SAMPLE / "mathjax2.html"]
    manifest = run(pages, tmp_path / "out", WebConfig(min_math_score=0.5))
    web = manifest["sources"]["web"]
    assert web["docs"]["kept"] == 1 and web["dropped_reasons"] == {"low_math_score": 1}


def test_documents_carry_provenance_score_and_canonical_url(tmp_path: Path, stage_rows) -> None:
    page = tmp_path / "p.html"
    page.write_text(
        '<html><head><link rel="canonical" href="https://example.org/p"></head><body><article>'
        "<p>The identity \\(e^{i\\pi} + 1 = 0\\) links five constants of analysis in one short line.</p>"
        "</article></body></html>"
    )
    run([page], tmp_path / "out")
    [row] = stage_rows(tmp_path / "out").values()
    assert row["url"] == "https://example.org/p" and row["source"] == "web"
    assert row["provenance"]["extractor"] == "sciloom.web" and len(row["provenance"]["sha256"]) == 64
    assert row["metadata"]["math"]["markup"] == {"tex_raw": 1}
    assert "$e^{i\\pi} + 1 = 0$" in row["text"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("page_timeout_s", 0), ("min_math_score", 1.5), ("min_formula_share", -0.1), ("max_page_bytes", 0)],
)
def test_config_rejects_bad_values_naming_the_field(field: str, value: float) -> None:
    with pytest.raises(RecipeError, match=f"web.{field}"):
        WebConfig(**{field: value})


def test_gzipped_html_file_is_read_and_corrupt_gzip_quarantined(tmp_path: Path) -> None:
    import gzip

    good = tmp_path / "in" / "page.html.gz"
    good.parent.mkdir()
    good.write_bytes(gzip.compress((SAMPLE / "mathjax2.html").read_bytes()))
    bad = tmp_path / "in" / "broken.html.gz"
    bad.write_bytes(gzip.compress(b"<html><body>x</body></html>")[:-12])
    manifest = run([bad, good], tmp_path / "out")
    web = manifest["sources"]["web"]
    assert web["docs"]["kept"] == 1 and web["quarantined_reasons"] == {"bad_gzip": 1}
