"""Every GSM8K / MATH test item is found when re-typeset inside other text; real text is left alone.

The rewording is what copies on the web do without changing the problem: case, whitespace,
sentence punctuation, spacing around operators and LaTeX presentation (`\\,` `\\!` `\\;` `\\quad`,
`\\left(`...`\\right)`, `\\dfrac` for `\\frac`, `\\le` for `\\leq`). One index is built for the module.
"""

from __future__ import annotations

import json
import random
import re

import pytest

from sciloom.corpus.shards import read_documents, shard_files
from sciloom.corpus.stage import StageRun
from sciloom.filters.benchmarks import BenchmarkItem, builtin_benchmarks
from sciloom.filters.config import DecontamConfig
from sciloom.filters.decontam_fold import folded_tokens
from sciloom.filters.decontamination import NgramIndex, index_for
from sciloom.filters.stage import run_decontam_stage

BEFORE = (
    "Posted in Homework Help. A reader asked about this one last week, and it turned out to be a "
    "nice exercise in reading the statement carefully before computing anything.\n\n"
)
AFTER = "\n\nIf you have a cleaner solution, leave it in the comments below and we will discuss it."

_SPACES = (" ", "  ", "\n", "\t", " \n ")
_PUNCT = ".,;:!?"
_LATEX_SPACES = ("", " ", r"\,", r"\;", r"\!", r"\quad ")


def reword(text: str, seed: int) -> str:
    """`text` with its case, whitespace, punctuation and LaTeX spacing changed, problem unchanged."""
    rng = random.Random(seed)
    text = re.sub(r"\\frac(?![a-zA-Z])", lambda m: rng.choice((r"\frac", r"\dfrac", r"\tfrac")), text)
    text = re.sub(r"\\binom(?![a-zA-Z])", lambda m: rng.choice((r"\binom", r"\dbinom")), text)
    text = re.sub(r"\\leq(?![a-zA-Z])", r"\\le", text)
    # \left( ... \right) around every bracket, and spacing commands around operators.
    text = re.sub(r"(?<!\\)\(", lambda m: rng.choice(("(", r"\left(", r"\bigl(")), text)
    text = re.sub(r"(?<!\\)\)", lambda m: rng.choice((")", r"\right)", r"\Bigr)")), text)
    text = re.sub(
        r"[=+<>]", lambda m: rng.choice(_LATEX_SPACES) + m.group() + rng.choice(_LATEX_SPACES), text
    )
    # Sentence punctuation (not a TeX control symbol like \, or \;): replaced by another mark.
    text = re.sub(r"(?<!\\)[.,;:!?](?=\s|$)", lambda m: rng.choice(_PUNCT), text)
    words = []
    for word in text.split(" "):
        style = rng.random()
        words.append(word.upper() if style < 0.3 else word.lower() if style < 0.6 else word)
    return "".join(w + rng.choice(_SPACES) for w in words).strip()


def test_reword_changes_the_text_but_not_its_folded_tokens():
    q = r"Find $x$ if $\frac{x}{2} + (x-1) \leq 3$, where $x>0$."
    variants = {reword(q, s) for s in range(20)}
    assert len(variants) == 20 and q not in variants
    assert all(folded_tokens(v) == folded_tokens(q) for v in variants)


@pytest.fixture(scope="module")
def items() -> list[BenchmarkItem]:
    return builtin_benchmarks()


@pytest.fixture(scope="module")
def index(items) -> NgramIndex:
    return index_for(items, DecontamConfig())


def _found(index: NgramIndex, texts: list[str]) -> list:
    return [m for i in range(0, len(texts), 512) for m in index.lookup_batch(texts[i : i + 512])]


def _embedded(questions: list[str]) -> list[str]:
    return [BEFORE + reword(q, seed) + AFTER for seed, q in enumerate(questions)]


def test_every_shared_gsm8k_test_question_is_found_reworded_in_a_page(index, items, gsm8k_test):
    keys = {it.key: k for k, it in enumerate(items)}
    verdicts = _found(index, _embedded([r["question"] for r in gsm8k_test]))
    missed = [i for i, m in enumerate(verdicts) if keys[f"gsm8k_test/{i}"] not in m.items]
    assert missed == [], [gsm8k_test[i]["question"] for i in missed[:5]]


def test_every_shared_math500_problem_is_found_reworded_in_a_page(index, items, math500):
    keys = {it.key: k for k, it in enumerate(items)}
    verdicts = _found(index, _embedded([r["problem"] for r in math500]))
    missed = [
        r["unique_id"]
        for r, m in zip(math500, verdicts)
        if keys[f"math_test/{r['unique_id']}"] not in m.items
    ]
    assert missed == []
    # the shortest ones ("Evaluate $\log_264$.") by containment, and reported as such
    short = [
        (r, m) for r, m in zip(math500, verdicts) if len(folded_tokens(r["problem"])) < DecontamConfig().ngram
    ]
    assert len(short) == 35  # of the 500 MATH-500 problems
    assert all(keys[f"math_test/{r['unique_id']}"] in m.contained for r, m in short)


def test_every_shipped_item_is_found_but_the_documented_too_short_ones(index, items):
    verdicts = _found(index, _embedded([it.question for it in items]))
    unmatched = set(index.unmatchable)
    missed = [k for k, m in enumerate(verdicts) if k not in m.items and k not in unmatched]
    assert missed == [], [items[k].question for k in missed[:5]]
    # Below the containment minimum (12 characters of folded tokens) there are only these three
    # MATH test problems, none of MATH-500 or GSM8K (docs/filters.md lists them).
    assert sorted(" ".join(folded_tokens(items[k].question)) for k in unmatched) == [
        "expand x + 5 ^ 2",
        "find 14 6 + 2 15",
        "find 2 4 \\div 6",
    ]
    assert not any("math500" in items[k].tags or items[k].benchmark == "gsm8k_test" for k in unmatched)


def test_a_question_below_the_containment_minimum_does_not_hit_ordinary_text():
    toy = [
        BenchmarkItem("toy", "0", "What is 2+2?"),
        BenchmarkItem("toy", "1", "Determine the remainder of 54 (mod 6)."),
    ]
    index = index_for(toy, DecontamConfig(builtin=False, benchmarks=["unused.jsonl"]))
    assert index.unmatchable == [0]
    ordinary = "My daughter asked me what is 2 + 2, and then whether 54 is even."
    copied = BEFORE + "DETERMINE the remainder of 54\n(mod 6)!" + AFTER
    assert index.lookup(ordinary).count == 0
    assert index.lookup(copied).contained == {1}
    # the same words with another number are another problem
    assert index.lookup(copied.replace("54", "55")).count == 0


@pytest.fixture(scope="module")
def real_text(tmp_path_factory, shared_data, gsm8k_train) -> dict:
    """Real non-benchmark text: the arXiv papers and math web pages of ../shared/data, extracted
    by the real stages, and GSM8K train (question + worked answer), through the decontam stage."""
    from sciloom.corpus.arxiv.config import ArxivConfig
    from sciloom.corpus.arxiv.stage import run_arxiv_stage
    from sciloom.corpus.inputs import resolve_inputs
    from sciloom.corpus.web.config import WebConfig
    from sciloom.corpus.web.stage import run_web_stage

    root = tmp_path_factory.mktemp("realtext")
    arxiv = resolve_inputs([str(shared_data / "arxiv-src" / d) for d in ("papers", "good")])
    run_arxiv_stage(arxiv, ArxivConfig(), StageRun(name="arxiv", out_dir=root / "arxiv"), source="arxiv")
    web = resolve_inputs([str(shared_data / "web-math" / d) for d in ("pages", "pages-extra")])
    run_web_stage(web, WebConfig(), StageRun(name="web", out_dir=root / "web"), source="web")
    train = root / "train.jsonl"
    with open(train, "w", encoding="utf-8") as fh:
        for i, r in enumerate(gsm8k_train):
            row = {"id": f"train{i}", "text": r["question"] + "\n" + r["answer"], "source": "gsm8k_train"}
            fh.write(json.dumps(row) + "\n")
    inputs = [str(f) for d in ("arxiv", "web") for f in shard_files(root / d)] + [str(train)]
    manifest = run_decontam_stage(inputs, DecontamConfig(), StageRun(name="decontam", out_dir=root / "out"))
    return {"manifest": manifest, "out": root / "out"}


def test_real_papers_and_web_pages_keep_every_document(real_text):
    sources = real_text["manifest"].sources
    for name in ("arxiv", "web"):
        c = sources[name].docs
        assert c["in"] >= (15 if name == "arxiv" else 20), name
        assert c["kept"] == c["in"], (name, sources[name].dropped_reasons)
    assert real_text["manifest"].extra["decontam"]["hits_by_source"].keys() <= {"gsm8k_train"}


def test_gsm8k_train_loses_only_its_known_test_twins(real_text):
    c = real_text["manifest"].sources["gsm8k_train"].docs
    assert c["in"] == 7473
    # 4 train questions repeat a GSM8K test question (13-gram shared); containment adds none
    assert c["in"] - c["kept"] <= 8
    extra = real_text["manifest"].extra["decontam"]
    assert extra["documents_hit_by_kind"]["containment"] == 0
    kept = sum(1 for _ in read_documents(shard_files(real_text["out"])))
    assert kept == real_text["manifest"].totals.docs["kept"]
