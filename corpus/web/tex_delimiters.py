"""Raw TeX in page text: which delimiters the page uses, and where its formulas are.

Common Crawl stores pages before MathJax/KaTeX run, so most web math is raw TeX between
delimiters in the text (`$..$`, `\\(..\\)`, `$$..$$`, `\\[..\\]`, `\\begin{align}..`, forum BBCode).
Which delimiters are math is the page's own decision: MathJax 2/3 and KaTeX auto-render read it
from a config script. We read the same config (`inlineMath`/`displayMath` arrays, KaTeX
`delimiters` objects) so a page whose config omits `$` keeps its `$2 fee` as currency.

Rules for the single `$` (the only ambiguous delimiter):
- the page's config lists `$`: MathJax semantics, an unescaped `$` closes the formula;
- the page's config lists inline delimiters without `$`: `$` is not math;
- no inline config on the page (none at all, or one loaded from an external file we cannot see,
  common on blogs and CMSs): pandoc's `tex_math_dollars` rule (no space after the opening `$`,
  none before the closing one, no digit after it) plus a prose/price check, so `$60 million ...
  $16.8 million` and `charged a $2 fee ... $16` stay text while `$x^2$` is math.
`\\(`, `\\[`, `$$`, math environments and `[tex]`/`[itex]`/`[math]`/`[latex]`/`[imath]` BBCode (any
letter case) are always math: their only use in text is TeX.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MATH_ENVIRONMENTS = (
    "equation|align|alignat|aligned|gather|gathered|multline|eqnarray|displaymath|flalign|split|cases|"
    "array|matrix|pmatrix|bmatrix|Bmatrix|vmatrix|Vmatrix|CD|subequations"
)
ENV_OPEN = re.compile(r"\\begin\{(" + MATH_ENVIRONMENTS + r")(\*?)\}")


@dataclass(frozen=True)
class Delimiter:
    open: str
    close: str
    display: bool
    kind: str = "tex_raw"


# Forum BBCode for math (phpBB, vBulletin, XenForo, MyBB plugins; GeeksforGeeks writes `[Tex]`):
# tag -> display. Where a board has an inline tag (`[itex]`, `[imath]`), the plain one is its block
# form: PhysicsForums' `[tex]`/`[itex]`, and MathRen's documented `[math]` (display) / `[imath]`
# (inline). Forums accept any letter case, so each tag is listed lower, upper and title case.
BBCODE_MATH = {"tex": True, "itex": False, "math": True, "imath": False, "latex": False}


def _bbcode_delimiters() -> tuple[Delimiter, ...]:
    out = []
    for tag, display in BBCODE_MATH.items():
        for name in dict.fromkeys((tag, tag.upper(), tag.title())):
            out.append(Delimiter(f"[{name}]", f"[/{name}]", display, "bbcode"))
    return tuple(out)


BBCODE = _bbcode_delimiters()
ALWAYS = (
    Delimiter("$$", "$$", True),
    Delimiter("\\[", "\\]", True),
    Delimiter("\\(", "\\)", False),
    *BBCODE,
)
DOLLAR = Delimiter("$", "$", False)


@dataclass
class DelimiterConfig:
    """The raw-TeX delimiters of one page."""

    delimiters: list[Delimiter] = field(default_factory=lambda: list(ALWAYS))
    # "config": the page's config lists `$`; "pandoc": no config seen, strict rule; "off": not math.
    dollar: str = "pandoc"
    renderer: bool = False  # the page loads MathJax/KaTeX (recorded; it does not make a page math)
    asciimath: bool = False  # backtick-delimited AsciiMath (MathJax asciimath2jax / AsciiMath input)

    def sorted_delimiters(self) -> list[Delimiter]:
        ds = list(self.delimiters)
        if self.dollar != "off":
            ds.append(DOLLAR)
        # Longest opener first so `$$` wins over `$` and `[itex]` over `[i`.
        return sorted(ds, key=lambda d: -len(d.open))


RENDERER = re.compile(
    r"MathJax(\.js|\.Hub|\s*=|-full|@\d|/\d|\.config)|mathjax@|tex-(mml-)?(chtml|svg)|katex(\.min)?\.js|auto-render|x-mathjax-config",
    re.I,
)
# `inlineMath: [[...], ...]` (MathJax 2/3) or `inlineMath: {'[+]': [[...]]}` (MathJax 4).
INLINE_CONFIG = re.compile(r"""["']?inlineMath["']?\s*:\s*[\[{]""")
DISPLAY_CONFIG = re.compile(r"""["']?displayMath["']?\s*:\s*[\[{]""")
PAIR = re.compile(r"""\[\s*(["'])(.*?)(?<!\\)\1\s*,\s*(["'])(.*?)(?<!\\)\3\s*\]""")
KATEX_DELIM = re.compile(
    r"""\{\s*left\s*:\s*(["'])(.*?)(?<!\\)\1\s*,\s*right\s*:\s*(["'])(.*?)(?<!\\)\3\s*,\s*display\s*:\s*(true|false)""",
    re.I,
)
ASCIIMATH = re.compile(r"asciimath|AM_(HTMLorMML|CHTML|SVG)|math/asciimath|ASCIIMathML", re.I)


def _js_array(code: str, start: int) -> str:
    """The JS array or object literal opening at code[start], quotes respected, brackets balanced."""
    depth, quote, i = 0, "", start
    while i < len(code):
        ch = code[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth == 0:
                return code[start : i + 1]
        i += 1
    return ""


def _js_unescape(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


def page_delimiters(scripts: list[str], script_srcs: list[str]) -> DelimiterConfig:
    """Delimiters of a page from its inline `<script>` bodies and `<script src>` URLs."""
    config = DelimiterConfig()
    code = "\n".join(scripts)
    # Each regex below runs only when a word it needs is in the code: on script-heavy pages the
    # case-blind regexes over all inline JS were ~10% of extraction (py-spy, bench/RESULTS.md).
    low = code.lower()
    renderer = any(k in low for k in ("mathjax", "tex-", "katex", "auto-render")) and RENDERER.search(code)
    config.renderer = bool(renderer or any(RENDERER.search(s) for s in script_srcs))
    inline: list[Delimiter] = []
    display: list[Delimiter] = []
    for m in INLINE_CONFIG.finditer(code) if "inlineMath" in code else ():
        array = _js_array(code, m.end() - 1)
        inline += [Delimiter(_js_unescape(p[1]), _js_unescape(p[3]), False) for p in PAIR.findall(array)]
    for m in DISPLAY_CONFIG.finditer(code) if "displayMath" in code else ():
        array = _js_array(code, m.end() - 1)
        display += [Delimiter(_js_unescape(p[1]), _js_unescape(p[3]), True) for p in PAIR.findall(array)]
    katex = "left" in low and "right" in low and "display" in low
    for m in KATEX_DELIM.finditer(code) if katex else ():
        d = Delimiter(_js_unescape(m.group(2)), _js_unescape(m.group(4)), m.group(5).lower() == "true")
        (display if d.display else inline).append(d)
    seen = {(d.open, d.close) for d in config.delimiters}
    for d in inline + display:
        if d.open == "$" and d.close == "$":
            continue
        if d.open and d.close and (d.open, d.close) not in seen:
            config.delimiters.append(d)
            seen.add((d.open, d.close))
    if any(d.open == "$" and d.close == "$" for d in inline):
        config.dollar = "config"
    elif inline:
        config.dollar = "off"
    asciimath = ("asciimath" in low or "am_" in low) and ASCIIMATH.search(code)
    config.asciimath = bool(asciimath or any(ASCIIMATH.search(s) for s in script_srcs))
    return config


@dataclass(frozen=True)
class TexSpan:
    start: int
    end: int
    latex: str
    display: bool
    kind: str


PROSE = re.compile(r"(?:\b[A-Za-z]{3,}\b[\s,;.]+){3,}")
# What makes the text between two `$` TeX on a page without a renderer config: a control word or
# control symbol (`\\alpha`, `\\,`), a script, an ASCII or Unicode operator or relation (`$n ≥ 2$`,
# `$0 ≥ 1$`), brackets (`$[0 \\, 0]$`), or a lone short symbol (`$x$`, `$n$`).
TEX_SIGNAL = re.compile(
    r"\\[A-Za-z]+|\\[,;:!| {}]|[\^_=<>+*/|]|[\u2190-\u22ff\u27c0-\u27ef\u2a00-\u2aff±×÷·¬]"
    r"|^\s*[A-Za-z]\s*$|^\s*[A-Za-z0-9]{1,3}\s*$|[{}()\[\]]"
)
MONEY = re.compile(r"^\d[\d,.]*\s*(?:[A-Za-z]{2,}|[-–]\s*\d)")


def _escaped(text: str, i: int) -> bool:
    n = 0
    while i - 1 - n >= 0 and text[i - 1 - n] == "\\":
        n += 1
    return n % 2 == 1


def _plausible_dollar_math(body: str) -> bool:
    """Prose or a price between two `$` is not math (pages without a renderer config)."""
    without_text = re.sub(r"\\(?:text|mathrm|textrm|mbox|operatorname)\{[^{}]*\}", "", body)
    if PROSE.search(without_text) or MONEY.match(body):
        return False
    return bool(TEX_SIGNAL.search(body))


_CLOSERS: dict[str, re.Pattern] = {}


def _find_close(text: str, start: int, close: str) -> int:
    """Where `close` ends the formula opened before `start`, or -1.

    As MathJax's tex2jax and KaTeX's auto-render do: a closing delimiter counts only outside
    braces, and a backslash escapes the next character, so `$\\ce{NaOH(aq,$\\infty$)}$` (mhchem)
    is one formula and `$a \\$ b$` ends at its last `$`."""
    rx = _CLOSERS.get(close)
    if rx is None:
        rx = _CLOSERS[close] = re.compile(re.escape(close) + r"|\\.|[{}]", re.S)
    depth = 0
    for m in rx.finditer(text, start):
        tok = m.group()
        if tok == close:
            if depth <= 0:
                return m.start()
        elif tok == "{":
            depth += 1
        elif tok == "}":
            depth -= 1
    return -1


def find_tex(text: str, config: DelimiterConfig) -> list[TexSpan]:
    """Raw TeX formulas in one run of text, left to right, non-overlapping."""
    delims = config.sorted_delimiters()
    openers = [d.open for d in delims]
    if not any(o in text for o in openers) and "\\begin{" not in text:
        return []
    firsts = {o[0] for o in openers} | {"\\"}
    spans: list[TexSpan] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] not in firsts:
            i += 1
            continue
        span = _span_at(text, i, delims, config)
        if span is None:
            i += 1
            continue
        spans.append(span)
        i = span.end
    return spans


def _span_at(text: str, i: int, delims: list[Delimiter], config: DelimiterConfig) -> TexSpan | None:
    m = ENV_OPEN.match(text, i)
    if m and not _escaped(text, i):
        end_tag = "\\end{" + m.group(1) + m.group(2) + "}"
        j = text.find(end_tag, m.end())
        if j != -1:
            return TexSpan(i, j + len(end_tag), text[i : j + len(end_tag)], True, "tex_raw")
        return None
    for d in delims:
        if not text.startswith(d.open, i):
            continue
        if d.open.startswith("$") and _escaped(text, i):
            return None
        body_start = i + len(d.open)
        if d is DOLLAR:
            return _dollar_span(text, i, config)
        j = _find_close(text, body_start, d.close)
        if j == -1:
            continue
        body = text[body_start:j]
        if not body.strip():
            return None
        if d.open == "$$" and re.search(r"\n\s*\n", body) and config.dollar == "pandoc" and len(body) > 2000:
            return None
        return TexSpan(i, j + len(d.close), body.strip(), d.display, d.kind)
    return None


def _dollar_span(text: str, i: int, config: DelimiterConfig) -> TexSpan | None:
    body_start = i + 1
    j = _find_close(text, body_start, "$")
    if j == -1 or j == body_start:
        return None
    body = text[body_start:j]
    if re.search(r"\n\s*\n", body):
        return None
    if config.dollar == "pandoc":
        if body[0].isspace() or body[-1].isspace() or text[j + 1 : j + 2].isdigit():
            return None
        if not _plausible_dollar_math(body):
            return None
    return TexSpan(i, j + 1, body.strip(), False, "tex_raw")
