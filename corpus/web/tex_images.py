"""TeX carried by formula images: WordPress `latex.php`, CodeCogs, mimeTeX/mathTeX, Google Charts.

Before MathJax, blogs and forums rendered formulas as images whose URL (and often `alt`) holds the
TeX. The URL is the reliable copy (WordPress puts the TeX in `alt` too, mimeTeX forums only in
the query string); renderer options that precede the TeX in the query (`\\dpi{120}`,
`\\bg_white`) are not part of the formula and are dropped.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, unquote_plus, urlsplit

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


def _clean(tex: str) -> str:
    tex = BR.sub(" ", tex)
    tex = RENDER_OPTIONS.sub("", tex)
    return tex.strip()


def tex_from_image(src: str, alt: str, classes: set[str], title: str = "") -> str | None:
    """The TeX an image renders, or None when it is not a formula image."""
    src = (src or "").strip()
    alt = (alt or "").strip()
    m = QUERY_IS_TEX.search(src)
    if m:
        tex = _clean(unquote(src[m.end() :]))
        return tex or None
    for rx, param in PARAM_IS_TEX:
        if rx.search(src):
            values = parse_qs(urlsplit(BR.sub("", src)).query, keep_blank_values=True).get(param)
            if values and values[0].strip():
                # WordPress's alt holds the same TeX without URL-encoding ambiguities.
                if (
                    alt
                    and param == "latex"
                    and TEXISH.search(alt)
                    or alt
                    and alt == unquote_plus(values[0]).strip()
                ):
                    return _clean(alt)
                return _clean(values[0])
    if classes & MATH_CLASSES and alt and TEXISH.search(alt):
        return _clean(alt)
    if "quicklatex.com" in src and title and TEXISH.search(title):
        return _clean(title)  # QuickLaTeX: alt is "Rendered by QuickLaTeX.com", the TeX is the title
    return None
