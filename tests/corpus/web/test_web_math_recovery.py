"""Every markup kind on the sample pages comes out as LaTeX in `$..$` / `$$..$$`, nothing else leaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from sciloom.corpus.markup import END_DISPLAY_MATH, START_INLINE_MATH
from sciloom.corpus.web.html_decode import decode_html
from sciloom.corpus.web.html_text import ExtractOptions, extract_page
from sciloom.corpus.web.math_recovery import Formula, restore_math

SAMPLE = Path(__file__).resolve().parents[3] / "corpus" / "sample" / "web"


def extract(name: str, **opts):
    page = decode_html((SAMPLE / name).read_bytes())
    return extract_page(page.text, ExtractOptions(**opts))


def formulas(name: str) -> list[tuple[str, bool, str]]:
    return [(f.latex, f.display, f.kind) for f in extract(name).formulas]


def test_mathjax2_scripts_inline_display_and_raw_tex() -> None:
    assert formulas("mathjax2.html") == [
        ("ax^2+bx+c=0", False, "tex_script"),
        (r"a \neq 0", False, "tex_script"),
        (r"x = \frac{-b \pm \sqrt{b^2-4ac}}{2a}", True, "tex_script"),
        (r"\Delta = b^2 - 4ac", False, "tex_raw"),
        (r"\Delta < 0", False, "tex_raw"),
        (r"x_{1,2} = \frac{-b}{2a} \pm i\,\frac{\sqrt{-\Delta}}{2a}", True, "tex_raw"),
    ]


def test_mathjax2_output_has_no_glyph_soup_and_one_convention() -> None:
    text = extract("mathjax2.html").text
    assert "−b±" not in text and "MathJax" not in text
    assert text.count("ax^2+bx+c=0") == 1  # not once more from MathJax_Preview
    assert "\n$$x = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}$$\n" in text
    assert "$\\Delta < 0$" in text and "\\(" not in text and "\\[" not in text
    assert r"costs \$30" in text
    assert "Home" not in text and "All rights reserved" not in text  # boilerplate still removed


def test_katex_mathml_images_bbcode_and_attributes() -> None:
    assert formulas("katex_mathml.html") == [
        ("E=mc^2", False, "katex"),
        (r"\sum_{k=1}^{n} k = \frac{n(n+1)}{2}", True, "katex"),
        (r"\sqrt{x}", False, "mathml_annotation"),
        (r"\frac{a+b}{{c}^{2}}", False, "mathml_converted"),
        (r"A=\left(\begin{array}{cc}1&0\\ 0&1\end{array}\right)", True, "mathml_converted"),
        (r"\int_0^1 x\,dx", False, "image"),
        (r"\alpha + \beta", False, "bbcode"),
        (r"\int_0^\infty e^{-x^2}\,dx = \frac{\sqrt{\pi}}{2}", True, "bbcode"),
        (r"\nabla \cdot E = \rho/\varepsilon_0", False, "data_attribute"),
    ]


def test_katex_rendered_html_and_sub_sup() -> None:
    text = extract("katex_mathml.html").text
    assert "mathnormal" not in text and "msupsub" not in text
    assert text.count("E=mc^2") == 1
    assert "H_2O" in text and "x^2 grows" in text


def test_currency_page_has_no_formula() -> None:
    page = extract("currency.html")
    assert page.formulas == []
    assert r"\$60 million" in page.text and r"\$15-\$20" in page.text


def test_latin1_page_keeps_accents_and_math_and_leaves_dollar_alone() -> None:
    page = extract("iso8859_derivees.html")
    assert [f.latex for f in page.formulas] == [
        "f(x) = x^2",
        "f'(x) = 2x",
        r"f'(a) = \lim_{h \to 0} \frac{f(a+h) - f(a)}{h}.",
    ]
    assert "dérivée" in page.text and r"2 \$ ;" in page.text


def test_boundary_tokens_wrap_formulas_when_asked() -> None:
    text = extract("mathjax2.html", boundary_tokens=True).text
    assert f"{START_INLINE_MATH}$ax^2+bx+c=0${START_INLINE_MATH.replace('START', 'END')}" in text
    assert text.count(END_DISPLAY_MATH) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a \u27e6M0\u27e7 b", "a $x$ b"),
        ("see:\u27e6M1\u27e7 then", "see:\n$$y$$\nthen"),
        ("costs $5 and \u27e6M0\u27e7", r"costs \$5 and $x$"),
    ],
)
def test_restore_math_writes_the_corpus_convention(text: str, expected: str) -> None:
    assert restore_math(text, [Formula("x", False, "t"), Formula("y", True, "t")]) == expected


def test_formula_split_across_br_and_inline_tags_is_recovered() -> None:
    html = (
        '<html><head><script src="https://cdn.example.org/mathjax/MathJax.js"></script></head><body><article>'
        "<p>The two lines of the system are written together here for the reader of this page:</p>"
        "<p>$$ a + b = c \\\\<br> d + e = f $$</p>"
        "<p>and the inline one \\( x_<em>i</em> + 1 \\) is highlighted by the site search engine.</p>"
        "<pre><code>echo $HOME and $PATH</code></pre></article></body></html>"
    )
    page = extract_page(html)
    assert [(f.latex, f.display) for f in page.formulas] == [
        ("a + b = c \\\\\nd + e = f", True),
        ("x_i + 1", False),
    ]
    assert r"echo \$HOME and \$PATH" in page.text


@pytest.mark.parametrize(
    ("src", "alt", "title", "expected"),
    [
        ("https://s0.wp.com/latex.php?latex=%5Ckappa+x&bg=ffffff", r"\kappa x", "", r"\kappa x"),
        ("http://latex.codecogs.com/png.latex?\\dpi{120} \\frac{a}{b}", "", "", r"\frac{a}{b}"),
        ("/cgi-bin/mimetex.cgi?\\Re(z)<0", "", "", r"\Re(z)<0"),
        ("https://chart.googleapis.com/chart?cht=tx&chl=x%5E2", "", "", "x^2"),
        (
            "https://example.org/ql-cache/quicklatex.com-1.png",
            "Rendered by QuickLaTeX.com",
            r"\sqrt{2}",
            r"\sqrt{2}",
        ),
        ("https://example.org/photo.jpg", "a photo of x^2 graffiti", "", None),
    ],
)
def test_formula_images_give_their_tex(src: str, alt: str, title: str, expected: str | None) -> None:
    from sciloom.corpus.web.tex_images import tex_from_image

    assert tex_from_image(src, alt, set(), title) == expected


def test_sub_sup_become_scripts_but_ordinals_and_footnotes_stay_text() -> None:
    html = (
        "<html><body><article><p>On the 1<sup>st</sup> of May, Acme<sup>TM</sup> said x<sup>2</sup> and "
        "a<sub>n+1</sub> grow, and H<sub>2</sub>O is wet, see note<sup>[3]</sup> for more.</p></article></body></html>"
    )
    text = extract_page(html).text
    assert "1st of May" in text and "AcmeTM" in text and "note[3]" in text
    assert "x^2" in text and "a_{n+1}" in text and "H_2O" in text


def test_sources_that_carry_their_own_delimiters_are_unwrapped() -> None:
    html = (
        '<html><body><article><p>Let <img class="latex" alt="$x^2+1$" src="//latex.example.org/a.png"> be prime, '
        'and</p><p><img class="latexcenter" alt="\\[\\sum_{k=1}^n k\\]" src="//latex.example.org/b.png"></p>'
        '<p>then <span data-tex="\\(y\\)">y</span> we are done with this proof of the claim.</p></article></body></html>'
    )
    page = extract_page(html)
    assert [(f.latex, f.display) for f in page.formulas] == [
        ("x^2+1", False),
        (r"\sum_{k=1}^n k", True),
        ("y", False),
    ]
    assert "$$$" not in page.text


def test_lazy_loaded_formula_image_counts_once() -> None:
    src = "https://s0.wp.com/latex.php?latex=%5Cpi&amp;bg=ffffff"
    html = (
        '<html><body><article><p>The ratio <img class="latex lazy" src="data:image/gif;base64,R0lGOD" '
        f'data-src="{src}" alt="\\pi"><noscript><img class="latex" src="{src}" alt="\\pi"></noscript> '
        "is irrational, as Lambert proved in the eighteenth century for all to see.</p></article></body></html>"
    )
    assert [f.latex for f in extract_page(html).formulas] == [r"\pi"]
