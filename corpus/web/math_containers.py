"""Math containers holding bare TeX, recognised by what they hold rather than by the site.

Markup family: an element whose tag or class names math, or that sits where MathJax/KaTeX would
render, holding the TeX source with no delimiters, left for a client-side script to typeset:

- custom elements: distill's `<dt-math>x^2</dt-math>` and `<dt-math block>\\sum_i x_i</dt-math>`,
  `<d-math>`, `<formula>` inside an unrendered `<mjx-container display="true">`, and any custom
  element whose name has a math part (`<math-tex>`, `<x-latex>`);
- classes: jsMath and Sphinx `<div class="math">\\begin{eqnarray}...`, pandoc's
  `<span class="math inline">x</span>` (its KaTeX mode writes no delimiters), `<span class="tex">`,
  `<span class="katex-mathml">` whose tags a CMS stripped (the TeX is its last line);
- editors' attributes: `data-tex`, `data-latex`, `data-formula`, `data-math` (handled in
  math_recovery.py, which owns attribute sources).

A candidate becomes a formula only when its text parses as TeX (`looks_like_tex`): balanced
braces, a TeX signal (a control word, script, operator, relation, bracket, or a lone short
symbol) and no run of prose words outside `\\text{}`. Anything else (a `div.math` holding a
worked example in prose with `$..$` inside) is left to the text pass, which still finds the
delimited formulas in it. Display: a `block`/`display` attribute, a class naming display/block,
a block-level tag (`div`), or a multi-line environment.
"""

from __future__ import annotations

import re

from lxml import etree

from sciloom.corpus.web.mathml import local_name
from sciloom.corpus.web.tex_delimiters import TEX_SIGNAL

# Class tokens that name a math container (compared lower-cased).
# fmt: off
MATH_CLASS_TOKENS = {
    "math", "tex", "latex", "math-tex", "mathtex", "math-inline", "math-display", "inline-math",
    "display-math", "math-block", "arithmatex", "equation-tex", "katex-src", "tex-math", "katex-mathml",
}
# fmt: on
# Parts of a custom element's name (`dt-math`, `math-tex`) that name math.
MATH_NAME_PARTS = {"math", "tex", "latex", "katex", "formula", "equation"}
# Custom elements of renderers handled by their own passes, never bare TeX.
RENDERED = {"mjx-container", "math-field"}
PLAIN_TAGS = {"formula", "tex", "latex"}
BLOCK_TAGS = {"div", "p", "section", "figure", "center", "blockquote", "td", "li", "dd"}
DISPLAY_WORDS = re.compile(r"display|block|equation|centered", re.I)
TEXT_COMMANDS = re.compile(r"\\(?:text|mathrm|textrm|textit|textbf|mbox|operatorname|mathit)\s*\{[^{}]*\}")
CONTROL_WORD = re.compile(r"\\[A-Za-z]+")
PROSE = re.compile(r"(?:\b[A-Za-z]{3,}\b[\s,;.]+){3,}")
PATH_OR_URL = re.compile(r"://|^[A-Za-z]:\\|\.(png|gif|jpe?g|svg|html?)\b", re.I)
TOKEN_MARK = "\u27e6M"
WORD = re.compile(r"[A-Za-z]{2,}")


def _balanced(tex: str) -> bool:
    depth, i = 0, 0
    while i < len(tex):
        ch = tex[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                return False
        i += 1
    return depth == 0


def looks_like_tex(text: str) -> bool:
    """Whether a string, with its delimiters stripped, reads as a TeX formula and not as prose.

    `x^2`, `\\alpha`, `n ≥ 2`, `\\begin{eqnarray} x & = & 4y \\end{eqnarray}` are TeX;
    `Figure 3: the plot`, `see the proof below`, `C:\\Users\\photo.png` are not."""
    s = text.strip()
    if not s or len(s) > 20000 or TOKEN_MARK in s or PATH_OR_URL.search(s):
        return False
    if not _balanced(s):
        return False
    words = CONTROL_WORD.sub(" ", TEXT_COMMANDS.sub(" ", s))
    if PROSE.search(words):
        return False
    return bool(TEX_SIGNAL.search(s))


def _class_tokens(el: etree._Element) -> set[str]:
    return {c.lower() for c in (el.get("class") or "").split()}


def is_math_container(el: etree._Element) -> bool:
    """The element's tag or class names math (its content is not yet checked)."""
    name = local_name(el)
    if name in RENDERED or name == "math":
        return False
    if name in PLAIN_TAGS:
        return True
    if "-" in name and set(name.split("-")) & MATH_NAME_PARTS:
        return True
    return bool(_class_tokens(el) & MATH_CLASS_TOKENS)


def container_display(el: etree._Element) -> bool:
    """Display when the element says so (`block`, `display="true"`, `mode="display"`, a display
    class) or is a block-level element; inline otherwise."""
    for attr in ("block", "display-mode"):
        if el.get(attr) is not None:
            return True
    if (el.get("display") or "").lower() in ("true", "block") or (el.get("mode") or "") == "display":
        return True
    if any(DISPLAY_WORDS.search(c) for c in _class_tokens(el)):
        return True
    if (el.get("class") or "").lower().split()[-1:] == ["inline"]:
        return False
    return local_name(el) in BLOCK_TAGS


def bare_tex(el: etree._Element) -> str | None:
    """The TeX held by a math container, or None when it holds markup or text that is not TeX.

    Only elements holding text alone (line breaks allowed) qualify: a container with child
    elements is a wrapper whose parts the other passes take."""
    if any(isinstance(c.tag, str) and local_name(c) != "br" for c in el):
        return None
    text = "".join(el.itertext())
    if "katex-mathml" in _class_tokens(el):
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        text = lines[-1] if lines else ""
    name = local_name(el)
    if WORD.fullmatch(text.strip()) and name not in PLAIN_TAGS and "-" not in name:
        return None  # a class names math but the text is a word: a logo or label (`span.tex` "TeX")
    return text.strip() if looks_like_tex(text) else None
