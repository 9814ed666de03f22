"""The math-aware normalisation: numpy batch tokeniser == regex reference; digits and TeX kept."""

from __future__ import annotations

import numpy as np
from datatrove.utils.text import TextNormConfig, simplify_text

from sciloom.filters.normalize import ngram_hashes, token_hash, token_hashes, tokens


def test_numpy_tokeniser_matches_regex_reference_on_real_problems(gsm8k_train, math500):
    texts = [r["question"] + "\n" + r["answer"] for r in gsm8k_train[:300]]
    texts += [r["problem"] + "\n" + r["solution"] for r in math500[:300]]
    unicode = ["", "   ", "\\", "x\\-y", "it’s — “quoted” − 5 × 3", "Ünïcode 中文 naïve", "a\x00b"]
    ascii_only = [t for t in texts if t.isascii()]
    assert len(ascii_only) > 100  # the pure-ASCII batch takes the numpy lower-casing path
    for batch in (texts + unicode, ascii_only, ["A\x00B", "C"]):
        hashes, offsets = token_hashes(batch)
        assert len(offsets) == len(batch) + 1
        for i, text in enumerate(batch):
            expected = [token_hash(t) for t in tokens(text.replace("\x00", " "))]
            assert hashes[offsets[i] : offsets[i + 1]].tolist() == expected, text[:80]


def test_tokens_keep_digits_tex_commands_and_operators():
    assert tokens(r"$\frac{a^2+b^2}{c_1}$") == ["\\frac", "a", "^", "2", "+", "b", "^", "2", "c", "1"]
    assert tokens("Solve 3x + 5 = 11.") == ["solve", "3x", "+", "5", "=", "11"]
    assert tokens("The   SAME\ttext") == tokens("the same text")


def test_formulas_that_datatrove_normalises_together_stay_apart():
    a, b = r"\frac{a^2+b^2}{c_1}", r"\frac{a^3-b^3}{c_9}"
    # datatrove's default normalisation maps digits to 0 and strips punctuation: identical.
    assert simplify_text(a, TextNormConfig()) == simplify_text(b, TextNormConfig())
    assert tokens(a) != tokens(b)


def test_ngram_hashes_are_position_sensitive_and_short_documents_get_one_shingle():
    h, o = token_hashes(["a b c d e f", "f e d c b a", "x y"])
    grams, goff = ngram_hashes(h, o, 5, short=True)
    assert np.diff(goff).tolist() == [2, 2, 1]
    assert not set(grams[0:2].tolist()) & set(grams[2:4].tolist())
    grams, goff = ngram_hashes(h, o, 5, short=False)
    assert np.diff(goff).tolist() == [2, 2, 0]
