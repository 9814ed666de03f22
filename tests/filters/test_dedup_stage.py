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


def _planted_rows(sentences: list[str], n_bases: int, seed: int, words: int = 60) -> list[dict]:
    """Base documents with near-duplicates (word edits), exact copies, chains, empty and short texts."""
    rng = random.Random(seed)
    rows = [{"id": "empty", "text": ""}, {"id": "short", "text": "x = 1"}, {"id": "short2", "text": "x = 1"}]
    for i in range(n_bases):
        base = " ".join(" ".join(rng.sample(sentences, 8)).split()[:words])
        rows.append({"id": f"b{seed}_{i:06d}", "text": base})
        if i % 5 == 0:
            w = base.split()
            for _ in range(rng.randint(1, 6)):
                w[rng.randrange(len(w))] = rng.choice(sentences).split()[0]
            rows.append({"id": f"b{seed}_{i:06d}n", "text": " ".join(w)})
            if i % 15 == 0:  # a chain: an edit of the edit
                w[rng.randrange(len(w))] = "edited"
                rows.append({"id": f"b{seed}_{i:06d}c", "text": " ".join(w)})
        if i % 11 == 0:
            rows.append({"id": f"b{seed}_{i:06d}x", "text": base.upper() + "  "})
    rng.shuffle(rows)
    return rows


def test_spilled_local_mode_gives_the_clusters_and_index_of_the_in_memory_table(tmp_path, gsm8k_train):
    import numpy as np

    from sciloom.filters.dedup_clusters import decide
    from sciloom.filters.dedup_spill import spill_tables
    from sciloom.filters.dedup_stage import minhash_params
    from sciloom.filters.signature_table import SignatureTable, compute_tables

    sentences = [s for r in gsm8k_train for s in re.split(r"(?<=[.?!])\s+", r["question"]) if len(s) > 30]
    rows = _planted_rows(sentences, 3000, seed=1)
    paths = [str(write_jsonl(tmp_path / f"p{k}.jsonl", rows[k::4])) for k in range(4)]
    params = minhash_params(DedupConfig())
    memory = SignatureTable.concat(compute_tables(paths, params), params.num_perm)
    want = decide(memory, params)
    assert want.stats["near"]["removed"] > 300 and want.stats["exact"]["removed"] > 200
    for workers in (1, 2):
        spilled = spill_tables(paths, params, tmp_path / f"spill{workers}", workers=workers)
        got = decide(spilled, params)
        assert got.removed == want.removed and got.clusters == want.clusters and got.stats == want.stats
    kept = np.asarray(sorted(set(range(len(memory))) - set(want.removed)), dtype=np.int64)
    spilled.save_kept(tmp_path / "index.npz", kept, params)
    memory.take(kept).save(tmp_path / "index_memory.npz", params)
    a, pa = SignatureTable.load(tmp_path / "index.npz")
    b, pb = SignatureTable.load(tmp_path / "index_memory.npz")
    assert pa == pb and a.ids == b.ids
    assert np.array_equal(a.sigs, b.sigs) and np.array_equal(a.hashes, b.hashes)


RSS_SCRIPT = """
import resource, sys
from sciloom.corpus.cli.main import main
code = main(["dedup", sys.argv[1], "--workers", "1", "--out", sys.argv[2]])
print(code, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_local_dedup_memory_does_not_grow_with_the_corpus(tmp_path, gsm8k_train):
    """Peak RSS of `sciloom dedup` on 20k and 80k documents (shards of 5k): the in-memory table
    grew by ~7 KB per document; spilled, the growth is the ids, a few arrays and the removal
    decisions (~1 KB measured on these short documents)."""
    import subprocess
    import sys

    import pyarrow as pa
    import pyarrow.parquet as pq

    from sciloom.corpus.shards import SCHEMA

    sentences = [s for r in gsm8k_train for s in re.split(r"(?<=[.?!])\s+", r["question"]) if len(s) > 30]
    peaks = {}
    for n in (20_000, 80_000):
        rows = _planted_rows(sentences, n, seed=n, words=40)[:n]
        folder = tmp_path / f"in{n}"
        folder.mkdir()
        for k in range(0, n, 5000):
            part = rows[k : k + 5000]
            table = pa.table(
                {
                    "id": [r["id"] for r in part],
                    "text": [r["text"] for r in part],
                    "source": ["web"] * len(part),
                    "url": [None] * len(part),
                    "metadata": ["{}"] * len(part),
                    "provenance": ["{}"] * len(part),
                },
                schema=SCHEMA,
            )
            pq.write_table(table, folder / f"{k // 5000:05d}.parquet")
        proc = subprocess.run(
            [sys.executable, "-c", RSS_SCRIPT, str(folder), str(tmp_path / f"out{n}")],
            capture_output=True,
            text=True,
            timeout=300,
        )
        code, peak_kb = proc.stdout.split()[-2:]
        assert code == "0", proc.stderr[-2000:]
        peaks[n] = int(peak_kb) * 1024
        # the removal pass streamed each 5k-row shard and still wrote full row groups
        manifest = load_manifest(tmp_path / f"out{n}")
        shards = sorted((tmp_path / f"out{n}" / "docs").glob("*.parquet"))
        assert sum(pq.ParquetFile(p).metadata.num_rows for p in shards) == manifest.totals.docs["kept"]
        assert manifest.totals.docs["dropped"] > n // 20
        groups = [pq.ParquetFile(p).metadata.row_group(i).num_rows for p in shards[:1] for i in range(2)]
        assert groups == [2048, 2048]
    growth_per_doc = (peaks[80_000] - peaks[20_000]) / 60_000
    assert growth_per_doc < 2000, (peaks, growth_per_doc)
