"""Presentation MathML -> LaTeX: fractions, scripts, roots, fences, matrices, operators."""

from __future__ import annotations

import pytest
from lxml import etree

from sciloom.corpus.web.mathml import MAX_NODES, MathMLTooLarge, mathml_to_latex

NS = 'xmlns="http://www.w3.org/1998/Math/MathML"'


def tex(body: str, ns: bool = True) -> str:
    return mathml_to_latex(etree.fromstring(f"<math {NS if ns else ''}>{body}</math>"))


def test_fraction_and_scripts() -> None:
    assert tex("<mfrac><mi>a</mi><mi>b</mi></mfrac>") == r"\frac{a}{b}"
    assert tex("<msup><mi>x</mi><mn>2</mn></msup>") == "{x}^{2}"
    assert tex("<msub><mi>a</mi><mi>n</mi></msub>") == "{a}_{n}"
    assert tex("<msubsup><mi>x</mi><mi>i</mi><mn>2</mn></msubsup>") == "{x}_{i}^{2}"


def test_roots() -> None:
    assert tex("<msqrt><mi>x</mi><mo>+</mo><mn>1</mn></msqrt>") == r"\sqrt{x+1}"
    assert tex("<mroot><mi>x</mi><mn>3</mn></mroot>") == r"\sqrt[3]{x}"


def test_fences_become_left_right() -> None:
    assert tex("<mrow><mo>(</mo><mi>a</mi><mo>+</mo><mi>b</mi><mo>)</mo></mrow>") == r"\left(a+b\right)"
    assert tex('<mfenced open="[" close="]"><mi>a</mi><mi>b</mi></mfenced>') == r"\left[a,b\right]"


def test_matrix_is_an_array() -> None:
    body = "<mtable><mtr><mtd><mn>1</mn></mtd><mtd><mn>0</mn></mtd></mtr><mtr><mtd><mn>0</mn></mtd><mtd><mn>1</mn></mtd></mtr></mtable>"
    assert tex(body) == r"\begin{array}{cc}1&0\\ 0&1\end{array}"


def test_operators_and_large_operators() -> None:
    assert tex("<mi>α</mi><mo>≤</mo><mi>β</mi><mo>×</mo><mn>2</mn>") == r"\alpha \le \beta \times 2"
    body = (
        "<munderover><mo>∑</mo><mrow><mi>k</mi><mo>=</mo><mn>1</mn></mrow><mi>n</mi></munderover><mi>k</mi>"
    )
    assert tex(body) == r"\sum _{k=1}^{n}k"
    assert tex("<mi>sin</mi><mi>x</mi>") == r"\sin x"


def test_accents_and_text() -> None:
    assert tex('<mover accent="true"><mi>x</mi><mo>^</mo></mover>') == r"\hat{x}"
    assert tex("<mtext>if </mtext><mi>x</mi>") == r"\text{if }x"


def test_mathml_without_namespace_converts_the_same() -> None:
    assert tex("<mfrac><mn>1</mn><mn>2</mn></mfrac>", ns=False) == r"\frac{1}{2}"


def test_huge_tree_raises_instead_of_running_away() -> None:
    body = "<mi>x</mi>" * (MAX_NODES + 10)
    with pytest.raises(MathMLTooLarge):
        tex(f"<mrow>{body}</mrow>")


def test_closing_bracket_as_script_base_pairs_with_its_opening_bracket() -> None:
    # MathJax's MathML for (1+x)^2 puts the `)` inside msup.
    body = "<mo>(</mo><mn>1</mn><mo>+</mo><mi>x</mi><msup><mo>)</mo><mn>2</mn></msup>"
    assert tex(body) == r"{\left(1+x\right)}^{2}"
    assert tex("<mi>P</mi><mo>(</mo><mi>E</mi><mo>)</mo>") == r"P\left(E\right)"
    assert tex("<mo>|</mo><mi>q</mi><mo>|</mo>") == "|q|"


def test_spaces_become_spacing_commands() -> None:
    assert tex('<mi>a</mi><mspace width="0.167em"/><mi>b</mi>') == r"a\,b"
    assert tex('<mi>a</mi><mspace width="1em"/><mi>b</mi>') == r"a\quad b"
    assert tex('<mi>a</mi><mspace linebreak="newline"/><mi>b</mi>') == r"a\\ b"
