"""Pass 3 of dedup, the fast way: apply the decisions to whole Arrow tables and write the stage.

Dedup only removes rows (and, with paragraph dedup, trims some texts), so the removal pass does not
need a `Document` per row: each input shard is read as one Arrow table, the removed ids are masked
out, the `stages` list of the kept rows' provenance gets `dedup`, and the table is written back in
the stage schema. This pass is most of `sciloom dedup`'s end-to-end time through `run_stage`
(JSON-decoding and re-encoding every record twice), 4x less this way.

The ledger is the same as `run_stage`'s: per source, `in = kept + dropped + quarantined`, dropped
by reason (`exact_duplicate`, `near_duplicate`, `boilerplate_only`), checked before the manifest is
written (ARCHITECTURE: "use write_manifest for folders you write yourself"). JSONL inputs and
Parquet files in another schema take the row path (`shards.iter_rows`, `record.from_row/to_row`);
a file unreadable past some point is quarantined after its readable rows, as `ShardReader` does.
Each input file is one task (`docs/<index>.parquet`); with `workers > 1` tasks run in parallel.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sciloom.corpus.errors import StageError
from sciloom.corpus.quarantine import QuarantineLog, read_quarantine
from sciloom.corpus.record import to_row
from sciloom.corpus.shards import DOCS_DIR, ROW_GROUP_ROWS, SCHEMA, iter_checked_rows, row_to_document
from sciloom.corpus.stage import StageRun, list_shards
from sciloom.filters.dedup_clusters import BOILERPLATE_ONLY, load_offsets, load_removed
from sciloom.filters.dedup_removal import (
    BOILERPLATE_FILE,
    BOILERPLATE_REMOVED,
    CLUSTER_ID,
    CLUSTER_SIZE,
    DROPPED_DIR,
)
from sciloom.filters.exact_dedup import remove_paragraphs
from sciloom.manifests.ledger import Counts, check_invariant
from sciloom.manifests.provenance import host_info, now_iso, package_versions
from sciloom.manifests.schema import StageManifest, write_manifest

SAMPLES_PER_REASON = 10


@dataclass
class ShardResult:
    counts: dict[tuple[str, str, str | None], list[int]] = field(default_factory=dict)  # -> [docs, bytes]
    dropped: list[dict] = field(default_factory=list)

    def add(self, kind: str, source: str, nbytes: int, reason: str | None = None, n: int = 1) -> None:
        c = self.counts.setdefault((kind, source, reason), [0, 0])
        c[0] += n
        c[1] += nbytes


@dataclass
class RemovalJob:
    index: int
    path: str
    first_row: int  # row of this file's first document in the signature pass
    num_rows: int  # documents the signature pass read from this file
    out_dir: str
    decisions_dir: str
    stage: str
    paragraph_min_chars: int


def _with_stage(prov_json: str, stage: str) -> str:
    prov = orjson.loads(prov_json) if prov_json else {}
    stages = prov.setdefault("stages", [])
    if not stages or stages[-1] != stage:
        stages.append(stage)
    return orjson.dumps(prov, option=orjson.OPT_SORT_KEYS, default=str).decode()


def _arrow_batches(path: str) -> Iterator[pa.Table] | None:
    """The shard as tables of ROW_GROUP_ROWS rows in our schema, or None when it needs the row
    path. Read batch by batch, so memory holds one batch, not the shard; a file that turns out
    unreadable part-way raises pa.ArrowException/OSError from the iterator."""
    if not path.endswith(".parquet"):
        return None
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError):
        return None
    if pf.schema_arrow.names != SCHEMA.names:
        return None
    return (pa.Table.from_batches([b]).cast(SCHEMA) for b in pf.iter_batches(batch_size=ROW_GROUP_ROWS))


def _row_table(path: str, job: RemovalJob, result: ShardResult) -> pa.Table:
    """The row path: every readable row as a stage row; the unreadable rest is quarantined."""
    rows = []
    log = QuarantineLog(Path(job.out_dir) / "quarantine", job.index)
    # The shared reader: a bad line is quarantined alone (the signature pass skips the same rows).
    for _, row, problem in iter_checked_rows(path):
        if problem is None:
            rows.append(to_row(row_to_document(row, "unknown")))
            continue
        result.add("in", "unknown", problem.nbytes)
        result.add("quarantined", "unknown", problem.nbytes, problem.reason)
        log.add_problem(problem, source="unknown")
    log.close()
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def remove_from_shard(
    job: RemovalJob,
    removed: dict[int, tuple[str, str, int]],
    removed_rows: np.ndarray,
    boilerplate: np.ndarray,
) -> ShardResult:
    docs = Path(job.out_dir) / DOCS_DIR
    docs.mkdir(parents=True, exist_ok=True)
    final, tmp = docs / f"{job.index:05d}.parquet", docs / f".{job.index:05d}.parquet.tmp"
    batches = _arrow_batches(job.path)
    if batches is not None:
        try:
            return _remove_and_write(
                batches, tmp, final, job, removed, removed_rows, boilerplate, ShardResult()
            )
        except (pa.ArrowException, OSError):  # corrupt part-way: redo it on the row path
            tmp.unlink(missing_ok=True)
    result = ShardResult()
    table = _row_table(job.path, job, result)
    return _remove_and_write(iter([table]), tmp, final, job, removed, removed_rows, boilerplate, result)


def _remove_and_write(
    tables: Iterator[pa.Table],
    tmp: Path,
    final: Path,
    job: RemovalJob,
    removed: dict[int, tuple[str, str, int]],
    removed_rows: np.ndarray,
    boilerplate: np.ndarray,
    result: ShardResult,
) -> ShardResult:
    """Remove the decided rows of each table and write the rest in row groups of ROW_GROUP_ROWS
    (kept rows are buffered up to a full group, so the file's layout does not depend on how the
    input was batched)."""
    row = 0
    pending: list[pa.Table] = []
    pending_rows = 0
    with pq.ParquetWriter(tmp, SCHEMA, compression="zstd") as writer:
        for table in tables:
            kept = _remove_from_table(table, row, job, removed, removed_rows, boilerplate, result)
            row += table.num_rows
            pending.append(kept)
            pending_rows += kept.num_rows
            if pending_rows >= ROW_GROUP_ROWS:
                buffered = pa.concat_tables(pending)
                full = (pending_rows // ROW_GROUP_ROWS) * ROW_GROUP_ROWS
                writer.write_table(buffered.slice(0, full), row_group_size=ROW_GROUP_ROWS)
                pending, pending_rows = [buffered.slice(full)], pending_rows - full
        if pending_rows or row == 0:
            writer.write_table(pa.concat_tables(pending) if pending else SCHEMA.empty_table())
    if row != job.num_rows:
        tmp.unlink(missing_ok=True)
        raise StageError(
            f"dedup removal: {job.path} has {row} readable documents, the signature pass saw "
            f"{job.num_rows}; did the input change?"
        )
    os.replace(tmp, final)
    return result


def _remove_from_table(
    table: pa.Table,
    first: int,
    job: RemovalJob,
    removed: dict[int, tuple[str, str, int]],
    removed_rows: np.ndarray,
    boilerplate: np.ndarray,
    result: ShardResult,
) -> pa.Table:
    """The kept rows of one table whose first row is row `first` of the file; counts into `result`."""
    nbytes = pc.binary_length(table.column("text").cast(pa.large_binary())).to_numpy(zero_copy_only=False)
    drop = np.zeros(table.num_rows, dtype=bool)
    base = job.first_row + first
    lo, hi = np.searchsorted(removed_rows, [base, base + table.num_rows])
    drop[removed_rows[lo:hi] - base] = True
    sources = pc.dictionary_encode(table.column("source")).combine_chunks()
    src_index = sources.indices.to_numpy(zero_copy_only=False)
    src_names = sources.dictionary.to_pylist()
    for k, name in enumerate(src_names):
        mine = src_index == k
        result.add("in", name, int(nbytes[mine].sum()), n=int(mine.sum()))
    ids = table.column("id")
    for i in np.flatnonzero(drop):
        doc_id, src = ids[i].as_py(), src_names[src_index[i]]
        reason, cluster, size = removed[base + int(i)]
        result.add("dropped", src, int(nbytes[i]), reason)
        result.dropped.append(
            {"id": doc_id, "source": src, "reason": reason, CLUSTER_ID: cluster, CLUSTER_SIZE: size}
        )
    keep = ~drop
    if len(boilerplate):
        texts = table.column("text").to_pylist()
        metas = table.column("metadata").to_pylist()
        for i in np.flatnonzero(keep):
            text, n_removed = remove_paragraphs(texts[i], boilerplate, job.paragraph_min_chars)
            if not n_removed:
                continue
            if not text.strip():
                keep[i] = False
                src = src_names[src_index[i]]
                result.add("dropped", src, int(nbytes[i]), BOILERPLATE_ONLY)
                result.dropped.append({"id": ids[i].as_py(), "source": src, "reason": BOILERPLATE_ONLY})
                continue
            texts[i] = text
            meta = orjson.loads(metas[i] or "{}")
            meta[BOILERPLATE_REMOVED] = n_removed
            metas[i] = orjson.dumps(meta, option=orjson.OPT_SORT_KEYS, default=str).decode()
        table = table.set_column(1, "text", pa.array(texts, type=pa.large_string()))
        table = table.set_column(4, "metadata", pa.array(metas, type=pa.large_string()))
        nbytes = pc.binary_length(table.column("text").cast(pa.large_binary())).to_numpy(zero_copy_only=False)
    kept = table.filter(pa.array(keep))
    prov = [_with_stage(p, job.stage) for p in kept.column("provenance").to_pylist()]
    kept = kept.set_column(5, "provenance", pa.array(prov, type=pa.large_string()))
    for k, name in enumerate(src_names):
        mine = keep & (src_index == k)
        if mine.any():
            result.add("kept", name, int(nbytes[mine].sum()), n=int(mine.sum()))
    return kept.cast(SCHEMA)  # set_column made the replaced fields nullable


_worker_state: dict[str, Any] = {}


def _run_job(job: RemovalJob) -> ShardResult:
    if _worker_state.get("dir") != job.decisions_dir:
        path = Path(job.decisions_dir) / BOILERPLATE_FILE
        _worker_state.update(
            dir=job.decisions_dir,
            boilerplate=np.load(path) if path.is_file() else np.zeros(0, dtype=np.int64),
        )
    # only this file's decisions (memory-mapped columns): memory does not grow with the corpus
    removed = load_removed(job.decisions_dir, job.first_row, job.first_row + job.num_rows)
    rows = np.asarray(sorted(removed), dtype=np.int64)
    return remove_from_shard(job, removed, rows, _worker_state["boilerplate"])


def write_dedup_stage(
    run: StageRun,
    inputs: Sequence[str],
    decisions_dir: Path,
    paragraph_min_chars: int,
    extra: Callable[[StageManifest], dict[str, Any]],
    started: float,
) -> StageManifest:
    out = Path(run.out_dir)
    for stale in (out / DOCS_DIR).glob("*.parquet"):
        stale.unlink()
    offsets = load_offsets(decisions_dir)
    jobs = [
        RemovalJob(
            i,
            str(p),
            offsets[i],
            offsets[i + 1] - offsets[i],
            str(out),
            str(decisions_dir),
            run.name,
            paragraph_min_chars,
        )
        for i, p in enumerate(inputs)
    ]
    if run.workers > 1 and len(jobs) > 1:
        import multiprocessing as mp

        try:
            with mp.get_context("forkserver").Pool(min(run.workers, len(jobs))) as pool:
                results = pool.map(_run_job, jobs, chunksize=1)
        except Exception as err:  # a worker died: a stage failure, not a bad input
            raise StageError(f"dedup removal pass failed: {err}") from err
    else:
        results = [_run_job(j) for j in jobs]
    per_source: dict[str, Counts] = defaultdict(Counts)
    samples: dict[str, list[dict[str, str]]] = {}
    dropped_dir = decisions_dir / DROPPED_DIR
    dropped_dir.mkdir(parents=True, exist_ok=True)
    for job, res in zip(jobs, results):
        for (kind, source, reason), (n, b) in res.counts.items():
            per_source[source].add(kind, n, b, reason)
        path = dropped_dir / f"{job.index:05d}.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for entry in res.dropped:
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
                refs = samples.setdefault(entry["reason"], [])
                if len(refs) < SAMPLES_PER_REASON:
                    refs.append(
                        {"id": entry["id"], "source": entry["source"], "file": str(path.relative_to(out))}
                    )
    per_source = dict(sorted(per_source.items()))
    check_invariant(run.name, per_source)
    manifest = StageManifest(
        stage=run.name,
        sources=per_source,
        shards=list_shards(out),
        inputs=[str(p) for p in inputs],
        input_manifests=run.input_manifests,
        quarantine=read_quarantine(out / "quarantine"),
        recipe_hash=run.recipe_hash,
        seed=run.seed,
        versions=package_versions(),
        host=host_info(),
        created=now_iso(),
        tasks=len(jobs),
    )
    if hasattr(manifest, "samples"):
        manifest.samples = samples
    manifest.wall_time_s = round(time.time() - started, 3)
    manifest.extra.update(extra(manifest))
    write_manifest(out, manifest)
    return manifest
