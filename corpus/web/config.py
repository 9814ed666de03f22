"""`WebConfig`: the options of web extraction (recipe source options for a `web` source)."""

from __future__ import annotations

from dataclasses import dataclass

from sciloom.corpus.errors import RecipeError
from sciloom.corpus.web.main_content import ENGINES


@dataclass
class WebConfig:
    """How HTML pages and WARC responses become documents."""

    page_timeout_s: float = 10.0
    """Wall-clock limit per page, seconds; a page over it is quarantined (`page_timeout`).
    datatrove's Trafilatura step uses 1 s, too little for math pages (pre-pass + trafilatura take
    ~0.15 s on a 200 KB page, 10x that on pathological ones; FIELD-NOTES 2)."""

    prefilter: bool = True
    """Drop pages whose raw bytes hold no math markup at all (no MathJax/KaTeX, MathML, TeX
    delimiter, formula image, math class...) before they are parsed (`no_math_markers`,
    prefilter.py). On: a math corpus wants none of them, and on a crawl (>= 90% pages without
    math) it makes extraction ~10x faster. Off to keep every page, e.g. to build a general corpus
    or to measure the prefilter itself."""

    min_math_score: float = 0.0
    """Drop documents whose math score (0..1, math_score.py) is below this (`low_math_score`).
    0 keeps everything and only records the score, so a later recipe step decides (dolma's
    tag-then-mix)."""

    boundary_tokens: bool = False
    """Also wrap each formula in [START_INLINE_MATH]/[START_DISPLAY_MATH] tokens (corpus/markup.py)."""

    min_formula_share: float = 1.0
    """When boilerplate removal keeps less than this share (0..1) of the page's formulas, the
    math-bearing blocks it dropped are put back (math_rescue.py). 0 disables the rescue."""

    main_content: str = "resiliparse"
    """Boilerplate removal engine: "resiliparse" (C++, ~5x faster; a page whose formulas it drops
    goes through trafilatura instead, so no formula is lost) or "trafilatura" (every page;
    main_content.py)."""

    trafilatura_fast: bool = True
    """trafilatura's `fast` mode: no readability/jusText comparison (halves its time; the math
    rescue covers what the comparison would have recovered on math pages)."""

    favor_precision: bool = False
    """trafilatura's `favor_precision` (datatrove's default is True; it drops more math)."""

    include_tables: bool = True
    """trafilatura's `include_tables`: math often lives in table cells."""

    include_comments: bool = False
    """trafilatura's `include_comments` (off, as in datatrove: it costs ~10% of the time). Comment
    threads that hold formulas come back through the math rescue (`min_formula_share`). The
    resiliparse engine keeps comment sections (OpenWebMath's setting)."""

    convert_mathml: bool = True
    """Convert presentation MathML without a TeX annotation to LaTeX (mathml.py)."""

    max_page_bytes: int = 20 * 1024 * 1024
    """Pages larger than this (bytes) are quarantined (`page_too_large`) rather than parsed."""

    def __post_init__(self) -> None:
        if self.main_content not in ENGINES:
            raise RecipeError(
                f"web.main_content must be one of {', '.join(ENGINES)}, got {self.main_content!r}"
            )
        if not self.page_timeout_s > 0:
            raise RecipeError(f"web.page_timeout_s must be > 0, got {self.page_timeout_s!r}")
        if not 0.0 <= self.min_math_score <= 1.0:
            raise RecipeError(f"web.min_math_score must be in [0, 1], got {self.min_math_score!r}")
        if not 0.0 <= self.min_formula_share <= 1.0:
            raise RecipeError(f"web.min_formula_share must be in [0, 1], got {self.min_formula_share!r}")
        if self.max_page_bytes <= 0:
            raise RecipeError(f"web.max_page_bytes must be > 0, got {self.max_page_bytes!r}")
