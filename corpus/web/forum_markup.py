"""Forum BBCode math that the forum software wrapped as inline code.

Markup family: XenForo, vBulletin and phpBB boards store `[tex]`, `[itex]`, `[math]`, `[latex]`
and `[imath]` BBCode (any letter case) and, when their math add-on is off or the post was
quoted, render it as inline code: `<code class="bbCodeInline">[itex]\\sqrt{2}[/itex]</code>`.
The raw-TeX text pass skips `<code>` (a `$` in code is never math), so this pass looks inside
inline `<code>` elements for BBCode math only. BBCode math left raw in the text (`... so
[tex]x^2[/tex] holds`) is found by the text pass itself (tex_delimiters.BBCODE).
"""

from __future__ import annotations

from lxml import etree

from sciloom.corpus.web.tex_delimiters import BBCODE, DelimiterConfig, TexSpan, find_tex

BBCODE_ONLY = DelimiterConfig(delimiters=list(BBCODE), dollar="off")


def bbcode_in_code(root: etree._Element) -> list[tuple[etree._Element, str, list[TexSpan]]]:
    """`(code element, its text, BBCode math spans)` for every inline `<code>` holding BBCode math
    (a `<code>` inside `<pre>` is a code block, whose BBCode is an example, not math)."""
    out = []
    for el in root.xpath("//code[contains(., '[')][not(ancestor::pre)]"):
        if any(isinstance(c.tag, str) for c in el):
            continue
        text = el.text or ""
        spans = find_tex(text, BBCODE_ONLY)
        if spans:
            out.append((el, text, spans))
    return out
