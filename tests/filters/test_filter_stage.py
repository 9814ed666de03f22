"""Default filters on real math web pages after extraction, and the light arXiv rules.

The web pages of ../shared/data/web-math go through the web extractor (`run_web_stage`) once per
module, then through `run_filter_stage` with the default `FilterConfig`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sciloom.corpus.inputs import resolve_inputs
from sciloom.corpus.record import make_document
from sciloom.corpus.shards import ParquetShardWriter, read_documents, shard_files
from sciloom.corpus.stage import StageRun
from sciloom.corpus.web.config import WebConfig
from sciloom.corpus.web.stage import run_web_stage
from sciloom.filters.config import FilterConfig
from sciloom.filters.langid import LanguageFilter
from sciloom.filters.math_text import math_stats
from sciloom.filters.quality import MathQualityFilter
from sciloom.filters.stage import run_filter_stage

CHINESE_PAGES = {"math_csdn_none_formula", "math_zhihu_custom_tag"}


def page_name(doc) -> str:
    prov = doc.metadata.get("provenance") or {}
    return Path(str(prov.get("input") or doc.metadata.get("url") or doc.id)).stem


@pytest.fixture(scope="module")
def extracted(tmp_path_factory, shared_data) -> dict[str, list]:
    web = shared_data / "web-math"
    out = tmp_path_factory.mktemp("web")
    groups = {}
    for group in ("pages", "pages-extra", "pages-negative"):
        run_web_stage(
            resolve_inputs([web / group]),
            WebConfig(prefilter=False),  # the negatives must reach the filters
            StageRun(name="extract_web", out_dir=out / group),
        )
        groups[group] = list(read_documents(shard_files(out / group)))
    groups["folder"] = out  # type: ignore[assignment]
    return groups


def verdicts(docs, config: FilterConfig) -> dict[str, tuple[bool, str | None]]:
    lang, quality = LanguageFilter(config), MathQualityFilter(config)
    out = {}
    for doc in docs:
        v = lang.filter(doc)
        if v is True:
            v = quality.filter(doc)
        out[page_name(doc)] = (True, None) if v is True else (False, v[1])
    return out


def test_default_web_filters_keep_at_least_90_percent_of_math_pages(extracted):
    config = FilterConfig()
    gt = verdicts(extracted["pages"], config)
    assert len(gt) == 15
    assert sum(k for k, _ in gt.values()) / len(gt) >= 0.9, gt
    extra = verdicts(extracted["pages-extra"], config)
    english = {**gt, **{k: v for k, v in extra.items() if k not in CHINESE_PAGES}}
    assert sum(k for k, _ in english.values()) / len(english) >= 0.9, english
    # the Chinese pages leave for the language alone (English is the default corpus language)
    assert {extra[p] for p in CHINESE_PAGES} == {(False, "language_not_kept")}


def test_naming_a_language_keeps_its_math_pages(extracted):
    extra = verdicts(extracted["pages-extra"], FilterConfig(languages=["en", "zh"]))
    assert all(extra[p] == (True, None) for p in CHINESE_PAGES), extra


def test_pages_dropped_by_default_are_dropped_for_reasons_that_hold(extracted):
    config = FilterConfig()
    docs = {
        page_name(d): d for d in extracted["pages"] + extracted["pages-extra"] + extracted["pages-negative"]
    }
    everything = verdicts(docs.values(), config)
    for name, (keep, reason) in everything.items():
        if keep:
            continue
        doc = docs[name]
        if reason == "no_math":
            assert not math_stats(doc.text).has_math, name
        elif reason == "gopher_short_doc":
            assert len(doc.text.split()) < config.min_words, name
        else:
            assert reason == "language_not_kept" and doc.metadata["language"] != "en", (name, reason)
    negatives = verdicts(extracted["pages-negative"], config)
    assert negatives and all(v == (False, "no_math") for v in negatives.values()), negatives


def test_filter_stage_counts_every_drop_by_reason(tmp_path, extracted):
    folder = tmp_path / "in"
    writer = ParquetShardWriter(folder, "extract_web")
    list(writer.process(iter(extracted["pages"] + extracted["pages-negative"]), 0, 1))
    manifest = run_filter_stage(
        [str(p) for p in shard_files(folder)], FilterConfig(), StageRun("filter", tmp_path / "o")
    )
    t = manifest.totals
    assert t.docs["in"] == 18 and t.docs["in"] == t.docs["kept"] + t.docs["dropped"]
    assert t.dropped_reasons["no_math"] == 3
    assert manifest.extra["filters"]["langid"]["model"].startswith("lid.176")
    kept = list(read_documents(shard_files(tmp_path / "o")))
    assert all(d.metadata["language"] == "en" and d.metadata["language_score"] >= 0.5 for d in kept)


def test_repetitive_spam_is_still_dropped():
    config = FilterConfig()
    para = "Buy cheap essays online, the best essay writing service for students, order now and save."
    text = "\n\n".join([para] * 12) + "\n\nThe area is $\\pi r^2$ for a circle of radius $r$."
    doc = make_document("spam", text, "web")
    doc.metadata["language"] = "en"
    verdict = MathQualityFilter(config).filter(doc)
    assert verdict is not True and verdict[1].startswith(("dup_", "duplicated_", "top_"))


def test_arxiv_rules_are_light_on_real_latex(shared_data):
    text = (shared_data / "arxiv-src" / "papers" / "edo-paper-flattened.tex").read_text(errors="replace")
    quality = MathQualityFilter(FilterConfig())
    assert quality.filter(make_document("p", text, "arxiv")) is True
    # the same LaTeX as a web page would be judged by the web rules
    assert quality.arxiv_rules("\\hline & & \\\\ " * 10) == (False, "arxiv_too_short")
    junk = "%%%% {{{{ }}}} ^^^^ ____ " * 100
    assert quality.arxiv_rules(junk) == (False, "arxiv_non_alnum")


def test_cli_filter_on_an_extracted_stage_folder(tmp_path, extracted):
    from sciloom.corpus.cli.main import main
    from sciloom.manifests.schema import load_manifest

    out = tmp_path / "filtered"
    assert main(["filter", str(extracted["folder"] / "pages-negative"), "--out", str(out)]) == 0
    assert load_manifest(out).totals.dropped_reasons == {"no_math": 3}
    assert (
        main(
            [
                "filter",
                str(extracted["folder"] / "pages-negative"),
                "--out",
                str(tmp_path / "b"),
                "--no-require-math",
            ]
        )
        == 0
    )
    assert load_manifest(tmp_path / "b").totals.docs["dropped"] < 3
