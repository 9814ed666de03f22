"""AsciiMath (backtick-delimited, MathJax's AsciiMath input) -> LaTeX.

Pages that load MathJax's AsciiMath input write formulas as `` `x^2 + 1` ``. We convert them with
py_asciimath's `ASCIIMath2Tex` (a Lark grammar of the asciimath.org spec), the converter the
llm-webkit benchmark ground truth was made with, so `E=mc^2` becomes `E = m {c}^{2}`. The grammar
takes ~1 s to build, so it is built once per process, on first use, and its parser tables are
cached in `~/.cache/sciloom/` (`$XDG_CACHE_HOME`), which brings later starts to ~0.2 s. Backticks are math only on
pages that load AsciiMath (tex_delimiters.page_delimiters decides); elsewhere they are quotes.
A formula the grammar rejects stays in the text as written, backticks included.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from functools import lru_cache
from pathlib import Path

from sciloom.corpus.web.tex_delimiters import TexSpan

MAX_CHARS = 2000
BACKTICKS = re.compile(r"(?<!\\)`([^`\n]+?)(?<!\\)`")


def _grammar_cache() -> str | None:
    """A user-owned file for Lark's pickled parser tables (never the shared /tmp: Lark unpickles
    it), or None when no cache folder can be made."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sciloom"
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    import py_asciimath

    version = getattr(py_asciimath, "__version__", "0")
    return str(base / f"asciimath-lark-{version}-py{sys.version_info[0]}{sys.version_info[1]}.pickle")


@lru_cache(maxsize=1)
def _parser():
    from py_asciimath.translator.translator import ASCIIMath2Tex

    logging.getLogger("py_asciimath").setLevel(logging.WARNING)
    logging.getLogger("root").setLevel(logging.WARNING)
    # Building the LALR tables takes ~1 s per process; with the transformer applied after parsing
    # (inplace=False) Lark can cache them (~0.2 s to load).
    cache = _grammar_cache()
    try:
        parser = ASCIIMath2Tex(log=False, inplace=False, **({"cache": cache} if cache else {}))
    except Exception:  # an unwritable or corrupt cache: build without it
        parser = ASCIIMath2Tex(log=False, inplace=False)
    # With log=False py_asciimath still formats every transformer call's arguments (inspect +
    # repr) for a no-op logger: half of its time (py-spy, bench/RESULTS.md web section).
    parser.transformer._logger = _NoLog()
    return parser


class _NoLog:
    """py_asciimath's `Log` decorator, minus the logging: returns the function unchanged."""

    def __call__(self, func):
        return func


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
