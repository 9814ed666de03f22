"""Math that boilerplate removal drops comes back, unless it sits in hidden or navigation chrome."""

from __future__ import annotations

from sciloom.corpus.web.html_text import extract_page

QA_PAGE = """<html><head><script type="text/x-mathjax-config">
MathJax.Hub.Config({tex2jax: {inlineMath: [["$", "$"]]}});</script></head><body>
<div id="content">
 <div class="question"><div class="post-text">
  <p>How do I show that the series $\\sum_{n\\ge 1} 1/n^2$ converges? I tried the ratio test and it gave
  me nothing useful, so I am stuck with this problem from my analysis course homework sheet.</p>
  <p>Any hint about which comparison to use would be very welcome, thanks a lot in advance to all.</p>
 </div></div>
 <div class="answer"><div class="post-text">
  <p>Compare with a telescoping sum: for $n \\ge 2$,</p>
  <p>$$\\frac{1}{n^2} \\le \\frac{1}{n(n-1)} = \\frac{1}{n-1} - \\frac{1}{n}$$</p>
  <span class="d-none">$\\begingroup$</span>
  <div class="post-menu">Share $x$ Improve this answer</div>
 </div></div>
</div>
<div class="sidebar"><h4>Related</h4><a href="/q/1">Does $\\sum 1/n$ converge?</a></div>
<nav>Questions about $\\zeta(2)$</nav>
</body></html>"""


def test_answer_dropped_by_boilerplate_removal_is_rescued() -> None:
    page = extract_page(QA_PAGE)
    assert page.rescued_blocks == 1
    assert [(f.latex, f.display) for f in page.formulas] == [
        (r"\sum_{n\ge 1} 1/n^2", False),
        (r"n \ge 2", False),
        (r"\frac{1}{n^2} \le \frac{1}{n(n-1)} = \frac{1}{n-1} - \frac{1}{n}", True),
    ]
    # Rescued blocks follow the main text in page order.
    assert page.text.index("ratio test") < page.text.index("telescoping")


def test_chrome_and_hidden_math_are_not_rescued() -> None:
    page = extract_page(QA_PAGE)
    latex = [f.latex for f in page.formulas]
    assert r"\sum 1/n" not in latex  # related-questions sidebar
    assert r"\zeta(2)" not in latex  # navigation
    assert r"\begingroup" not in latex and "x" not in latex  # hidden span, post menu
    assert "Improve this answer" not in page.text


def test_rescue_can_be_switched_off() -> None:
    from sciloom.corpus.web.html_text import ExtractOptions

    page = extract_page(QA_PAGE, ExtractOptions(min_formula_share=0.0, main_content="trafilatura"))
    assert page.rescued_blocks == 0
    assert [f.latex for f in page.formulas] == [r"\sum_{n\ge 1} 1/n^2"]  # trafilatura keeps the question only
