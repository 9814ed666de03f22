"""The raw-HTML math prefilter: every math page passes, pages without math are dropped unparsed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sciloom.corpus.cli.main import main
from sciloom.corpus.web.html_decode import decode_html
from sciloom.corpus.web.html_text import extract_page
from sciloom.corpus.web.prefilter import NO_MATH_MARKERS, has_math_markers

REPO = Path(__file__).resolve().parents[3]
CRAWL = REPO / "tests" / "data" / "web-crawl" / "pages"
WILD = REPO / "tests" / "data" / "web-wild" / "pages"
SAMPLE = REPO / "corpus" / "sample" / "web"
# Real pages without math: a dog club's home page, two news pages (one full of dollar amounts).
NON_MATH = ("math_dollar.html", "math_zeenews.html")


def math_page_sets(web_math: Path) -> list[Path]:
    pages = [*sorted((web_math / "pages").glob("*.html")), *sorted((web_math / "pages-extra").glob("*.html"))]
    return pages + sorted(WILD.glob("*.html")) + sorted(SAMPLE.glob("*.html"))


def formulas_found(data: bytes) -> int:
    """Formulas the extractor takes from a page, sub/superscripts aside (not math markup)."""
    page = extract_page(decode_html(data).text)
    return sum(n for kind, n in page.kinds.items() if not kind.startswith("sub"))


def test_every_math_page_of_the_test_sets_passes(web_math: Path) -> None:
    pages = math_page_sets(web_math)
    assert len(pages) >= 30
    rejected = [p.name for p in pages if not has_math_markers(p.read_bytes())]
    assert rejected == []


def test_no_page_the_extractor_finds_a_formula_in_is_rejected(web_math: Path) -> None:
    # Whatever a folder calls its pages, the prefilter must never cost a formula.
    pages = [
        *math_page_sets(web_math),
        *sorted((web_math / "pages-negative").glob("*.html")),
        *CRAWL.glob("*.html"),
    ]
    lost = [p.name for p in pages if not has_math_markers(p.read_bytes()) and formulas_found(p.read_bytes())]
    assert lost == []


def test_real_pages_without_math_are_rejected(web_math: Path) -> None:
    pages = [web_math / "pages-negative" / name for name in NON_MATH] + sorted(CRAWL.glob("*.html"))
    assert len(pages) >= 3
    assert {p.name: has_math_markers(p.read_bytes()) for p in pages} == {p.name: False for p in pages}


@pytest.mark.parametrize(
    "html",
    [
        "<p>Let $x$ be odd.</p>",
        "<p>for $n ≥ 2$ we have</p>",
        "<p>the vector $[0 \\, 0]$</p>",
        "<p>$$\\sum_i a_i$$</p>",
        "<p>so \\(a^2+b^2=c^2\\) holds</p>",
        "<p>[tex]x^2[/tex] and [itex]y[/itex]</p>",
        '<IMG WIDTH="30" ALT="$x_1$" SRC="img12.png">',
        '<img src="https://latex.codecogs.com/svg.latex?\\frac{a}{b}">',
        '<img src="//s0.wp.com/latex.php?latex=x%5E2&bg=ffffff">',
        '<span class="math inline">x^2</span>',
        "<dt-math block>\\sum_i x_i</dt-math>",
        '<span data-tex="x^2"></span>',
        '<script type="math/tex; mode=display">x</script>',
        '<script src="https://cdn.jsdelivr.net/npm/katex/dist/katex.min.js"></script>',
        "<math><mi>x</mi></math>",
    ],
)
def test_each_markup_family_is_a_marker(html: str) -> None:
    assert has_math_markers(f"<html><body>{html}</body></html>".encode())


@pytest.mark.parametrize(
    "html",
    [
        "<p>Tickets cost $5 and $10 each; the stadium cost $60 million.</p>",
        '<script>$("#menu").toggle(); var s = `${a}_${b}`; if (x == $y) {}</script><p>News.</p>',
        '<style>.a{}</style><body class="text-medium context-page"><p>Plain text.</p></body>',
        "<p>Price: $12</p><p>Total: $24</p>",
        "<p>H<sub>2</sub>O is water<sup>1</sup>.</p>",
    ],
)
def test_prices_scripts_and_chemistry_are_not_markers(html: str) -> None:
    assert not has_math_markers(f"<html><head></head><body>{html}</body></html>".encode())


def test_utf16_page_always_passes() -> None:
    page = "<html><body><p>Let $x$ be odd.</p></body></html>".encode("utf-16")
    assert has_math_markers(page)


def test_a_corrupt_database_cache_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sciloom.corpus.web.prefilter as prefilter

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(prefilter, "_local", type(prefilter._local)())
    cache = prefilter._cache_file()
    cache.write_bytes(b"not a database")
    assert has_math_markers(b"<p>$x$</p>") and not has_math_markers(b"<p>$5 and $10</p>")
    assert cache.stat().st_size > 1000  # rewritten with the compiled database


@pytest.fixture(scope="module")
def crawl_mix(web_math: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real non-math pages, math pages and bad input in one folder."""
    mix = tmp_path_factory.mktemp("mix")
    for page in [web_math / "pages-negative" / n for n in NON_MATH] + sorted(CRAWL.glob("*.html")):
        shutil.copy(page, mix / page.name)
    for name in ("math_1.html", "math_img_3.html", "math_stackexchange_1.html"):
        shutil.copy(web_math / "pages" / name, mix / name)
    (mix / "report.html").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")  # binary saved as .html
    (mix / "empty.html").write_bytes(b"")
    return mix


def run_stage(inputs: Path, out: Path, *flags: str) -> dict:
    assert main(["extract", "web", str(inputs), *flags, "--out", str(out), "--workers", "1"]) == 0
    return json.loads((out / "manifest.json").read_text())["sources"]["web"]


def test_stage_drops_pages_without_math_with_a_reason_and_balances(crawl_mix: Path, tmp_path: Path) -> None:
    web = run_stage(crawl_mix, tmp_path / "out")
    docs = web["docs"]
    assert docs["in"] == 8
    assert web["dropped_reasons"] == {NO_MATH_MARKERS: 3}
    # Bad input is still quarantined with its own reason, never dropped by the prefilter.
    assert web["quarantined_reasons"] == {"binary_content": 1, "not_html": 1}
    assert docs["kept"] == 3
    assert docs["in"] + docs["added"] == docs["kept"] + docs["dropped"] + docs["quarantined"]


def test_keep_non_math_extracts_every_page(crawl_mix: Path, tmp_path: Path) -> None:
    web = run_stage(crawl_mix, tmp_path / "out", "--keep-non-math")
    assert NO_MATH_MARKERS not in web["dropped_reasons"]
    assert web["docs"]["kept"] >= 5
