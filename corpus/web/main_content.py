"""Boilerplate removal: the page tree with math placeholders -> its main text.

Two engines, chosen by `WebConfig.main_content`:

- `resiliparse` (default): resiliparse's `extract_plain_text(main_content=True)`, C++ on the
  Lexbor DOM, OpenWebMath's extractor. It takes ~3 ms on a 170 KB math page where trafilatura
  2.3.1 in fast mode takes ~16 ms, over half of the whole extraction (profile in bench/RESULTS.md,
  web section). The tree is serialised once (~1 ms) and re-parsed by Lexbor; lxml stays the tree
  the math passes work on, because they need XPath and in-place edits that Lexbor lacks.
- `trafilatura`: trafilatura's `extract` in txt mode (its Markdown mode escapes TeX, FIELD-NOTES 2).

resiliparse's heuristics are coarser, so it is used only where its choice can be checked by the
page's formulas: its text must hold at least `RESILIPARSE_MIN_SHARE` of the formulas found in the
page body. Then the few it dropped come back through the math rescue (math_rescue.py), as after
trafilatura. Where it holds fewer (it missed the main block: on a 700 KB Wikipedia page it
returns nothing), and on pages without formulas (nothing to check it by: it takes a news page's
list of links for the article), the page goes through trafilatura instead. Measured on the
shared web-math pages, resiliparse keeps as many formulas as trafilatura or more on every page
where it is used (stackexchange: 69 of 70, trafilatura 47), so the fast path costs no formula.
"""

from __future__ import annotations

from lxml import etree

RESILIPARSE = "resiliparse"
TRAFILATURA = "trafilatura"
ENGINES = (RESILIPARSE, TRAFILATURA)
# Share of the page's formulas resiliparse's text must hold to be used (below: trafilatura).
RESILIPARSE_MIN_SHARE = 0.9


def trafilatura_text(root: etree._Element, opts) -> str:
    """trafilatura's main text of `root` (which it prunes in place)."""
    import trafilatura

    text = trafilatura.extract(
        root,
        output_format="txt",
        favor_precision=opts.favor_precision,
        favor_recall=opts.favor_recall,
        include_tables=opts.include_tables,
        include_comments=opts.include_comments,
        include_images=False,
        include_links=False,
        deduplicate=False,
        with_metadata=False,
        fast=opts.fast,
    )
    return text or ""


def resiliparse_text(root: etree._Element) -> str:
    """resiliparse's main text of `root` (left unchanged).

    Comment sections are kept (`comments=True`, OpenWebMath's setting): on math Q&A pages they
    hold formulas, which the trafilatura path only gets back through the rescue. Form fields, link
    targets, alt texts and `<noscript>` are left out: formula images were already turned into
    placeholders, and what remains in `alt` is decoration.
    """
    from resiliparse.extract.html2text import extract_plain_text

    html = etree.tostring(root, encoding="unicode", method="html")
    return extract_plain_text(
        html,
        preserve_formatting=True,
        main_content=True,
        list_bullets=True,
        alt_texts=False,
        links=False,
        form_fields=False,
        noscript=False,
        comments=True,
    )
