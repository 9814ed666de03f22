"""Math-aware quality rules, per source kind; every drop has a reason.

arXiv LaTeX gets light rules only (a paper is edited text; most web heuristics misfire on
LaTeX): length, repeated lines, and the share of characters that are neither alphanumeric nor
whitespace (`arxiv_*` reasons, ours: no datatrove filter measures these on LaTeX).

Web pages get the Gopher rules (Rae et al. 2021, Table A1), run through datatrove's own
`GopherQualityFilter` and `GopherRepetitionFilter` (their reasons, `gopher_*`, `dup_*`,
`top_*_gram`, `duplicated_*_n_grams`, are kept as they are) but fed the views of `math_text`:

- quality rules read `prose_view` (each formula one placeholder word): with raw text, Gopher's
  alphabetic-word ratio kept 3 of 22 real math pages (FIELD-NOTES 3); masked, a formula neither
  shortens nor pollutes the prose. The alphabetic ratio is re-tuned to 0.5 (tables of numbers
  are content on math pages); stop words count only where LID said English.
- repetition rules read `repetition_view` (formulas and lines left empty removed), so display
  equations do not count as duplicated lines.
- datatrove's word tokenizer for English is spaCy (not installed, 10x slower): ours splits words
  and punctuation runs with one regex, which is what the Gopher rules count.

FineWeb's and C4's line rules are not used: terminal-punctuation and short-line ratios are
meaningless on pages whose lines are display formulas (C4 kept 1 of 22 math pages), and its
curly-bracket rule drops every page with TeX. A web page must also carry math at all
(`no_math`; FilterConfig.require_math_web): a math corpus's web source is math pages.
"""

from __future__ import annotations

import re

from datatrove.data import Document
from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter
from datatrove.utils.word_tokenizers import WordTokenizer

from sciloom.corpus.record import source_of
from sciloom.corpus.step import SciloomFilter
from sciloom.filters.config import FilterConfig
from sciloom.filters.langid import matches
from sciloom.filters.math_text import math_stats, prose_view, repetition_view

EMPTY_TEXT = "empty_text"
NO_MATH = "no_math"
ARXIV_TOO_SHORT = "arxiv_too_short"
ARXIV_NON_ALNUM = "arxiv_non_alnum"
ARXIV_REPEATED_LINES = "arxiv_repeated_lines"
MIN_REPEAT_LINE_CHARS = 20  # `\hline`, `\\`, `}` repeat in every table; only real lines count
MIN_LINES_FOR_REPEAT = 10
UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo"})

_WORD_RE = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]+")


def dup_ngram_thresholds(at5: float, at10: float) -> tuple[tuple[int, float], ...]:
    """Gopher's duplicated n-gram limits for n = 5..10, linear from `at5` to `at10`."""
    return tuple((n, round(at5 + (at10 - at5) * (n - 5) / 5, 4)) for n in range(5, 11))


class ProseWordTokenizer(WordTokenizer):
    """Words and punctuation runs, by one regex (stands in for spaCy in datatrove's Gopher rules)."""

    def __init__(self) -> None:
        super().__init__("prose")

    def word_tokenize(self, text: str) -> list[str]:
        return _WORD_RE.findall(text)

    def sent_tokenize(self, text: str) -> list[str]:
        return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in re.finditer(r"[^\n]+", text)]


class MathQualityFilter(SciloomFilter):
    name = "math_quality"

    def __init__(self, config: FilterConfig) -> None:
        super().__init__()
        self.config = config
        self._gopher: dict[str, GopherQualityFilter] = {}
        self._repetition: GopherRepetitionFilter | None = None

    def gopher(self, language: str | None) -> GopherQualityFilter:
        """Gopher rules for the detected language: stop words only for English; no word-count or
        word-length rules for scripts written without spaces (a Chinese sentence is one "word")."""
        kind = "en" if language == "en" else ("unspaced" if language in UNSPACED_LANGUAGES else "spaced")
        if kind not in self._gopher:
            c = self.config
            spaced = kind != "unspaced"
            self._gopher[kind] = GopherQualityFilter(
                min_doc_words=c.min_words if spaced else None,
                max_doc_words=c.max_words if spaced else None,
                min_avg_word_length=3 if spaced else None,
                max_avg_word_length=10 if spaced else None,
                max_symbol_word_ratio=c.max_symbol_word_ratio,
                max_bullet_lines_ratio=c.max_bullet_lines,
                max_ellipsis_lines_ratio=c.max_ellipsis_lines,
                # datatrove's name is inverted: it is the minimum share of words with a letter.
                max_non_alpha_words_ratio=1.0 - c.max_non_alpha_words,
                min_stop_words=c.min_stop_words if kind == "en" else None,
                language=ProseWordTokenizer(),
            )
        return self._gopher[kind]

    @property
    def repetition(self) -> GopherRepetitionFilter:
        if self._repetition is None:
            c = self.config
            self._repetition = GopherRepetitionFilter(
                dup_line_frac=c.max_duplicate_line_fraction,
                dup_line_char_frac=c.max_duplicate_line_char_fraction,
                top_n_grams=((2, c.max_top_2gram_fraction), (3, 0.18), (4, 0.16)),
                dup_n_grams=dup_ngram_thresholds(
                    c.max_duplicate_5gram_fraction, c.max_duplicate_10gram_fraction
                ),
                language=ProseWordTokenizer(),
            )
        return self._repetition

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        source = source_of(doc)
        if matches(source, self.config.skip_sources):
            return True
        if not doc.text.strip():
            return False, EMPTY_TEXT
        stats = math_stats(doc.text)
        doc.metadata["math_formulas"] = stats.num_formulas
        doc.metadata["math_char_fraction"] = round(stats.math_chars / max(1, len(doc.text)), 4)
        if matches(source, self.config.arxiv_sources):
            return self.arxiv_rules(doc.text)
        return self.web_rules(doc, stats.has_math)

    def arxiv_rules(self, text: str) -> bool | tuple[bool, str]:
        c = self.config
        if len(text) < c.arxiv_min_chars:
            return False, ARXIV_TOO_SHORT
        non_alnum = sum(1 for ch in text if not ch.isalnum() and not ch.isspace())
        if non_alnum / len(text) > c.max_non_alnum_fraction:
            return False, ARXIV_NON_ALNUM
        lines = [line.strip() for line in text.split("\n") if len(line.strip()) >= MIN_REPEAT_LINE_CHARS]
        if len(lines) >= MIN_LINES_FOR_REPEAT:
            repeats = len(lines) - len(set(lines))
            if repeats / len(lines) > c.max_line_repeat_fraction:
                return False, ARXIV_REPEATED_LINES
        return True

    def web_rules(self, doc: Document, has_math: bool) -> bool | tuple[bool, str]:
        if self.config.require_math_web and not has_math:
            return False, NO_MATH
        verdict = self.gopher(doc.metadata.get("language")).filter(
            Document(text=prose_view(doc.text), id=doc.id)
        )
        if verdict is not True:
            return verdict
        rep_text = repetition_view(doc.text)
        if rep_text.strip():
            verdict = self.repetition.filter(Document(text=rep_text, id=doc.id))
            if verdict is not True:
                return verdict
        return True
