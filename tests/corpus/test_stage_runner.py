"""run_stage: ledger from step counters, invariant, quarantine, resume and determinism."""

import json

import pytest

from sciloom.corpus.shards import ShardReader, read_documents, shard_files
from sciloom.corpus.stage import StageRun, run_stage
from sciloom.corpus.step import SciloomFilter, SciloomStep
from sciloom.manifests.errors import InvariantError
from sciloom.manifests.schema import load_manifest

TOO_SHORT = "too_short"


class ShortFilter(SciloomFilter):
    name = "short"

    def filter(self, doc):
        return len(doc.text) > 3, TOO_SHORT


class LossyStep(SciloomStep):
    """Forgets every second document without saying so: the invariant must catch it."""

    name = "lossy"

    def process(self, data, rank, world_size):
        for i, doc in enumerate(data):
            if i % 2 == 0:
                yield doc


def write_inputs(folder, n_files=3, per_file=10):
    paths = []
    for f in range(n_files):
        path = folder / f"in{f}.jsonl"
        rows = [
            {"id": f"{f}-{i}", "text": "x" * (i % 6), "source": "web" if i % 2 else "arxiv"}
            for i in range(per_file)
        ]
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
        paths.append(str(path))
    bad = folder / "bad.jsonl"
    bad.write_text('{"id": "ok", "text": "fine text"}\n{not json\n')
    paths.append(str(bad))
    return paths


def test_stage_ledger_balances_per_source_with_reasons(tmp_path):
    paths = write_inputs(tmp_path)
    m = run_stage(StageRun("filter", tmp_path / "out"), ShardReader(paths, source="web"), [ShortFilter()])
    t = m.totals
    assert t.docs["in"] == 3 * 10 + 1 + 1  # 30 docs, "ok", and the unreadable rest of bad.jsonl
    assert t.quarantined_reasons == {"bad_json_line": 1}
    assert t.docs["kept"] == sum(1 for d in read_documents(shard_files(tmp_path / "out")))
    assert t.dropped_reasons[TOO_SHORT] == t.docs["dropped"] > 0
    assert set(m.sources) == {"arxiv", "web"}
    assert all(c.balanced() for c in m.sources.values())
    assert m.quarantine[0]["input"].endswith("bad.jsonl")
    assert m.samples[TOO_SHORT]  # dropped documents are referenced for reports
    on_disk = load_manifest(tmp_path / "out")
    assert on_disk.totals.docs == t.docs


def test_a_step_that_loses_documents_silently_fails_the_stage(tmp_path):
    paths = write_inputs(tmp_path, n_files=1)
    with pytest.raises(InvariantError, match="does not conserve"):
        run_stage(StageRun("lossy", tmp_path / "out"), ShardReader(paths), [LossyStep()])


def test_two_workers_give_the_same_shards_as_one(tmp_path):
    paths = write_inputs(tmp_path)
    one = run_stage(StageRun("f", tmp_path / "one", workers=1), ShardReader(paths), [ShortFilter()])
    two = run_stage(StageRun("f", tmp_path / "two", workers=2), ShardReader(paths), [ShortFilter()])
    assert [s.sha256 for s in one.shards] == [s.sha256 for s in two.shards]
    assert one.totals.docs == two.totals.docs


def test_rerun_skips_completed_tasks_and_keeps_counts(tmp_path):
    paths = write_inputs(tmp_path)
    first = run_stage(StageRun("f", tmp_path / "out"), ShardReader(paths), [ShortFilter()])
    completions = sorted((tmp_path / "out" / "logs" / "completions").iterdir())
    assert len(completions) == first.tasks
    # Remove one task's completion marker and its shard: only that task is redone.
    completions[0].unlink()
    shard_files(tmp_path / "out")[0].unlink()
    again = run_stage(StageRun("f", tmp_path / "out"), ShardReader(paths), [ShortFilter()])
    assert again.totals.docs == first.totals.docs
    assert [s.sha256 for s in again.shards] == [s.sha256 for s in first.shards]


def test_a_rerun_task_does_not_repeat_its_quarantine_entries(tmp_path):
    paths = write_inputs(tmp_path)
    first = run_stage(StageRun("f", tmp_path / "out"), ShardReader(paths), [ShortFilter()])
    # The task that read bad.jsonl (the last input) is killed before it finished: rerun it.
    rank = (len(paths) - 1) % first.tasks
    (tmp_path / "out" / "logs" / "completions" / f"{rank:05d}").unlink()
    again = run_stage(StageRun("f", tmp_path / "out"), ShardReader(paths), [ShortFilter()])
    assert len(again.quarantine) == again.totals.docs["quarantined"] == 1
    assert sum(len(v) for v in again.samples.values()) == sum(len(v) for v in first.samples.values())


def test_run_stage_refuses_a_folder_it_did_not_make_and_force_moves_its_files_aside(tmp_path):
    from sciloom.corpus.errors import UsageError

    (tmp_path / "in").mkdir()
    inputs = write_inputs(tmp_path / "in")
    out = tmp_path / "theirs"
    (out / "docs").mkdir(parents=True)
    (out / "docs" / "keep.parquet").write_bytes(b"not ours")
    with pytest.raises(UsageError, match="not made by sciloom"):
        run_stage(StageRun("s", out), ShardReader(inputs), [ShortFilter()])
    assert sorted(p.name for p in out.rglob("*")) == ["docs", "keep.parquet"]
    manifest = run_stage(StageRun("s", out, force=True), ShardReader(inputs), [ShortFilter()])
    assert manifest.totals.docs["in"] == 32  # 3 x 10 rows, and bad.jsonl's good and bad line
    (kept,) = out.glob(".sciloom-kept-*")
    assert (kept / "docs" / "keep.parquet").read_bytes() == b"not ours"
    assert all(p.name != "keep.parquet" for p in shard_files(out))
