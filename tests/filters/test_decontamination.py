"""Decontamination against the shipped GSM8K/MATH test sets and user benchmark files."""

from __future__ import annotations

import random

import pytest
from jsonl_rows import write_jsonl

from sciloom.corpus.cli.main import main
from sciloom.corpus.shards import read_documents, shard_files
from sciloom.corpus.stage import StageRun
from sciloom.filters.benchmarks import builtin_benchmarks
from sciloom.filters.config import DecontamConfig
from sciloom.filters.normalize import tokens
from sciloom.filters.stage import run_decontam_stage
from sciloom.manifests.schema import load_manifest

FILLER = (
    "Welcome back to the study blog. Today we look at a few problems that readers sent in last week, "
    "with some notes on how to approach them.\n\n"
)


@pytest.fixture(scope="module")
def planted(tmp_path_factory, gsm8k_test, gsm8k_train, math500):
    rng = random.Random(1)
    g = rng.sample(range(len(gsm8k_test)), 3)
    m = [i for i in rng.sample(range(len(math500)), 40) if len(tokens(math500[i]["problem"])) >= 13][:3]
    rows = [
        {"id": "gsm_verbatim", "text": gsm8k_test[g[0]]["question"], "source": "web"},
        {
            "id": "gsm_case_ws",
            "text": "\n  ".join(gsm8k_test[g[1]]["question"].upper().split(" ")),
            "source": "web",
        },
        {
            "id": "gsm_embedded",
            "text": FILLER + gsm8k_test[g[2]]["question"] + "\n\n" + FILLER,
            "source": "web",
        },
        {"id": "math_verbatim", "text": math500[m[0]]["problem"], "source": "web"},
        {"id": "math_case_ws", "text": "   ".join(math500[m[1]]["problem"].lower().split()), "source": "web"},
        {"id": "math_embedded", "text": FILLER + math500[m[2]]["problem"] + "\n\n" + FILLER, "source": "web"},
        {
            "id": "paper",
            "text": FILLER + math500[m[0]]["problem"] + "\n\n" + FILLER.upper(),
            "source": "arxiv",
        },
    ]
    for k, i in enumerate(rng.sample(range(len(gsm8k_train)), 40)):
        rows.append({"id": f"train{k}", "text": gsm8k_train[i]["question"] + "\n" + gsm8k_train[i]["answer"]})
    folder = tmp_path_factory.mktemp("decontam")
    path = write_jsonl(folder / "in.jsonl", rows)
    out = folder / "out"
    manifest = run_decontam_stage([str(path)], DecontamConfig(), StageRun(name="decontam", out_dir=out))
    return {
        "rows": rows,
        "out": out,
        "manifest": manifest,
        "g": g,
        "m": [math500[i]["unique_id"] for i in m],
        "paper_problem": math500[m[0]]["problem"],
    }


def test_planted_test_problems_are_found_train_problems_left_alone(planted):
    kept = {d.id: d for d in read_documents(shard_files(planted["out"]))}
    for doc_id in (
        "gsm_verbatim",
        "gsm_case_ws",
        "gsm_embedded",
        "math_verbatim",
        "math_case_ws",
        "math_embedded",
    ):
        assert doc_id not in kept, doc_id
    assert all(f"train{k}" in kept for k in range(40))
    reasons = planted["manifest"].totals.dropped_reasons
    assert reasons == {"contaminated_gsm8k_test": 3, "contaminated_math_test": 3}


def test_arxiv_documents_lose_only_the_matching_paragraph(planted):
    paper = {d.id: d for d in read_documents(shard_files(planted["out"]))}["paper"]
    assert paper.metadata["decontam_masked_paragraphs"] == 1
    assert "study blog" in paper.text and "STUDY BLOG" in paper.text
    assert planted["paper_problem"] not in paper.text


def test_manifest_reports_which_items_were_hit_by_which_documents(planted):
    extra = planted["manifest"].extra["decontam"]
    hits = {h["item"]: h["docs"] for h in extra["hits"]}
    assert hits[f"gsm8k_test/{planted['g'][0]}"] == ["gsm_verbatim"]
    assert hits[f"math_test/{planted['m'][2]}"] == ["math_embedded"]
    assert sorted(hits[f"math_test/{planted['m'][0]}"]) == ["math_verbatim", "paper"]
    assert extra["math500_items_hit"] == 3
    assert extra["documents_dropped"] == 6 and extra["documents_masked"] == 1
    assert extra["audit_documents"] >= 1
    assert extra["benchmarks"] == {"gsm8k_test": 1319, "math_test": 5000}


def test_builtin_sets_are_the_shipped_copies_with_math500_tagged(problems_dir):
    items = builtin_benchmarks()
    assert sum(i.benchmark == "gsm8k_test" for i in items) == 1319
    assert sum("math500" in i.tags for i in items) == 500


def test_short_math_questions_are_matched_whole(tmp_path, math500):
    short = next(p for p in math500 if 8 <= len(tokens(p["problem"])) < 13)
    path = write_jsonl(
        tmp_path / "in.jsonl", [{"id": "s", "text": FILLER + short["problem"] + "\n\n" + FILLER}]
    )
    manifest = run_decontam_stage(
        [str(path)], DecontamConfig(), StageRun(name="decontam", out_dir=tmp_path / "o")
    )
    assert manifest.totals.dropped_reasons == {"contaminated_math_test": 1}


def test_cli_with_a_schema_agnostic_benchmark_file(tmp_path, problems_dir, gsm8k_test):
    # MetaMath's copy of GSM8K test uses query/response; check it alone, without the builtin sets.
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [{"id": "a", "text": FILLER + gsm8k_test[100]["question"]}, {"id": "b", "text": FILLER * 3}],
    )
    bench = problems_dir / "metamath" / "GSM8K_test.jsonl"
    out = tmp_path / "o"
    assert main(["decontam", str(path), "--out", str(out), "--benchmark", str(bench), "--no-builtin"]) == 0
    manifest = load_manifest(out)
    assert manifest.totals.dropped_reasons == {"contaminated_GSM8K_test": 1}
    assert manifest.extra["decontam"]["hits"] == [{"item": "GSM8K_test/101", "docs": ["a"], "kind": "ngram"}]


@pytest.fixture(scope="module")
def index():
    from sciloom.filters.benchmarks import load_benchmarks
    from sciloom.filters.decontamination import index_for

    return index_for(load_benchmarks([], True), DecontamConfig())


def test_whole_gsm8k_train_set_is_left_alone_but_for_its_known_test_twins(index, gsm8k_train):
    items = builtin_benchmarks()
    texts = [r["question"] + "\n" + r["answer"] for r in gsm8k_train]
    verdicts = [v for i in range(0, len(texts), 256) for v in index.lookup_batch(texts[i : i + 256])]
    hits = [(i, v.items) for i, v in enumerate(verdicts) if v.count]
    assert len(hits) <= 8  # 4 of 7473 measured: train problems whose question repeats a test question's
    for i, found in hits:
        q = tokens(gsm8k_train[i]["question"])
        train_grams = {tuple(q[k : k + 13]) for k in range(len(q) - 12)}
        for j in found:
            t = tokens(items[j].question)
            assert train_grams & {tuple(t[k : k + 13]) for k in range(len(t) - 12)}, (i, items[j].key)


def test_metamath_backward_questions_made_from_gsm8k_test_are_caught(index, problems_dir):
    import json

    with open(problems_dir / "metamath" / "GSM8K_Backward.jsonl", encoding="utf-8") as fh:
        questions = [json.loads(line)["question"] for line in fh]
    found = sum(1 for v in index.lookup_batch(questions) if v.count)
    assert found / len(questions) >= 0.95  # 1231 of 1270: one number masked, the rest verbatim
