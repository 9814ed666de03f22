"""Formula recall on pages the extractor was not tuned on (tests/data/web-wild) and on the shared
pages, scored by the shared scorer against each set's ground truth: issue 16's targets."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sciloom.corpus.cli.main import main

WILD = Path(__file__).resolve().parents[2] / "data" / "web-wild"
SCORE_LINE = re.compile(
    r"recall (?P<micro>[\d.]+) \((?P<hit>\d+)/(?P<n>\d+)\) macro (?P<macro>[\d.]+) .*"
    r"\| display/inline right (?P<mode>[\d.]+)"
)


def scored(web_math: Path, formulas_dir: Path, docs: Path) -> tuple[dict[str, float], str]:
    out = subprocess.run(
        [sys.executable, str(web_math / "score_recall.py"), str(formulas_dir), str(docs)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    m = SCORE_LINE.search(out.strip().splitlines()[-1])
    assert m, out
    return {k: float(v) for k, v in m.groupdict().items()}, out


@pytest.fixture(scope="module")
def wild_stage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wild") / "stage"
    assert main(["extract", "web", str(WILD / "pages"), "--out", str(out), "--workers", "1"]) == 0
    return out


def test_ground_truth_is_what_derive_py_derives_from_the_pages(tmp_path: Path) -> None:
    fresh = tmp_path / "formulas.jsonl"
    subprocess.run(
        [sys.executable, str(WILD / "derive.py"), str(WILD / "pages"), str(fresh)],
        check=True,
        capture_output=True,
    )
    assert fresh.read_text() == (WILD / "formulas.jsonl").read_text()


def test_every_page_has_provenance_with_matching_sha256() -> None:
    rows = {}
    for line in (WILD / "PROVENANCE.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 6 and cells[0].endswith(".html"):
            rows[cells[0]] = cells
    pages = sorted(p.name for p in (WILD / "pages").glob("*.html"))
    assert sorted(rows) == pages
    for name, (_file, repo, commit, path, licence, sha) in rows.items():
        assert "/" in repo and re.fullmatch(r"[0-9a-f]{40}", commit) and path and licence, name
        assert hashlib.sha256((WILD / "pages" / name).read_bytes()).hexdigest() == sha, name


def test_new_pages_meet_issue_16_recall_targets(web_math: Path, wild_stage: Path) -> None:
    r, out = scored(web_math, WILD, wild_stage)
    assert r["n"] >= 140, out
    assert r["micro"] >= 0.97, out
    assert r["macro"] >= 0.95, out
    assert r["mode"] >= 0.95, out
    assert "no document for this page" not in out


def test_shared_pages_meet_issue_16_recall_targets(web_math: Path, web_stage: Path) -> None:
    r, out = scored(web_math, web_math, web_stage)
    assert r["micro"] >= 0.97, out
    assert r["macro"] >= 0.95, out
    assert r["mode"] >= 0.95, out


def test_prices_on_the_pandoc_page_gain_no_formula(wild_stage: Path, stage_rows, scorer) -> None:
    doc = stage_rows(wild_stage)["pandoc-writer-html5.html"]
    spans = scorer.math_spans(doc["text"])
    assert sorted(spans) == sorted(
        ["2 + 2 = 4", "223", "\\frac{d}{dx}f(x)=\\lim_{h\\to\n0}\\frac{f(x+h)-f(x)}{h}"]
    )
    assert doc["metadata"]["math"]["num_formulas"] == 3


def test_pages_without_math_gain_no_formula(wild_stage: Path, stage_rows) -> None:
    empty = [
        rec["page"] + ".html"
        for rec in map(json.loads, (WILD / "formulas.jsonl").read_text().splitlines())
        if not rec["formulas"]
    ]
    assert sorted(empty) == ["katex-docs-autorender.html", "mathjax-test-ignoreclass-1a.html"]
    rows = stage_rows(wild_stage)
    for name in empty:
        assert rows[name]["metadata"]["math"]["num_formulas"] == 0, name
    # the page's own text, not turned into `$x$` by the pass over the extracted text
    text = rows["mathjax-test-ignoreclass-1a.html"]["text"]
    assert "$" not in text and "\\(x\\)" in text


def test_nested_dollars_stay_one_formula_written_with_parens(wild_stage: Path, stage_rows) -> None:
    text = stage_rows(wild_stage)["katex-mhchem.html"]["text"]
    assert "\\(\\ce{NaOH(aq,$\\infty$)}\\)" in text
    assert "\\$\\ce{NaOH(aq,\\$\\infty\\$)}\\$" in text  # the <pre><code> copy is text
