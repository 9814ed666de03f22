"""Issue 16's markup families, each pinned on the markup its generator writes.

The snippets quote the markup of real pages (source named beside each); whole real pages are
scored in test_web_wild_recall.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sciloom.corpus.cli.main import main
from sciloom.corpus.web.html_text import extract_page
from sciloom.corpus.web.math_containers import looks_like_tex
from sciloom.corpus.web.tex_images import tex_from_image

WILD = Path(__file__).resolve().parents[2] / "data" / "web-wild" / "pages"
PROSE = "<p>" + "Some words of ordinary prose around the formula, long enough for a main text. " * 3 + "</p>"


def formulas(body: str, head: str = "") -> list[tuple[str, bool]]:
    page = extract_page(
        f"<html><head>{head}</head><body><article>{PROSE}{body}{PROSE}</article></body></html>"
    )
    return [(f.latex, f.display) for f in page.formulas]


# -- 1. bare TeX in containers ----------------------------------------------------------------------


def test_jsmath_div_math_on_a_real_page_is_display_tex() -> None:
    page = extract_page((WILD / "mathjax-jsmath2jax.html").read_text())
    kinds = [f.kind for f in page.formulas]
    assert kinds == ["tex_raw", "tex_container"]
    assert all(f.display and f.latex.startswith("\\begin{eqnarray}") for f in page.formulas)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<dt-math>L = \\sum_i \\ell(x_i)</dt-math>", [("L = \\sum_i \\ell(x_i)", False)]),
        ("<dt-math block>\\nabla_\\theta L = 0</dt-math>", [("\\nabla_\\theta L = 0", True)]),
        ("<d-math block>x^2</d-math>", [("x^2", True)]),
        (
            '<mjx-container display="true"><formula>\\int_0^1 x\\,dx</formula></mjx-container>',
            [("\\int_0^1 x\\,dx", True)],
        ),
        ('<p>rate <span class="math inline">\\lambda_1</span> here</p>', [("\\lambda_1", False)]),
        ('<p><span class="math display">E = mc^2</span></p>', [("E = mc^2", True)]),
        ('<p>flattened <span class="katex-mathml">x\n2\nx^2</span> ok</p>', [("x^2", False)]),
        ('<p>saved early <span class="katex">\\frac{a}{b}</span> ok</p>', [("\\frac{a}{b}", False)]),
        ('<p>editor <span data-formula="a^2+b^2=c^2">rendered</span> ok</p>', [("a^2+b^2=c^2", False)]),
        ('<p>zhihu <span data-tex="\\alpha">α</span> ok</p>', [("\\alpha", False)]),
    ],
)
def test_bare_tex_containers_are_formulas(body: str, expected: list) -> None:
    assert formulas(body) == expected


def test_container_holding_prose_or_markup_is_not_a_formula() -> None:
    assert (
        formulas('<div class="math">A worked example follows in words below this line of text.</div>') == []
    )
    # pandoc without a math option renders HTML, not TeX: leave it as text
    assert formulas('<p><span class="math inline"><em>p</em> = 5</span></p>') == []
    assert formulas('<p><span class="tex">T<sub>e</sub>X</span> logo</p>') == []
    assert (
        formulas('<p>Typeset with <span class="tex">TeX</span> and filed under <a class="math">Math</a>.</p>')
        == []
    )


@pytest.mark.parametrize(
    "text", ["x^2", "\\alpha", "n ≥ 2", "\\begin{eqnarray} x & = & 4y \\end{eqnarray}", "x"]
)
def test_looks_like_tex_accepts_formulas(text: str) -> None:
    assert looks_like_tex(text)


@pytest.mark.parametrize(
    "text", ["Figure 3: the plot of the data", "see the proof below here", "C:\\Users\\photo.png", "a{b", ""]
)
def test_looks_like_tex_refuses_prose_paths_and_broken_braces(text: str) -> None:
    assert not looks_like_tex(text)


# -- 2. formula images from any generator -----------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "alt", "title", "classes", "expected"),
    [
        # LaTeX2HTML 2002 (VMD AutoIMD guide): relative src, TeX with dollars in ALT
        ("img2.gif", "$\\to$", "", set(), "$\\to$"),
        ("img28.gif", "$l_1$", "", set(), "$l_1$"),
        ("img5.png", "\\begin{displaymath}\\int f = 1\\end{displaymath}", "", set(), None),
        # WordPress latex.php (towers-of-hanoi post): alt is the TeX, URL has &bg= junk
        (
            "//s0.wp.com/latex.php?latex=T_%7Bn%7D+&bg=ffffff&fg=000&s=0",
            "T_{n} ",
            "T_{n} ",
            {"latex"},
            "T_{n}",
        ),
        # CodeCogs with its &space; / &plus; escapes, no alt
        (
            "https://latex.codecogs.com/gif.latex?log(y)=\\beta_0&space;&plus;&space;\\beta_1",
            "",
            "",
            set(),
            "log(y)=\\beta_0 + \\beta_1",
        ),
        (
            "https://latex.codecogs.com/gif.latex?O%20%3D%20%5Cfrac%7BI%7D%7BS%7D",
            "",
            "",
            set(),
            "O = \\frac{I}{S}",
        ),
        # mimeTeX: options before the TeX are dropped
        ("/cgi-bin/mimetex.cgi?\\large x^2", "", "", set(), "x^2"),
        # QuickLaTeX: alt is a credit line, the TeX is the title
        (
            "https://quicklatex.com/cache3/ab/ql_x.png",
            "Rendered by QuickLaTeX.com",
            "\\alpha+\\beta",
            set(),
            "\\alpha+\\beta",
        ),
        # Sphinx imgmath
        ("_images/math/3c1a.png", "x^2 + y^2", "", {"math"}, "x^2 + y^2"),
        # photos and icons are not formulas
        ("cat.jpg", "my cat sleeping on the sofa", "", set(), None),
        ("file:/usr/share/latex2html/icons/up.gif", "up", "", set(), None),
        ("img1.gif", "\\begin{figure}\\begin{center}\\end{center}\\end{figure}", "", set(), None),
    ],
)
def test_tex_from_image(src: str, alt: str, title: str, classes: set, expected: str | None) -> None:
    got = tex_from_image(src, alt, classes, title)
    if expected is not None and expected.startswith("$"):
        assert got == expected  # delimiters kept: the recovery pass strips them and reads display
    elif src == "img5.png":
        assert got == alt  # a display-math environment in ALT
    else:
        assert got == expected


def test_lazy_loaded_formula_image_takes_the_real_url_not_the_placeholder() -> None:
    body = (
        '<p>Lazy <img src="data:image/gif;base64,R0lGOD" class="latex" is-pending-load="1" '
        'data-lazy-src="https://s0.wp.com/latex.php?latex=x%5E2&bg=ffffff&fg=000&s=0"> here</p>'
    )
    assert formulas(body) == [("x^2", False)]


def test_latex2html_page_markup_gives_inline_and_display_formulas() -> None:
    body = (
        '<P>from the <B>Extensions&nbsp;<IMG WIDTH="20" HEIGHT="15" ALIGN="BOTTOM" BORDER="0" SRC="img2.gif" '
        'ALT="$\\to$"> autoimd</B> menu item</P><DIV ALIGN="CENTER" CLASS="mathdisplay">'
        '<IMG SRC="img5.png" ALT="$\\displaystyle \\tau_{1}^{}$"></DIV>'
    )
    assert formulas(body) == [("\\to", False), ("\\displaystyle \\tau_{1}^{}", True)]


# -- 3. every MathJax script type -------------------------------------------------------------------


def test_every_mathjax_script_type_is_recovered() -> None:
    body = (
        '<p>a <script type="math/tex">a_1</script>, b <script type="text/tex">b_1</script>, '
        'c <script type="math/tex; mode=display">c_1</script>, d <script type="MATH/TEX ; MODE = DISPLAY">d_1'
        '</script>, e <script type="math/asciimath">x^2</script>, f <script type="math/mml">'
        '<math display="block"><msup><mi>y</mi><mn>3</mn></msup></math></script>, '
        'g <script type="math/mml"><math><mi>z</mi><mo>&nbsp;</mo></math></script>.</p>'
    )
    got = formulas(body)
    assert got[:4] == [("a_1", False), ("b_1", False), ("c_1", True), ("d_1", True)]
    assert got[4][0].replace(" ", "") in ("x^2", "x^{2}", "{x}^{2}") and not got[4][1]
    assert got[5] == ("{y}^{3}", True)
    assert got[6][0] == "z"  # HTML entities in a math/mml script parse with the HTML parser


# -- 4. forum BBCode ----------------------------------------------------------------------------------


def test_bbcode_in_any_case_raw_and_in_forum_inline_code() -> None:
    body = (
        "<div class='message'><p>So [Tex]z = w_1x_1[/Tex] and [IMATH]x^2[/IMATH] and [latex]\\pi[/latex] and "
        '<code class="bbCodeInline">[itex]\\sqrt{2}[/itex]</code> hold.</p>'
        "<p>[MATH]a+b[/MATH] and <code>[math]c[/math] is how you type it</code></p></div>"
    )
    assert formulas(body) == [
        ("z = w_1x_1", True),
        ("x^2", False),
        ("\\pi", False),
        ("\\sqrt{2}", False),
        ("a+b", True),  # [math] is the block tag where [imath] is the inline one (MathRen)
        ("c", True),
    ]


def test_physicsforums_page_keeps_its_bbcode_formulas(web_docs: dict) -> None:
    doc = web_docs["math_physicsforums_1.html"]
    assert doc["metadata"]["math"]["markup"].get("bbcode", 0) >= 10


# -- 5. the currency heuristic ------------------------------------------------------------------------


def test_issue_16_dollar_examples_math_and_money() -> None:
    head = (
        '<script src="/js/mathjax-config.js"></script>'  # config in an external file: no visible delimiters
    )
    body = "<p>For $n ≥ 2$ and $0 ≥ 1$ and $[0 \\, 0]$ the firm raised $60 million and sold at $5 and $10 each.</p>"
    page = extract_page(
        f"<html><head>{head}</head><body><article>{PROSE}{body}{PROSE}</article></body></html>"
    )
    assert [f.latex for f in page.formulas] == ["n ≥ 2", "0 ≥ 1", "[0 \\, 0]"]
    assert "\\$60 million" in page.text and "\\$5 and \\$10 each" in page.text


def test_currency_page_gains_no_formula(web_docs: dict, scorer) -> None:
    doc = web_docs["math_dollar.html"]
    assert doc["metadata"]["math"]["num_formulas"] == 0
    assert scorer.math_spans(doc["text"]) == []


# -- 6. deep MathML -----------------------------------------------------------------------------------


def _nested(depth: int) -> str:
    return "<math>" + "<mrow>" * depth + "<mi>x</mi>" + "</mrow>" * depth + "</math>"


def test_mathml_20000_levels_deep_is_quarantined_with_a_reason_not_truncated(tmp_path: Path) -> None:
    page = tmp_path / "deep.html"
    page.write_text(
        f"<html><body><p>Before.</p>{_nested(20000)}<p>After: text that must not vanish.</p></body></html>"
    )
    out = tmp_path / "out"
    assert main(["extract", "web", str(page), "--out", str(out), "--workers", "1"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    text = json.dumps(manifest)
    assert "html_too_deep" in text
    entries = [
        json.loads(line) for f in (out / "quarantine").glob("*.jsonl") for line in f.read_text().splitlines()
    ]
    assert [e["reason"] for e in entries] == ["html_too_deep"]
    kept = [row for f in (out / "docs").glob("*.parquet") for row in pq.read_table(f).to_pylist()]
    assert kept == []  # never a short document counted as kept with the text after the cut lost


def test_mathml_1500_levels_deep_converts_and_keeps_the_text_after_it() -> None:
    page = extract_page(
        f"<html><body><p>{PROSE}</p>{_nested(1500)}<p>After: the end text survives.</p></body></html>"
    )
    assert [f.latex for f in page.formulas] == ["x"]
    assert page.text.rstrip().endswith("After: the end text survives.")
    assert page.mathml_failures == 0


def test_delimiters_in_code_blocks_and_tex2jax_ignore_stay_text() -> None:
    body = (
        "<pre><code>[tex]not math[/tex] and \\(y\\)</code></pre>"
        '<p class="tex2jax_ignore">\\(x\\) and $$z$$ are shown as typed</p><p>but \\(w\\) is math</p>'
    )
    page = extract_page(f"<html><body><article>{PROSE}{body}{PROSE}</article></body></html>")
    assert [f.latex for f in page.formulas] == ["w"]
    assert "[tex]not math[/tex]" in page.text and "\\(x\\) and $$z$$" not in page.text


@pytest.mark.parametrize(
    ("page", "kind", "at_least"),
    [
        ("math_img_1.html", "image", 186),  # WordPress latex.php images
        ("math_img_3.html", "image", 18),  # mimeTeX forum images
        ("math_mathhelpforum_1.html", "image", 11),  # CodeCogs images
        ("math_katex_latex_2.html", "tex_script", 2),  # math/tex and math/tex; mode=display scripts
        ("math_physicsforums_1.html", "bbcode", 10),  # [tex] / [itex]
    ],
)
def test_real_shared_pages_keep_their_family_markup(
    web_docs: dict, page: str, kind: str, at_least: int
) -> None:
    assert web_docs[page]["metadata"]["math"]["markup"].get(kind, 0) >= at_least, web_docs[page]["metadata"][
        "math"
    ]
