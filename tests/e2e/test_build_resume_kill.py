"""`sciloom build` killed with SIGKILL after its first stages resumes and ends as if never stopped.

A generated corpus (bench/scale_corpus.py: math prose, templated exercises, planted duplicates and
contamination) and a MetaMathQA-style prompt source go through every stage twice: once without
interruption, once in a subprocess whose whole process group gets `kill -9` as soon as the filter
stage's manifest exists, then rerun. The rerun must skip the finished stages (their shards and
completion markers are not rewritten) and end with the same per-stage counts and shard hashes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sciloom.corpus.cli.main import main
from sciloom.manifests.schema import read_manifest_dict

REPO = Path(__file__).resolve().parents[2]
DOCS = 400


def _scale_corpus():
    # The generator lives with the benchmark that runs it at 10^4-10^6 documents (bench/ is not
    # a package); loaded by path so test and benchmark build the same corpora.
    spec = importlib.util.spec_from_file_location("scale_corpus", REPO / "bench" / "scale_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def recipe(tmp_path_factory, shared_data) -> Path:
    sc = _scale_corpus()
    root = tmp_path_factory.mktemp("resume")
    sc.write_corpus(root / "corpus", DOCS, shards=4, seed=7)
    prompts = sc.write_prompt_rows(root / "prompts" / "metamath.jsonl", 40, contaminated=2, seed=7)
    return sc.write_recipe(root / "recipe.toml", root / "corpus", prompts, workers=1)


@pytest.fixture(scope="module")
def reference(recipe) -> Path:
    out = recipe.parent / "uninterrupted"
    assert main(["build", str(recipe), "--out", str(out), "--no-progress"]) == 0
    return out


def _stage_dirs(build: Path) -> dict[str, Path]:
    return {s["name"]: build / s["dir"] for s in read_manifest_dict(build)["stages"]}


def _files(folder: Path) -> dict[str, tuple[int, str]]:
    """relative path -> (mtime_ns, sha256) of the shards and completion markers of a stage."""
    out = {}
    for p in sorted([*folder.glob("docs/*.parquet"), *folder.glob("logs/completions/*")]):
        out[str(p.relative_to(folder))] = (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


@pytest.fixture(scope="module")
def killed_and_resumed(recipe) -> dict:
    out = recipe.parent / "killed"
    cmd = [
        sys.executable,
        "-m",
        "sciloom.corpus.cli.main",
        "build",
        str(recipe),
        "--out",
        str(out),
        "--no-progress",
    ]
    proc = subprocess.Popen(
        cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=recipe.parent
    )
    filter_manifest = out / "02-filter" / "manifest.json"
    deadline = time.monotonic() + 120
    while not filter_manifest.is_file():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the filter stage never finished"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the build and its datatrove worker processes
    proc.wait()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "manifest.json").exists()
    finished = {name: _files(out / name) for name in ("01-extract-web", "02-filter")}
    assert main(["build", str(recipe), "--out", str(out), "--no-progress"]) == 0
    return {"out": out, "finished": finished}


def test_a_killed_build_reruns_without_redoing_its_finished_stages(killed_and_resumed):
    out = killed_and_resumed["out"]
    for name, before in killed_and_resumed["finished"].items():
        assert any(k.startswith("logs/completions/") for k in before), name
        assert _files(out / name) == before, f"{name} was redone"


def test_the_resumed_build_has_the_counts_and_shard_hashes_of_an_uninterrupted_one(
    killed_and_resumed, reference
):
    resumed, ref = _stage_dirs(killed_and_resumed["out"]), _stage_dirs(reference)
    assert list(resumed) == list(ref)
    for name, folder in ref.items():
        if name == "tokenizer":  # a model, not a stage folder: its hash is compared below
            continue
        a, b = read_manifest_dict(folder), read_manifest_dict(resumed[name])
        assert a["sources"] == b["sources"], name
        assert [(s["path"], s["sha256"]) for s in a["shards"]] == [
            (s["path"], s["sha256"]) for s in b["shards"]
        ]
    top_ref, top = read_manifest_dict(reference), read_manifest_dict(killed_and_resumed["out"])
    assert top["outputs"]["tokenizer_sha256"] == top_ref["outputs"]["tokenizer_sha256"]
    for suffix in ("*-tokenize/tokens/*.bin", "*-tokenize/tokens/*.idx"):
        assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in reference.glob(suffix)} == {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in killed_and_resumed["out"].glob(suffix)
        }


def test_prompt_rows_that_copy_a_test_question_never_reach_the_mix(reference):
    from sciloom.corpus.shards import read_documents, shard_files

    stages = _stage_dirs(reference)
    hits = read_manifest_dict(stages["decontam-metamath"])["extra"]["decontam"]
    assert {"gsm8k_test/0", "gsm8k_test/1"} <= {h["item"] for h in hits["hits"]}
    assert hits["hits_by_source"]["metamath"]["dropped"] >= 2
    per_source = read_manifest_dict(reference)["outputs"]["decontamination"]
    assert per_source["metamath"]["dropped"] == hits["hits_by_source"]["metamath"]["dropped"]
    assert per_source["web"]["documents_hit"] >= 1  # the corpus has planted test questions too
    mixed = [d.text for d in read_documents(shard_files(stages["mix"]))]
    test_questions = _scale_corpus()._test_questions()[:2]
    assert not any(q in t for q in test_questions for t in mixed)
