"""The page's own delimiter config decides what raw TeX is; currency is not math."""

from __future__ import annotations

from sciloom.corpus.web.tex_delimiters import DelimiterConfig, find_tex, page_delimiters

SE_CONFIG = 'MathJax.Hub.Config({"tex2jax": { inlineMath: [["$", "$"], ["\\\\(","\\\\)"]], displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]]}});'
PF_CONFIG = """MathJax.Hub.Config({ tex2jax: { inlineMath: [ ['[itex]', '[/itex]'], ['##', '##'] ],
  displayMath: [ ['[tex]', '[/tex]'], ['$$', '$$'] ] } });"""
KATEX_CONFIG = """renderMathInElement(document.body, {delimiters: [
  {left: "$$", right: "$$", display: true}, {left: "$", right: "$", display: false}]});"""
MATHJAX = ["https://cdn.example.org/mathjax/2.7.5/MathJax.js?config=TeX-AMS_HTML"]


def spans(text: str, config: DelimiterConfig) -> list[tuple[str, bool]]:
    return [(s.latex, s.display) for s in find_tex(text, config)]


def test_page_config_with_dollar_enables_single_dollar() -> None:
    config = page_delimiters([SE_CONFIG], MATHJAX)
    assert config.dollar == "config"
    assert spans("so $x_1$ and $$y$$ and \\(z\\)", config) == [("x_1", False), ("y", True), ("z", False)]


def test_forum_config_adds_its_own_delimiters_and_keeps_dollar_off() -> None:
    config = page_delimiters([PF_CONFIG], [])
    assert config.dollar == "off"
    assert spans("let ##a+b## and [tex]\\int f[/tex] cost $5 and $6", config) == [
        ("a+b", False),
        ("\\int f", True),
    ]


def test_katex_auto_render_delimiters_are_read() -> None:
    config = page_delimiters([KATEX_CONFIG], ["/katex/contrib/auto-render.min.js"])
    assert config.dollar == "config"


def test_renderer_without_inline_config_uses_the_strict_dollar_rule() -> None:
    # The config may live in an external file: `$x$` is still math, prices are not.
    config = page_delimiters([], MATHJAX)
    assert config.dollar == "pandoc"
    text = "each time he is charged a $2 fee. Later a $16 fee; \\(x^2\\) and $y_1$"
    assert spans(text, config) == [("x^2", False), ("y_1", False)]


def test_no_renderer_dollar_follows_pandoc_rule_and_rejects_prices() -> None:
    config = page_delimiters([], [])
    assert config.dollar == "pandoc"
    assert spans("pay him $60 million over 3 years, his cap is $16.8 million.", config) == []
    assert spans("tickets cost $25 and $90 today", config) == []
    assert spans("parking is $15-$20", config) == []
    assert spans("where $x^2 + y^2 = r^2$ holds", config) == [("x^2 + y^2 = r^2", False)]
    assert spans("a price of $5 each$ is odd", config) == []


def test_escaped_dollar_is_text() -> None:
    config = page_delimiters([SE_CONFIG], MATHJAX)
    assert spans(r"costs \$30 and \$40 but $a$ is math", config) == [("a", False)]


def test_math_environments_outside_delimiters_are_display() -> None:
    config = DelimiterConfig()
    text = "we get \\begin{align} a &= b \\\\ c &= d \\end{align} and more"
    assert spans(text, config) == [("\\begin{align} a &= b \\\\ c &= d \\end{align}", True)]


def test_bbcode_always_recognised() -> None:
    assert spans("[itex]x[/itex] then [math]y[/math]", DelimiterConfig(dollar="off")) == [
        ("x", False),
        ("y", True),  # [math] is the block tag of boards with an inline [imath] (MathRen)
    ]


def test_mathjax4_object_form_of_the_config_is_read() -> None:
    code = "MathJax = { tex: { inlineMath: {'[+]': [['$', '$']]}, displayMath: [['\\\\[', '\\\\]']] } };"
    assert page_delimiters([code], []).dollar == "config"
