"""MinHash on a generated corpus with planted near-duplicates and templated exercises.

Base documents are built from real GSM8K train sentences; each planted variant is its base with
a fraction of its words replaced, which spreads the true Jaccard similarity of the 5-gram shingle
sets over 0.3-0.98. Pairs are judged by their exact Jaccard on `normalize.tokens` shingles.
"""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from datatrove.utils.text import TextNormConfig, simplify_text

from sciloom.filters.dedup_clusters import decide
from sciloom.filters.minhash import (
    MinhashParams,
    fingerprints,
    fingerprints_numpy,
    signature_similarity,
    signatures,
)
from sciloom.filters.normalize import tokens
from sciloom.filters.signature_table import SignatureTable

PARAMS = MinhashParams()


def shingle_set(text: str, n: int = 5) -> set[tuple[str, ...]]:
    t = tokens(text)
    return {tuple(t[i : i + n]) for i in range(max(1, len(t) - n + 1))}


def jaccard(a: str, b: str) -> float:
    sa, sb = shingle_set(a), shingle_set(b)
    return len(sa & sb) / len(sa | sb)


@pytest.fixture(scope="module")
def corpus(gsm8k_train):
    rng = random.Random(7)
    sentences = [
        s.strip() for r in gsm8k_train for s in re.split(r"(?<=[.?!])\s+", r["question"]) if len(s) > 30
    ]
    vocab = sorted({w for s in sentences[:5000] for w in s.split()})
    bases = [" ".join(rng.sample(sentences, 14)) for _ in range(500)]
    docs, ids, pairs = [], [], []
    for i, base in enumerate(bases):
        docs.append(base)
        ids.append(f"base{i:04d}")
    for i, base in enumerate(bases[:400]):
        words = base.split()
        rate = rng.uniform(0.0, 0.12)
        variant = [rng.choice(vocab) if rng.random() < rate else w for w in words]
        docs.append(" ".join(variant))
        ids.append(f"var{i:04d}")
        pairs.append((i, len(docs) - 1))
    return docs, ids, pairs


@pytest.fixture(scope="module")
def decisions(corpus):
    docs, ids, _ = corpus
    table = SignatureTable(
        ids,
        np.asarray([len(d) for d in docs]),
        np.arange(len(docs), dtype=np.int64),
        signatures(docs, PARAMS),
    )
    return decide(table, PARAMS, exact=False, near=True)


def cluster_of(decisions) -> dict[str, str]:
    out = {}
    for c in decisions.clusters:
        for m in c["members"]:
            out[m] = c["kept"]
    return out


def test_planted_pairs_cover_the_jaccard_range(corpus):
    docs, _, pairs = corpus
    js = [jaccard(docs[a], docs[b]) for a, b in pairs]
    assert min(js) < 0.5 and max(js) > 0.95
    assert sum(j >= 0.8 for j in js) >= 60 and sum(j < 0.5 for j in js) >= 60


def test_recall_at_jaccard_080_and_false_positive_rate_below_050(corpus, decisions):
    docs, ids, pairs = corpus
    cluster = cluster_of(decisions)

    def merged(a: int, b: int) -> bool:
        return ids[a] in cluster and cluster.get(ids[a]) == cluster.get(ids[b])

    high = [(a, b) for a, b in pairs if jaccard(docs[a], docs[b]) >= 0.8]
    low = [(a, b) for a, b in pairs if jaccard(docs[a], docs[b]) < 0.5]
    recall = sum(merged(a, b) for a, b in high) / len(high)
    assert recall >= 0.95, recall
    # below 0.5: the planted pairs plus every pair of distinct bases (all unrelated)
    rng = random.Random(3)
    unrelated = [(a, b) for a, b in (rng.sample(range(500), 2) for _ in range(20000))]
    low_all = low + unrelated
    fp = sum(merged(a, b) for a, b in low_all) / len(low_all)
    assert fp <= 0.01, fp


def test_signature_similarity_is_an_unbiased_jaccard_estimate(corpus):
    docs, _, pairs = corpus
    sigs = signatures(docs, PARAMS)
    errors = [signature_similarity(sigs[a], sigs[b]) - jaccard(docs[a], docs[b]) for a, b in pairs[:200]]
    assert abs(float(np.mean(errors))) < 0.01
    assert float(np.mean(np.abs(errors))) < 0.05  # 128 hashes: sd <= 0.044


def test_same_template_with_different_numbers_is_not_merged():
    rng = random.Random(11)
    pages = []
    for _ in range(30):
        lines = ["Worksheet: linear equations. Solve each equation for x and check your answer."]
        for k in range(1, 16):
            a, b, c = rng.randint(2, 19), rng.randint(1, 99), rng.randint(100, 400)
            lines.append(f"Exercise {k}. Solve ${a}x + {b} = {c}$ for $x$. Answer: $x = {(c - b) / a:.2f}$.")
        pages.append("\n".join(lines))
    # datatrove's digit normalisation would make these one document.
    assert len({simplify_text(p, TextNormConfig()) for p in pages}) == 1
    table = SignatureTable(
        [f"p{i}" for i in range(len(pages))],
        np.asarray([len(p) for p in pages]),
        np.arange(len(pages), dtype=np.int64),
        signatures(pages, PARAMS),
    )
    assert decide(table, PARAMS, exact=True, near=True).clusters == []


def test_cluster_keeps_the_longest_document_and_records_size():
    base = " ".join(f"word{i} is here" for i in range(120))
    longer = base + " and one more sentence at the end"
    table = SignatureTable(
        ["b", "a"],
        np.asarray([len(base), len(longer)]),
        np.asarray([1, 2]),
        signatures([base, longer], PARAMS),
    )
    d = decide(table, PARAMS, exact=True, near=True)
    assert d.by_id() == {"b": ("near_duplicate", "a", 2)}


EDGE_TEXTS = [
    "",
    "   ",
    "x",
    "a b",
    "Four words only here",
    "x\u2212y = a\u00d7b \u00f7 c \u2013 d\u2014e \u201cquoted\u201d it\u2019s\u2026 \u00a0nbsp",
    "\\frac{a^2+b^2}{c_1} \\\\ \\alpha\\beta x_{10}^{-3} <= 7*8/9",
    "caf\u00e9 na\u00efve \u00fcber stra\u00dfe \u4e2d\u6587 \U0001d465 \U0001f600 emoji",
    "NUL\x00inside a text, two\x00NULs",
    "lone \ud800 surrogate and \u00e2\u0080 stray bytes \u00c2 \u00c3",
]
UPPER_TEXTS = [
    "\u00c9t\u00e9 \u00c0 PARIS",
    "\u03a3 \u03c3 \u039f\u03a3 final sigma \u0394x",
    "\u0130stanbul \u212a",
]


def _assert_same(texts: list[str]) -> None:
    fast, ref = fingerprints(texts, PARAMS), fingerprints_numpy(texts, PARAMS)
    for got, want in zip(fast, ref):
        assert got.dtype == want.dtype and np.array_equal(got, want)


def test_compiled_fingerprints_equal_the_numpy_reference_on_real_text(gsm8k_train, math500, shared_data):
    gsm = [r["question"] + "\n" + r["answer"] for r in gsm8k_train[:1500]]
    math = [r["problem"] + "\n" + r["solution"] for r in math500]
    web = [
        line
        for path in sorted((shared_data / "web-math" / "groundtruth").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    assert any(not t.isascii() for t in gsm) and web
    for corpus in (gsm, math, web):
        for s in range(0, len(corpus), 256):
            _assert_same(corpus[s : s + 256])


def test_compiled_fingerprints_equal_the_numpy_reference_on_edge_cases():
    for text in EDGE_TEXTS + UPPER_TEXTS:
        _assert_same([text])
    _assert_same(EDGE_TEXTS)  # the batch stays on the plain UTF-8 path
    _assert_same(EDGE_TEXTS + UPPER_TEXTS)  # one upper-case non-ASCII character: normalised in Python
    _assert_same([])
    _assert_same(
        ["\u039f\u03a3", "\u03a3\u0391 x", "plain \u2019 text", "\u0410 cyrillic"]
    )  # per-document path
    for n in (3, 5, 9):
        params = MinhashParams(ngram=n, num_bands=4, rows_per_band=5, seed=n)
        for got, want in zip(fingerprints(EDGE_TEXTS, params), fingerprints_numpy(EDGE_TEXTS, params)):
            assert np.array_equal(got, want)


def test_fingerprints_of_an_arrow_column_equal_those_of_its_strings(gsm8k_train):
    import pyarrow as pa

    from sciloom.filters.minhash import fingerprints_arrow

    # Arrow strings are valid UTF-8: the lone surrogate of EDGE_TEXTS cannot be in a column
    texts = [r["question"] for r in gsm8k_train[:600]] + [t for t in EDGE_TEXTS if "\ud800" not in t]
    for kind in (pa.string(), pa.large_string()):
        column = pa.array(texts, type=kind)
        for s in (0, 100, 590):  # slices keep an offset into the shared buffers
            _same_arrays(
                fingerprints_arrow(column[s : s + 256], PARAMS), fingerprints(texts[s : s + 256], PARAMS)
            )
    cased = pa.array(texts[:5] + UPPER_TEXTS, type=pa.large_string())  # falls back to Python strings
    _same_arrays(fingerprints_arrow(cased, PARAMS), fingerprints_numpy(texts[:5] + UPPER_TEXTS, PARAMS))
    nulls = pa.array(["a b c d e f", None, "x"], type=pa.large_string())
    _same_arrays(fingerprints_arrow(nulls, PARAMS), fingerprints_numpy(["a b c d e f", "", "x"], PARAMS))


def _same_arrays(got, want) -> None:
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and np.array_equal(g, w)
