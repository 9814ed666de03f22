"""AsciiMath (backtick-delimited, MathJax's AsciiMath input) -> LaTeX.

Pages that load MathJax's AsciiMath input write formulas as `` `x^2 + 1` ``. We convert them with
py_asciimath's `ASCIIMath2Tex` (a Lark grammar of the asciimath.org spec), the converter the
llm-webkit benchmark ground truth was made with, so `E=mc^2` becomes `E = m {c}^{2}`. The grammar
takes ~0.8 s to build, so it is built once per process, on first use. Backticks are math only on
pages that load AsciiMath (tex_delimiters.page_delimiters decides); elsewhere they are quotes.
A formula the grammar rejects stays in the text as written, backticks included.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from sciloom.corpus.web.tex_delimiters import TexSpan

MAX_CHARS = 2000
BACKTICKS = re.compile(r"(?<!\\)`([^`\n]+?)(?<!\\)`")


@lru_cache(maxsize=1)
def _parser():
    from py_asciimath.translator.translator import ASCIIMath2Tex

    logging.getLogger("py_asciimath").setLevel(logging.WARNING)
    logging.getLogger("root").setLevel(logging.WARNING)
    return ASCIIMath2Tex(log=False, inplace=True)


def asciimath_to_latex(source: str) -> str | None:
    """LaTeX for one AsciiMath formula, or None when it cannot be parsed."""
    source = source.strip()
    if not source or len(source) > MAX_CHARS:
        return None
    try:
        tex = _parser().translate(source, displaystyle=False, from_file=False, pprint=False)
    except Exception:  # the grammar raises lark errors of many kinds on bad input
        return None
    tex = tex.strip()
    if tex.startswith("$") and tex.endswith("$"):
        tex = tex.strip("$").strip()
    return tex or None


def find_asciimath(text: str, taken: list[TexSpan]) -> list[TexSpan]:
    """Backtick formulas in a text run that do not overlap the TeX spans already found."""
    out = []
    for m in BACKTICKS.finditer(text):
        if any(s.start < m.end() and m.start() < s.end for s in taken):
            continue
        tex = asciimath_to_latex(m.group(1))
        if tex:
            out.append(TexSpan(m.start(), m.end(), tex, False, "asciimath"))
    return out
