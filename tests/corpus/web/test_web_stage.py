"""End to end through the CLI on real math pages, scored by the data folder's own scorer."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

SCORE_LINE = re.compile(
    r"recall (?P<recall>[\d.]+) .*\| converted (?P<converted>[\d.]+) .*\| display/inline right (?P<mode>[\d.]+)"
)

# Formula-bearing elements counted in the raw HTML (web-math/PROVENANCE.md, section 4).
EXTRA_COUNTS = {
    "en.wikipedia.org.tsne.html": (34, 0),
    "wikipedia-hermitian.html": (66, 2),
    "mathjax-v3.html": (13, 8),
    "math_csdn_none_formula.html": (141, 12),
    "math_zhihu_custom_tag.html": (27, None),
    "math_miss_namespace.html": (7, 6),
}
NEGATIVES = ("math_dollar.html", "math_zeenews.html", "quanta-1.html")


def test_cli_output_meets_recall_thresholds_of_the_scorer(web_math: Path, web_stage: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(web_math / "score_recall.py"), str(web_math), str(web_stage)],
        capture_output=True,
        text=True,
        check=True,
    )
    last = result.stdout.strip().splitlines()[-1]
    m = SCORE_LINE.search(last)
    assert m, last
    assert float(m["recall"]) >= 0.97, result.stdout
    assert float(m["converted"]) >= 0.5, result.stdout
    assert float(m["mode"]) >= 0.95, result.stdout
    assert "no document for this page" not in result.stdout


def test_negative_pages_score_zero_and_gain_no_formula(web_docs: dict, scorer) -> None:
    for name in NEGATIVES:
        doc = web_docs[name]
        assert doc["metadata"]["math"]["score"] == 0.0, name
        assert doc["metadata"]["math"]["num_formulas"] == 0, name
        assert scorer.math_spans(doc["text"]) == [], (name, scorer.math_spans(doc["text"])[:3])
    # The currency stays in the text, escaped so that no `$` of the output opens a formula.
    assert r"\$16.8 million" in web_docs["math_dollar.html"]["text"]


def test_extra_pages_keep_every_formula_their_markup_holds(web_docs: dict) -> None:
    for name, (total, display) in EXTRA_COUNTS.items():
        math = web_docs[name]["metadata"]["math"]
        assert math["num_formulas"] >= total, (name, math)
        if display is not None:
            assert math["num_display"] >= display, (name, math)


def test_no_rendered_glyphs_beside_recovered_math(web_docs: dict) -> None:
    # MathJax 3 pages hold CHTML glyphs next to the assistive MathML; Wikipedia an SVG fallback.
    text = web_docs["mathjax-v3.html"]["text"]
    assert "mjx-" not in text
    assert text.count("$$") // 2 >= 8
    hermitian = web_docs["wikipedia-hermitian.html"]["text"]
    assert "{\\displaystyle" not in hermitian


def test_manifest_reports_math_histogram_markup_and_balanced_ledger(web_stage: Path) -> None:
    manifest = json.loads((web_stage / "manifest.json").read_text())
    extra = manifest["extra"]
    assert sum(extra["math_score_histogram"].values()) == 24
    assert extra["math_score_histogram"]["0"] == 3  # the three negatives
    kinds = extra["formulas_by_markup"]
    for kind in ("tex_raw", "tex_script", "image", "katex", "bbcode", "asciimath", "data_attribute"):
        assert kinds.get(kind, 0) > 0, kind
    assert extra["formulas"] == sum(kinds.values())
    docs = manifest["sources"]["web"]["docs"]
    assert docs["in"] == docs["kept"] == 24
    assert docs["quarantined"] == docs["dropped"] == 0
