"""The math score: 0 without formulas, grows with substantial formulas, symbols weigh less."""

from __future__ import annotations

from sciloom.corpus.web.math_recovery import Formula
from sciloom.corpus.web.math_score import math_score, score_bin


def f(latex: str, display: bool = False) -> Formula:
    return Formula(latex, display, "tex_raw")


def test_no_formulas_scores_zero() -> None:
    s = math_score([], "some text")
    assert s["score"] == 0.0 and s["num_formulas"] == 0 and s["markup"] == {}
    assert score_bin(s["score"]) == "0"


def test_substantial_formulas_outweigh_bare_symbols() -> None:
    symbols = math_score([f("x"), f("y"), f("n"), f("k")], "t" * 100)["score"]
    real = math_score([f(r"\frac{a}{b}"), f("x^2"), f("a=b"), f(r"\alpha")], "t" * 100)["score"]
    assert 0 < symbols < real
    assert math_score([f("x^2")] * 10, "t")["score"] > 0.9


def test_counts_display_and_markup_kinds() -> None:
    s = math_score([f("a=b", True), Formula("x^2", False, "katex")], "0123456789")
    assert s["num_display"] == 1 and s["markup"] == {"katex": 1, "tex_raw": 1}
    assert s["math_char_share"] == 0.6


def test_bins_cover_the_unit_interval() -> None:
    assert [score_bin(x) for x in (0.05, 0.2, 0.55, 0.99, 1.0)] == [
        "0.0-0.2",
        "0.2-0.4",
        "0.4-0.6",
        "0.8-1.0",
        "0.8-1.0",
    ]
