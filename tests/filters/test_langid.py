"""Language id on prose with formulas removed, score in metadata, offline model."""

from __future__ import annotations

from sciloom.corpus.record import make_document
from sciloom.filters.config import FilterConfig
from sciloom.filters.langid import LanguageFilter, identify


def test_formula_heavy_english_is_english(math500):
    text = "\n\n".join(p["solution"] for p in math500[:5])
    lang, score = identify(text)
    assert lang == "en" and score >= 0.5


def test_formulas_only_is_undetermined_and_kept():
    doc = make_document("f", r"$$\int_0^1 x^2\,dx = \frac{1}{3}$$ $$e^{i\pi}+1=0$$", "web")
    assert LanguageFilter(FilterConfig()).filter(doc) is True
    assert doc.metadata["language"] == "und"


def test_other_languages_are_dropped_unless_named():
    text = "Der Satz des Pythagoras besagt, dass in einem rechtwinkligen Dreieck $a^2+b^2=c^2$ gilt."
    doc = make_document("de", text, "web")
    assert LanguageFilter(FilterConfig()).filter(doc) == (False, "language_not_kept")
    assert doc.metadata["language"] == "de" and doc.metadata["language_score"] > 0.5
    assert (
        LanguageFilter(FilterConfig(languages=["en", "de"])).filter(make_document("de", text, "web")) is True
    )
