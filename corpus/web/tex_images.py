"""TeX carried by formula images, from any generator.

Markup family: before MathJax, blogs, forums and converters rendered formulas as images whose
`alt`, `title` or URL holds the TeX:

- known renderers with the TeX in the URL: WordPress `latex.php?latex=`, CodeCogs
  (`latex.codecogs.com/svg.latex?\\frac{a}{b}&space;x`, with `&space;`/`&plus;` for space/plus and
  `%5E`-style URL-encoding), mimeTeX/mathTeX (`/cgi-bin/mimetex.cgi?x^2`), Google Charts;
  renderer options before the TeX (`\\dpi{120}`, `\\bg_white`) are not part of the formula;
- any generator whose `alt` is the TeX: LaTeX2HTML (`<IMG ALT="$x_1$" SRC="img12.png">`, display
  math as `ALT="\\begin{displaymath}..."`), Sphinx imgmath (`<img class="math" alt="x^2">`),
  QuickLaTeX (the TeX in `title`, `alt` is a credit line), editors and themes.

The TeX comes from `alt` (or `title`) when it parses as TeX, else from the URL, so neither a
credit line nor URL junk (`&bg=ffffff&fg=000`) leaks into a formula. Lazy-loading themes keep the
real URL in `data-lazy-src`/`data-src` (math_recovery picks it).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

from sciloom.corpus.web.math_containers import looks_like_tex
from sciloom.corpus.web.tex_delimiters import ENV_OPEN

# Renderers whose whole query string is the TeX (not URL-encoded by every page, so `unquote`, not `+`).
QUERY_IS_TEX = re.compile(
    r"(latex\.codecogs\.com/[a-z]+(\.latex|\.image)?|/mimetex(\.cgi|\.exe)?|/mathtex(\.cgi)?|/cgi-bin/mimetex|"
    r"/cgi-bin/mathtex|/forkosh\.com/mimetex|/tex2img|/latexrender|/cgi-bin/latex\.cgi)\?",
    re.I,
)
# Renderers with the TeX in one named parameter.
PARAM_IS_TEX = (
    (re.compile(r"/latex\.php\?", re.I), "latex"),
    (re.compile(r"chart\.apis\.google\.com/chart\?|chart\.googleapis\.com/chart\?", re.I), "chl"),
    (re.compile(r"/latex\?", re.I), "latex"),
    (re.compile(r"/render\?|/math\?", re.I), "tex"),
)
RENDER_OPTIONS = re.compile(
    r"^\s*(\\(dpi|fg|bg|fn|large|Large|LARGE|small|tiny|huge|Huge|normal|inline|png|gif|svg)(_[A-Za-z]+)?(\{[^}]*\})?\s*)+"
)
# fmt: off
MATH_CLASSES = {
    "latex", "tex", "math", "wp-latex", "mathtex", "equation", "formula", "latexrender",
    "ql-img-inline-formula", "ql-img-displayed-equation", "latexcenter",
}
# fmt: on
BR = re.compile(r"<br\s*/?>", re.I)
TEXISH = re.compile(r"\\[A-Za-z]+|[\^_=]|[{}]")
# An image URL that names a formula (LaTeX2HTML's `img12.png` next to the page, Sphinx's
# `_images/math/<hash>.png`, paths with latex/tex/math/equation/formula in them).
MATH_URL = re.compile(
    r"(^|/)img\d+\.(png|gif|svg)$|_images/math/|(^|[/_.-])(latex|tex|math|maths|equation|eqn|formula|mimetex|mathtex)"
    r"([/_.?-]|\d|$)",
    re.I,
)
DELIMITED = re.compile(r"^\s*(\$\$.+\$\$|\$[^$].*\$|\\\(.+\\\)|\\\[.+\\\])\s*$", re.S)
# CodeCogs' editor writes these entity-like escapes into the URL, which HTML parsers leave as is.
BEGIN = re.compile(r"\\begin\{")
CODECOGS_ESCAPES = {"&space;": " ", "&plus;": "+", "&amp;space;": " ", "&amp;plus;": "+"}


def _clean(tex: str) -> str:
    tex = BR.sub(" ", tex)
    tex = RENDER_OPTIONS.sub("", tex)
    return tex.strip()


def _url_tex(src: str) -> str | None:
    """The TeX in a known renderer's URL, or None."""
    m = QUERY_IS_TEX.search(src)
    if m:
        query = src[m.end() :]
        for esc, ch in CODECOGS_ESCAPES.items():
            query = query.replace(esc, ch)
        return _clean(unquote(query)) or None
    for rx, param in PARAM_IS_TEX:
        if rx.search(src):
            values = parse_qs(urlsplit(BR.sub("", src)).query, keep_blank_values=True).get(param)
            if values and values[0].strip():
                return _clean(values[0]) or None
    return None


def alt_is_tex(alt: str) -> bool:
    """An `alt`/`title` that is a formula whatever made the image: delimited TeX (`$x_1$`,
    `\\(..\\)`), a math environment (`\\begin{displaymath}`), or text that parses as TeX."""
    alt = alt.strip()
    if not alt:
        return False
    for m in BEGIN.finditer(alt):
        if not ENV_OPEN.match(alt, m.start()):
            return False  # LaTeX2HTML's figure/tabular images carry their (non-math) source
    if DELIMITED.match(alt) or ENV_OPEN.match(alt):
        return looks_like_tex(alt)
    return looks_like_tex(alt) and bool(TEXISH.search(alt))


def tex_from_image(src: str, alt: str, classes: set[str], title: str = "") -> str | None:
    """The TeX an image renders, or None when it is not a formula image."""
    src = (src or "").strip()
    alt = BR.sub(" ", (alt or "").strip())
    title = (title or "").strip()
    url_tex = _url_tex(src)
    if url_tex is not None:
        # The alt holds the same TeX without URL-encoding ambiguities (WordPress, CodeCogs), unless
        # it is a caption or credit line.
        return _clean(alt) if alt_is_tex(alt) else url_tex
    if "quicklatex.com" in src and alt_is_tex(title):
        return _clean(title)  # QuickLaTeX: alt is "Rendered by QuickLaTeX.com", the TeX is the title
    if DELIMITED.match(alt) or ENV_OPEN.match(alt):
        return _clean(alt) if alt_is_tex(alt) else None  # LaTeX2HTML and other converters
    mathy = bool(classes & MATH_CLASSES) or bool(MATH_URL.search(urlsplit(src).path if src else ""))
    if mathy and alt_is_tex(alt):
        return _clean(alt)
    if mathy and alt_is_tex(title):
        return _clean(title)
    return None
