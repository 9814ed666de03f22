"""The dedup stage end to end: three modes, one answer; incremental against an index; the ledger."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from jsonl_rows import write_jsonl

from sciloom.corpus.cli.main import main
from sciloom.corpus.shards import read_documents, shard_files
from sciloom.corpus.stage import StageRun
from sciloom.filters.config import DedupConfig
from sciloom.filters.dedup_clusters import load_clusters
from sciloom.filters.stage import run_dedup_stage
from sciloom.manifests.schema import load_manifest


def clusters(out: Path) -> set[tuple[str, frozenset[str]]]:
    return {(c["kind"], frozenset(c["members"])) for c in load_clusters(out / "minhash")}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, gsm8k_train) -> list[str]:
    """3 JSONL shards: 240 base pages, near-duplicates (word edits), exact copies, chains."""
    rng = random.Random(5)
    sentences = [s for r in gsm8k_train for s in re.split(r"(?<=[.?!])\s+", r["question"]) if len(s) > 30]
    rows = []
    for i in range(240):
        base = " ".join(rng.sample(sentences, 12))
        rows.append({"id": f"d{i:03d}", "text": base, "source": "web"})
        if i % 4 == 0:  # near duplicate, ~2% of words changed
            words = base.split()
            for _ in range(max(1, len(words) // 50)):
                words[rng.randrange(len(words))] = "changed"
            rows.append({"id": f"d{i:03d}n", "text": " ".join(words), "source": "web"})
        if i % 10 == 0:  # exact copy with other whitespace
            rows.append({"id": f"d{i:03d}x", "text": base.replace(" ", "  ") + "\n", "source": "web"})
        if i % 30 == 0:  # a chain: a near duplicate of the near duplicate
            rows.append({"id": f"d{i:03d}c", "text": base + " One more line at the end.", "source": "arxiv"})
    rng.shuffle(rows)
    folder = tmp_path_factory.mktemp("dedup_in")
    return [str(write_jsonl(folder / f"part{k}.jsonl", rows[k::3])) for k in range(3)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, inputs) -> dict[str, Path]:
    out = {}
    for mode in ("local", "datatrove", "incremental"):
        folder = tmp_path_factory.mktemp(f"dedup_{mode}")
        # datatrove splits the 3 input files over 2 tasks: clusters must not depend on the split
        tasks = 2 if mode == "datatrove" else None
        run_dedup_stage(inputs, DedupConfig(mode=mode), StageRun(name="dedup", out_dir=folder, tasks=tasks))
        out[mode] = folder
    return out


def test_three_modes_return_the_same_clusters(runs):
    local = clusters(runs["local"])
    assert {k for k, _ in local} == {"exact", "near"}
    assert clusters(runs["datatrove"]) == local
    assert clusters(runs["incremental"]) == local


def test_three_modes_keep_the_same_documents(runs):
    kept = {m: sorted(d.id for d in read_documents(shard_files(p))) for m, p in runs.items()}
    assert kept["local"] == kept["datatrove"] == kept["incremental"]


def test_planted_duplicates_are_removed_and_the_ledger_balances(runs):
    manifest = load_manifest(runs["local"])
    t = manifest.totals
    assert t.docs["in"] == t.docs["kept"] + t.docs["dropped"]
    assert t.dropped_reasons["exact_duplicate"] == 24
    kept = {d.id for d in read_documents(shard_files(runs["local"]))}
    assert all(f"d{i:03d}n" not in kept or f"d{i:03d}" not in kept for i in range(0, 240, 4))
    assert not any(i.endswith("x") for i in kept)
    extra = manifest.extra["dedup"]
    assert extra["params"]["num_bands"] == 16 and extra["params"]["rows_per_band"] == 8
    assert extra["clusters"]["near"]["clusters"] >= 60
    assert {"datasketch", "datatrove", "numpy"} <= set(extra["libraries"])


def test_dropped_documents_carry_cluster_id_and_size(runs):
    folder = runs["local"] / "minhash" / "dropped"
    rows = [json.loads(line) for p in sorted(folder.glob("*.jsonl")) for line in p.read_text().splitlines()]
    kept = {d.id for d in read_documents(shard_files(runs["local"]))}
    assert rows and all(r["dedup_cluster_id"] in kept and r["dedup_cluster_size"] >= 2 for r in rows)
    chain = next(r for r in rows if r["id"] == "d000x")
    assert chain["reason"] == "exact_duplicate"


def test_incremental_run_removes_new_documents_that_duplicate_the_index(tmp_path, runs, gsm8k_train):
    old = {d.id: d.text for d in read_documents(shard_files(runs["local"]))}
    some = sorted(old)[:20]
    new_rows = [{"id": f"new{k}", "text": old[i] + " Reposted.", "source": "web"} for k, i in enumerate(some)]
    new_rows.append(
        {"id": "fresh", "text": " ".join(r["question"] for r in gsm8k_train[-12:]), "source": "web"}
    )
    path = write_jsonl(tmp_path / "dump2.jsonl", new_rows)
    config = DedupConfig(mode="incremental", index=str(runs["local"]))
    manifest = run_dedup_stage([str(path)], config, StageRun(name="dedup", out_dir=tmp_path / "out"))
    kept = [d.id for d in read_documents(shard_files(tmp_path / "out"))]
    assert kept == ["fresh"]
    assert manifest.totals.dropped_reasons == {"near_duplicate": 20}


def test_cli_dedup_with_one_worker(tmp_path, inputs):
    code = main(["dedup", *inputs, "--out", str(tmp_path / "o"), "--workers", "1"])
    assert code == 0
    assert load_manifest(tmp_path / "o").totals.docs["dropped"] > 0


def test_paragraph_dedup_removes_boilerplate_paragraphs(tmp_path, gsm8k_train):
    footer = "Follow this forum on Facebook and Google+ for more homework help every day."
    rows = [
        {
            "id": f"p{i}",
            "text": gsm8k_train[i]["question"] + "\n\n" + footer + "\n\n" + gsm8k_train[i]["answer"],
        }
        for i in range(5)
    ]
    rows.append({"id": "only", "text": footer})
    path = write_jsonl(tmp_path / "in.jsonl", rows)
    config = DedupConfig(paragraph_dedup=True, near=False)
    manifest = run_dedup_stage([str(path)], config, StageRun(name="dedup", out_dir=tmp_path / "out"))
    docs = {d.id: d.text for d in read_documents(shard_files(tmp_path / "out"))}
    assert len(docs) == 5 and all(footer not in t for t in docs.values())
    assert manifest.totals.dropped_reasons == {"boilerplate_only": 1}


def test_deduplicated_parquet_stage_passes_through_unchanged(tmp_path, runs):
    manifest = run_dedup_stage(
        [str(p) for p in shard_files(runs["local"])], DedupConfig(), StageRun("dedup2", tmp_path / "o")
    )
    assert manifest.totals.docs["dropped"] == 0 and manifest.totals.docs["kept"] == manifest.totals.docs["in"]
    before = {d.id: d for d in read_documents(shard_files(runs["local"]))}
    after = {d.id: d for d in read_documents(shard_files(tmp_path / "o"))}
    assert before.keys() == after.keys()
    some = next(iter(after))
    assert after[some].text == before[some].text
    assert after[some].metadata["provenance"]["stages"] == ["dedup", "dedup2"]


def test_unreadable_input_is_quarantined_and_the_rest_deduplicated(tmp_path, gsm8k_train):
    good = write_jsonl(
        tmp_path / "a.jsonl", [{"id": f"g{i}", "text": gsm8k_train[i]["question"]} for i in range(5)]
    )
    bad = tmp_path / "b.jsonl"
    bad.write_text(
        json.dumps({"id": "b0", "text": gsm8k_train[0]["question"]})
        + "\n{not json\n"
        + json.dumps({"id": "b2", "text": "x"})
        + "\n"
    )
    manifest = run_dedup_stage([str(good), str(bad)], DedupConfig(), StageRun("dedup", tmp_path / "o"))
    t = manifest.totals
    assert t.quarantined_reasons == {"bad_json_line": 1}
    assert t.dropped_reasons == {"exact_duplicate": 1}  # b0 repeats g0, read before the bad line
    assert t.docs["in"] == 8 and t.docs["kept"] == 6  # b2, after the bad line, survives it
    assert manifest.quarantine[0]["input"] == str(bad) and manifest.quarantine[0]["member"] == "line 2"


@pytest.mark.parametrize("mode", ["local", "datatrove", "incremental"])
def test_same_ids_in_two_inputs_keep_exactly_one_copy(tmp_path, gsm8k_train, mode):
    rows = [{"id": f"q{i}", "text": gsm8k_train[i]["question"]} for i in range(6)]
    a = write_jsonl(tmp_path / "dump1.jsonl", rows)
    b = write_jsonl(tmp_path / "dump2.jsonl", rows)  # a re-crawl: same ids, same texts
    manifest = run_dedup_stage([str(a), str(b)], DedupConfig(mode=mode), StageRun("dedup", tmp_path / "o"))
    kept = sorted(d.id for d in read_documents(shard_files(tmp_path / "o")))
    assert kept == [f"q{i}" for i in range(6)]
    assert manifest.totals.dropped_reasons == {"exact_duplicate": 6}
