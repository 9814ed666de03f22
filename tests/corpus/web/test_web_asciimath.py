"""AsciiMath is converted only on pages that load it; backticks elsewhere stay quotes."""

from __future__ import annotations

from sciloom.corpus.web.asciimath import asciimath_to_latex
from sciloom.corpus.web.html_text import extract_page


def test_converts_like_the_benchmark_converter() -> None:
    assert asciimath_to_latex("E=mc^2") == "E = m {c}^{2}"
    assert asciimath_to_latex("x in RR") == r"x \in \mathbb{R}"
    assert asciimath_to_latex("sqrt(x)/2") == r"\frac{\sqrt{x}}{2}"


def test_backticks_are_math_only_when_the_page_loads_asciimath() -> None:
    body = "<p>The area is `1/2 bh` and the series `Queen Helena` airs soon, said the critic today.</p>"
    loaded = f'<html><head><script src="/mathjax/MathJax.js?config=AM_CHTML"></script></head><body>{body}</body></html>'
    plain = f"<html><head></head><body>{body}</body></html>"
    assert [f.kind for f in extract_page(loaded).formulas] == ["asciimath", "asciimath"]
    assert extract_page(plain).formulas == []
    assert "`Queen Helena`" in extract_page(plain).text


def test_math_asciimath_script_is_converted() -> None:
    html = '<html><body><p>We have <script type="math/asciimath">sum_(i=1)^n i</script> in this long sentence here.</p></body></html>'
    [f] = extract_page(html).formulas
    assert f.kind == "asciimath" and f.latex.startswith("{\\sum}_{i = 1}^{n}")


def test_grammar_cache_lives_in_the_user_cache_folder(tmp_path, monkeypatch) -> None:
    from sciloom.corpus.web.asciimath import _grammar_cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = _grammar_cache()
    assert path is not None and path.startswith(str(tmp_path / "sciloom"))
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert _grammar_cache() is None
