"""Where the math is in a document's text, so rules can measure prose and math apart.

Stock quality rules read formulas as junk: C4 drops any `{`, Gopher's alphabetic-word ratio
counts `\\frac{a}{b}` as a non-word, FineWeb's line rules hit every display line
(FIELD-NOTES 3). We find the formulas first and give each rule the view it should see:

- `prose_view`: every formula replaced by one placeholder word, so a formula counts as one word
  (neither junk nor a pile of symbols), and prose rules see only prose characters;
- `repetition_view`: formulas removed and lines left empty dropped, so twenty display
  equations are not twenty "duplicate lines";
- `strip_math`: formulas removed, for language id (fastText reads TeX as noise).

Formulas are the corpus convention of every extractor (`$...$` inline, `$$...$$` display,
corpus/markup.py) plus the LaTeX forms arXiv text keeps: `\\(...\\)`, `\\[...\\]` and the math
environments. An inline `$...$` follows pandoc's `tex_math_dollars` rule (no space after the
opening `$`, none before the closing one, no digit after it), and `\\$` is a literal dollar, so
`$16.8 million` is currency, not math.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

PLACEHOLDER = "formula"
_MATH_ENVS = r"(?:equation|align|gather|multline|eqnarray|displaymath|math|flalign|alignat)\*?"
MATH_RE = re.compile(
    r"\$\$(?:[^$\\]|\\.)+?\$\$"  # display $$...$$
    r"|\\\[(?:.|\n)+?\\\]"  # display \[...\]
    r"|\\\((?:.|\n)+?\\\)"  # inline \(...\)
    rf"|\\begin\{{({_MATH_ENVS})\}}(?:.|\n)*?\\end\{{\1\}}"  # math environments
    r"|(?<![\\$])\$(?![\s$])(?:[^$\\\n]|\\.|\n(?![ \t]*\n))+?(?<![\s\\])\$(?!\d)",  # inline $...$
    re.DOTALL,
)
TEX_COMMAND_RE = re.compile(
    r"\\(?:frac|sqrt|sum|int|alpha|beta|gamma|theta|lambda|sigma|pi|cdot|times|leq|geq|neq"
    r"|infty|partial|mathbb|mathrm|mathbf|left|right|begin\{(?:equation|align))\b"
)
# Math written in plain text: x^2, e^(2x), a_(nm), unicode operators, `f(x) = 3x + 1`.
PLAIN_MATH_RE = re.compile(
    r"\b[A-Za-z0-9)]\^[({A-Za-z0-9]"
    r"|[\u2200-\u22ff\u2a00-\u2aff\u221a\u222b\u2211\u220f]"
    r"|\b[a-z]\([a-z]\)\s*=\s*[-\w(]"
    r"|\b\d+\s*[a-z]\s*[-+]\s*\d+\s*=\s*-?\d"
)


@dataclass(frozen=True)
class MathStats:
    num_formulas: int
    math_chars: int
    tex_commands: int
    plain_math: int

    @property
    def has_math(self) -> bool:
        """Any formula, any TeX command, or at least two plain-text math expressions."""
        return self.num_formulas > 0 or self.tex_commands > 0 or self.plain_math >= 2


def spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in MATH_RE.finditer(text)]


def math_stats(text: str) -> MathStats:
    found = spans(text)
    outside = _replace(text, found, " ")
    return MathStats(
        num_formulas=len(found),
        math_chars=sum(e - s for s, e in found),
        tex_commands=len(TEX_COMMAND_RE.findall(outside)),
        plain_math=len(PLAIN_MATH_RE.findall(outside)),
    )


def _replace(text: str, found: list[tuple[int, int]], repl: str) -> str:
    if not found:
        return text
    out, pos = [], 0
    for s, e in found:
        out.append(text[pos:s])
        out.append(repl)
        pos = e
    out.append(text[pos:])
    return "".join(out)


def prose_view(text: str) -> str:
    return _replace(text, spans(text), f" {PLACEHOLDER} ")


def strip_math(text: str) -> str:
    return _replace(text, spans(text), " ")


def repetition_view(text: str, min_line_words: int = 4) -> str:
    """Formulas as one word each (a short hash of the formula, so the same formula repeats and two
    different ones do not), and only lines of at least `min_line_words` words: one- to three-word
    lines (`Solution`, `Try It`, `edit`, a bullet whose text was a formula) are a page's structure,
    not repeated content."""
    found = spans(text)
    if found:
        out, pos = [], 0
        for s, e in found:
            out.append(text[pos:s])
            out.append(f" f{zlib.crc32(text[s:e].encode('utf-8', 'surrogatepass')):08x} ")
            pos = e
        out.append(text[pos:])
        text = "".join(out)
    return "\n".join(line for line in text.split("\n") if len(line.split()) >= min_line_words)
