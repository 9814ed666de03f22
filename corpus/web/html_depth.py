"""Pages nested deeper than the HTML parser can hold: quarantined, never silently cut.

libxml2 stops building the tree at a fixed element depth (256 levels, 2048 with its `huge`
option) and drops everything after that point with only a parser warning, so a page holding
pathological markup (MathML nested 20,000 `<mrow>`s deep, a broken CMS that never closes its
`<div>`s) would come out as a short document counted as kept while most of its text is gone.
We parse with the `huge` option, which real pages never exceed, and turn the parser's depth
error into an `InputError` (reason `html_too_deep`) so that the page is quarantined with that
reason and its bytes kept.
"""

from __future__ import annotations

import lxml.html

from sciloom.corpus.errors import InputError

HTML_TOO_DEEP = "html_too_deep"


def deep_parser() -> lxml.html.HTMLParser:
    """An HTML parser whose depth limit is libxml2's largest (2048 levels)."""
    return lxml.html.HTMLParser(huge_tree=True)


def check_depth(parser: lxml.html.HTMLParser, path: str | None = None) -> None:
    """Raise InputError(html_too_deep) when `parser` had to cut the tree at its depth limit."""
    for entry in parser.error_log:
        if "Excessive depth" in entry.message:
            raise InputError(
                HTML_TOO_DEEP,
                f"elements nested deeper than the parser's limit (line {entry.line}): "
                "the text after that point would be lost",
                path=path,
            )
