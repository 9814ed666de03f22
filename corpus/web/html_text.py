"""Page HTML -> main text with every formula kept as LaTeX.

Order matters: parse once with lxml, recover math into placeholders (math_recovery.py), run
boilerplate removal on the same tree (main_content.py: resiliparse, trafilatura where resiliparse
loses formulas), then write the formulas back.

Boilerplate removal is allowed to drop navigation, never math: trafilatura keeps one main node,
so a Q&A page loses its answers and comments, and a journal page its display equations. When its
text holds less than `min_formula_share` of the formulas found in the page body, the visible,
non-navigation blocks that hold the lost formulas are put back after it, in page order
(math_rescue.py). That one rule replaces any per-site code.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

import lxml.html
from lxml import etree

from sciloom.corpus.errors import InputError
from sciloom.corpus.web.html_depth import check_depth, deep_parser
from sciloom.corpus.web.main_content import (
    RESILIPARSE,
    RESILIPARSE_MIN_SHARE,
    resiliparse_text,
    trafilatura_text,
)
from sciloom.corpus.web.math_recovery import TOKEN_RE, Formula, MathRecovery, restore_math, tokenize_split_tex
from sciloom.corpus.web.math_rescue import rescue_math_blocks
from sciloom.corpus.web.tex_delimiters import page_delimiters

PARSE_FAILED = "html_parse_failed"
NO_TEXT = "no_main_text"


@dataclass
class ExtractOptions:
    """trafilatura settings (see WebConfig for the user-facing fields)."""

    favor_precision: bool = False
    favor_recall: bool = False
    include_tables: bool = True
    include_comments: bool = False
    fast: bool = True  # skip trafilatura's readability/jusText comparison (half its time)
    main_content: str = RESILIPARSE  # boilerplate removal engine (main_content.py)
    min_formula_share: float = 1.0
    boundary_tokens: bool = False
    mathml: bool = True


@dataclass
class ExtractedPage:
    text: str
    title: str | None
    url: str | None  # the page's canonical URL (`<link rel=canonical>`, `og:url`), if it names one
    formulas: list[Formula]  # formulas that made it into `text`, in order
    found: int  # formulas found in the whole page (before boilerplate removal)
    mathml_failures: int = 0
    rescued_blocks: int = 0  # math-bearing blocks put back after boilerplate removal dropped them
    kinds: dict[str, int] = field(default_factory=dict)


def parse_html(text: str, path: str | None = None) -> etree._Element:
    # lxml refuses str input that carries an XML encoding declaration; strip it.
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    parser = deep_parser()
    try:
        root = lxml.html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError) as err:
        raise InputError(PARSE_FAILED, str(err), path=path) from err
    if root is None:
        raise InputError(PARSE_FAILED, "empty document", path=path)
    check_depth(parser, path)  # never keep a page the parser cut short (html_depth.py)
    return root


def _drop_noise(root: etree._Element) -> None:
    """Delete what trafilatura deletes unconditionally (scripts, styles, SVG, forms' widgets, nav...)
    in one C-level call: trafilatura does it element by element in Python, a third of its time on
    script-heavy pages. Conditional cases (`form`, `figure`) are left to it, and `footer` too:
    without the page's footer resiliparse's main-content pass returns nothing on MediaWiki's
    mobile skin (measured on web-math's math_none_mathml_1), and trafilatura deletes it anyway."""
    from trafilatura.settings import MANUALLY_CLEANED

    tags = [t for t in MANUALLY_CLEANED if t not in ("form", "figure", "footer")]
    etree.strip_elements(root, *tags, with_tail=False)
    # Sub/superscripts left after math recovery (ordinals, footnote marks) are inline text;
    # unwrapped, trafilatura's fallbacks cannot set them on lines of their own.
    etree.strip_tags(root, "sub", "sup")


def _body_tokens(body: etree._Element | None) -> set[str]:
    """Placeholders in the page body, footers left out (page chrome, never rescued)."""
    if body is None:
        return set()
    tokens = set(TOKEN_RE.findall(etree.tostring(body, encoding="unicode", method="text")))
    for footer in body.iter("footer"):
        tokens -= set(
            TOKEN_RE.findall(etree.tostring(footer, encoding="unicode", method="text", with_tail=False))
        )
    return tokens


def _title(root: etree._Element) -> str | None:
    t = root.find(".//title")
    return " ".join(t.text_content().split()) if t is not None and t.text_content().strip() else None


def extract_page(html: str, opts: ExtractOptions | None = None, path: str | None = None) -> ExtractedPage:
    """Main text of one page with its formulas; raises InputError when nothing can be extracted."""
    opts = opts or ExtractOptions()
    root = parse_html(html, path)
    scripts = [s.text or "" for s in root.iter("script") if not (s.get("type") or "").startswith("math/")]
    srcs = [s.get("src") or "" for s in root.iter("script")]
    config = page_delimiters(scripts, srcs)
    recovery = MathRecovery(config, mathml=opts.mathml)
    formulas = recovery.run(root, html)
    title = _title(root)
    canonical = root.xpath("//link[@rel='canonical']/@href | //meta[@property='og:url']/@content")
    _drop_noise(root)
    body = root.find("body")
    in_body = _body_tokens(body)
    # resiliparse is the fast path where its choice of main content can be checked by the page's
    # formulas (main_content.py); elsewhere, and where it missed the main block, trafilatura runs.
    text, kept, spare = "", set(), root
    if opts.main_content == RESILIPARSE and in_body:
        text = resiliparse_text(root)
        kept = set(TOKEN_RE.findall(text))
    if not text.strip() or len(kept) < RESILIPARSE_MIN_SHARE * len(in_body):
        # trafilatura prunes the tree it is given; keep a copy to rescue math-bearing blocks from.
        spare = copy.deepcopy(root) if in_body else None
        text = trafilatura_text(root, opts)
        kept = set(TOKEN_RE.findall(text))
    rescued = 0
    if spare is not None and len(kept) < opts.min_formula_share * len(in_body):
        blocks = rescue_math_blocks(spare, kept)
        if blocks:
            rescued = len(blocks)
            text = (text + "\n\n" + "\n\n".join(blocks)).strip()
    if not text.strip():
        raise InputError(NO_TEXT, "boilerplate removal left no text", path=path)
    text = tokenize_split_tex(recovery, text)
    out = restore_math(text, formulas, opts.boundary_tokens)
    used = [formulas[int(i)] for i in TOKEN_RE.findall(text) if int(i) < len(formulas)]
    kinds: dict[str, int] = {}
    for f in used:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    return ExtractedPage(
        text=out,
        title=title,
        url=str(canonical[0]).strip() if canonical and str(canonical[0]).strip() else None,
        formulas=used,
        found=len(in_body),
        mathml_failures=recovery.failures,
        rescued_blocks=rescued,
        kinds=kinds,
    )
