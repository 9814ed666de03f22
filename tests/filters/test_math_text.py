"""Finding formulas in extracted text: TeX spans are math, currency is not."""

from __future__ import annotations

from sciloom.filters.math_text import PLACEHOLDER, math_stats, prose_view, repetition_view, spans, strip_math


def test_tex_spans_of_every_delimiter_are_found():
    text = r"Let $x^2$ and \(y\) be given. $$\int_0^1 f$$ Also \[a=b\] and \begin{align}c&=d\end{align} end."
    found = [text[s:e] for s, e in spans(text)]
    assert found == ["$x^2$", r"\(y\)", r"$$\int_0^1 f$$", r"\[a=b\]", r"\begin{align}c&=d\end{align}"]


def test_currency_and_escaped_dollars_are_not_math():
    for text in (
        "He earns $60 million over 3 years and $16.8 million now.",
        r"The cap is \$16.8 million.",
        "Pay $5 or $ 6",
    ):
        assert spans(text) == [] and not math_stats(text).has_math, text


def test_plain_text_math_counts_only_when_repeated():
    assert not math_stats("Call 555-1234 for e^x deals").has_math
    assert math_stats("Type x^2 to get a square, and e^(2x) for an exponential.").has_math


def test_views_give_each_rule_what_it_should_see():
    text = "Proof.\n$$a^2+b^2=c^2$$\nSo the sum $a+b$ is even, as claimed here.\n$$a^2+b^2=c^2$$"
    assert prose_view(text).count(PLACEHOLDER) == 3
    assert "$" not in strip_math(text)
    rep = repetition_view(text)
    assert "Proof." not in rep  # one-word structural line
    assert rep.count("\n") == 0  # the display lines have one word each (their hash)
