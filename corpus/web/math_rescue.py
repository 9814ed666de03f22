"""Put back the blocks boilerplate removal dropped although they hold math.

trafilatura picks one main-content node; on Q&A pages, forums and journals, the answers,
comments and display equations often lie outside it. A block (paragraph, list item, table cell,
definition, quote, heading, or a `div` that directly holds text) whose formulas were all lost is
rescued unless it is hidden or sits in navigation-like chrome (`nav`, `header`, `footer`, `aside`,
`form`, or an id/class that names a menu, sidebar, related-links box, share bar, ad or cookie
banner). Rescued blocks keep page order and follow the main text.
"""

from __future__ import annotations

import re

from lxml import etree

from sciloom.corpus.web.math_recovery import TOKEN_RE
from sciloom.corpus.web.mathml import local_name

# fmt: off
BLOCKS = {
    "p", "li", "dd", "dt", "td", "th", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "div", "section",
    "article", "caption", "figcaption", "center", "tr", "table", "body",
}
# fmt: on
# fmt: off
CHROME_TAGS = {
    "nav", "header", "footer", "aside", "form", "menu", "noscript", "script", "style", "template", "select",
}
# fmt: on
CHROME = re.compile(
    r"(^|[\s_-])(nav|navbar|navigation|menu|sidebar|side-bar|related|share|sharing|social|ad|ads|advert|"
    r"banner|cookie|breadcrumbs?|footer|header|hidden|d-none|sr-only|visually-hidden|popup|modal|toolbar|"
    r"hot-network|hnq|recommend|promo|signature|post-menu|user-info|vote|votes|voting|js-voting)($|[\s_-])",
    re.I,
)
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
BREAKS = BLOCKS | {"br", "hr", "ul", "ol", "dl", "pre", "tbody", "thead"}


def _chrome_self(a: etree._Element) -> bool:
    if local_name(a) in CHROME_TAGS or a.get("hidden") is not None or a.get("aria-hidden") == "true":
        return True
    if HIDDEN_STYLE.search(a.get("style") or ""):
        return True
    return bool(CHROME.search((a.get("class") or "") + " " + (a.get("id") or "")))


def _chrome(el: etree._Element) -> bool:
    return any(_chrome_self(a) for a in (el, *el.iterancestors()))


def _block_of(el: etree._Element) -> etree._Element:
    for a in (el, *el.iterancestors()):
        if local_name(a) in BLOCKS:
            return a
    return el


def block_text(el: etree._Element) -> str:
    """Text of a block with line breaks at block boundaries (trafilatura's txt layout, roughly)."""
    out: list[str] = []

    def walk(node: etree._Element) -> None:
        name = local_name(node)
        if node is not el and isinstance(node.tag, str) and _chrome_self(node):
            if node.tail:
                out.append(node.tail)
            return
        if name in BREAKS:
            out.append("\n")
        if node.text and isinstance(node.tag, str):
            out.append(node.text)
        for child in node:
            walk(child)
        if name in BREAKS:
            out.append("\n")
        if node.tail:
            out.append(node.tail)

    walk(el)
    text = "".join(out)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r"\s*\n\s*", "\n", text).strip()


def _text_run(el: etree._Element, is_tail: bool) -> str:
    """The line a text node belongs to when its block is a big container (body, article):
    the node plus its inline neighbours up to the nearest block elements."""
    parts: list[str] = [el.tail or ""] if is_tail else [el.text or ""]
    node = el.getnext() if is_tail else (el[0] if len(el) else None)
    while node is not None and local_name(node) not in BREAKS:
        parts.append(
            block_text(node) + " " + (node.tail or "") if isinstance(node.tag, str) else node.tail or ""
        )
        node = node.getnext()
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def rescue_math_blocks(root: etree._Element, kept: set[str]) -> list[str]:
    """Texts of the visible content blocks whose formulas are all missing from `kept`, in page order."""
    chosen: list[etree._Element | str] = []
    seen: set[int] = set()
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for is_tail, where in ((False, el.text), (True, el.tail)):
            if not where or "\u27e6" not in where:
                continue
            host = el.getparent() if is_tail else el
            if host is None or not any(m.group(1) not in kept for m in TOKEN_RE.finditer(where)):
                continue
            block = _block_of(host)
            if _chrome(block):
                continue
            tokens = set(
                TOKEN_RE.findall(etree.tostring(block, encoding="unicode", method="text", with_tail=False))
            )
            if tokens & kept:
                # The block is a container whose other parts were kept: rescue only this line.
                if not any(t in kept for t in TOKEN_RE.findall(where)):
                    chosen.append(_text_run(el, is_tail))
                continue
            if id(block) not in seen:
                seen.add(id(block))
                chosen.append(block)
    # Keep the outermost of nested choices, in page order.
    chosen_ids = {id(b) for b in chosen if not isinstance(b, str)}
    out: list[str] = []
    emitted = set(kept)
    for b in chosen:
        if not isinstance(b, str) and any(id(a) in chosen_ids for a in b.iterancestors()):
            continue
        text = b if isinstance(b, str) else block_text(b)
        tokens = set(TOKEN_RE.findall(text))
        if text and not tokens & emitted:  # never write a formula (or its sentence) twice
            emitted |= tokens
            out.append(text)
    return out
