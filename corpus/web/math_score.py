"""How much real mathematics a document holds: a score in [0, 1] plus the markup kinds.

Like OpenWebMath's prefilter (keep a page when it has math markup) but measured on what we
extracted, not on the page source, so MathJax loaded on a page without formulas scores 0.
Formulas are weighted by how much they say: one with a TeX command, an operator or a script
(`\\frac`, `=`, `^`) weighs 1, a bare symbol (`$x$`) 0.25. The score saturates smoothly:
`1 - exp(-weight / 4)`, so 4 real formulas give 0.63 and 10 give 0.92. The share of text inside
formulas is recorded beside it. Recipes keep math pages with `min_math_score`; the default keeps
all and only records the score (measure here, decide later).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sciloom.corpus.web.math_recovery import Formula

SUBSTANTIAL = re.compile(r"\\[A-Za-z]+|[=<>^_+\-*/]|\d\s*[A-Za-z]|[A-Za-z]\s*\d")
HALF_WEIGHT = 4.0
BINS = (0.0, 0.2, 0.4, 0.6, 0.8)


def formula_weight(f: Formula) -> float:
    return 1.0 if SUBSTANTIAL.search(f.latex) else 0.25


def math_score(formulas: Sequence[Formula], text: str) -> dict[str, Any]:
    """Score and signals for one document, stored under metadata["math"]."""
    weight = sum(formula_weight(f) for f in formulas)
    chars = sum(len(f.latex) for f in formulas)
    return {
        "score": round(1.0 - math.exp(-weight / HALF_WEIGHT), 4),
        "num_formulas": len(formulas),
        "num_display": sum(1 for f in formulas if f.display),
        "math_char_share": round(chars / max(1, len(text)), 4),
        "markup": dict(sorted(Counter(f.kind for f in formulas).items())),
    }


def score_bin(score: float) -> str:
    """Histogram bucket label of a score: "0" for no math, else "0.0-0.2" ... "0.8-1.0"."""
    if score <= 0.0:
        return "0"
    lo = max(b for b in BINS if score >= b)
    return f"{lo:.1f}-{lo + 0.2:.1f}"
