"""The dedup stage: signature pass, clustering pass, removal pass, one stage folder.

Dedup needs a global view, so unlike a map stage it runs in passes that all write under
`OUT/minhash/` and end in one ordinary stage folder whose ledger balances:

1. signatures: one table per input file (`signature_table.py`; local and incremental modes) or
   datatrove's stage 1 per task (`datatrove_minhash.py`);
2. clusters: exact groups, then candidate pairs (sort-based banding, datatrove's bucket files, or
   datasketch's LSH against a stored index), verified and clustered by `dedup_clusters.decide`;
   decisions land in `minhash/removed/` (keyed by input row), every cluster in `minhash/clusters.jsonl`;
3. removal: every dropped document is counted with its reason (`exact_duplicate`,
   `near_duplicate`, `boilerplate_only`) in the manifest: on whole Arrow tables
   (`dedup_write.py`) in the local and incremental modes, through `run_stage` with
   `DedupRemovalFilter` on datatrove's executors in the datatrove mode.

Finally the signatures of what the stage kept (plus, incrementally, the index it was checked
against) are stored as `minhash/index.npz` for the next incremental run.
"""

from __future__ import annotations

import logging
import shutil
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from sciloom.corpus.shards import ShardReader
from sciloom.corpus.stage import StageRun, run_stage
from sciloom.filters.config import DedupConfig
from sciloom.filters.dedup_clusters import decide, load_removed, save_offsets
from sciloom.filters.dedup_removal import BOILERPLATE_FILE, DedupRemovalFilter
from sciloom.filters.dedup_spill import SPILL_DIR, SpilledTable, load_spill_part, spill_parts_in, spill_tables
from sciloom.filters.dedup_write import write_dedup_stage
from sciloom.filters.exact_dedup import boilerplate_hashes
from sciloom.filters.incremental import INDEX_DIR, INDEX_FILE, load_index, lsh_candidates
from sciloom.filters.minhash import SCHEME, MinhashParams
from sciloom.filters.signature_table import SignatureTable, compute_tables
from sciloom.manifests.schema import StageManifest

logger = logging.getLogger(__name__)


def minhash_params(config: DedupConfig) -> MinhashParams:
    return MinhashParams(
        ngram=config.ngram,
        num_bands=config.num_bands,
        rows_per_band=config.rows_per_band,
        threshold=config.threshold,
        seed=config.seed,
    )


def library_versions() -> dict[str, str]:
    out = {}
    for name in ("numpy", "numba", "datasketch", "datatrove", "xxhash", "scipy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[name] = "missing"
    return out


def _cluster_locally(
    inputs: list[str], config: DedupConfig, params: MinhashParams, workers: int, work: Path
) -> tuple[SignatureTable | SpilledTable, SignatureTable | None, float]:
    """Passes 1-2 for the local and incremental modes; returns the tables and the signature time."""
    t0 = time.perf_counter()
    para_chars = config.paragraph_min_chars if config.paragraph_dedup else None
    index = None
    if config.mode == "local":  # signatures on disk: bounded memory (dedup_spill.py)
        table = spill_tables(inputs, params, work / SPILL_DIR, workers, config.batch_size, para_chars)
        save_offsets(work, table.offsets.tolist())
        sig_time = time.perf_counter() - t0
        decisions = decide(table, params, config.exact, config.near)
    else:
        tables = compute_tables(inputs, params, workers, config.batch_size, para_chars)
        save_offsets(work, np.cumsum([0] + [len(t) for t in tables]).tolist())
        table = SignatureTable.concat(tables, params.num_perm)
        sig_time = time.perf_counter() - t0
    if config.mode == "incremental":
        index = load_index(config.index, params) if config.index else SignatureTable.empty(params.num_perm)
        combined = SignatureTable.concat([index, table], params.num_perm)
        candidates = lsh_candidates(combined, len(index), params)
        decisions = decide(combined, params, config.exact, config.near, candidates, num_preferred=len(index))
    decisions.save(work)
    if config.paragraph_dedup:
        np.save(work / BOILERPLATE_FILE, boilerplate_hashes(table.paragraphs, config.paragraph_min_docs))
    return table, index, sig_time


def run_dedup(inputs: list[str], config: DedupConfig, run: StageRun) -> StageManifest:
    params = minhash_params(config)
    out = Path(run.out_dir)
    work = out / INDEX_DIR
    work.mkdir(parents=True, exist_ok=True)
    reader = ShardReader(list(inputs))
    tasks = run.tasks or max(1, min(len(inputs), 16))
    start = time.perf_counter()
    started = time.time()
    index: SignatureTable | None = None
    if config.mode == "datatrove":
        from sciloom.filters.datatrove_minhash import run_datatrove_passes

        run_datatrove_passes(
            inputs,
            work / "datatrove",
            work,
            params,
            exact=config.exact,
            near=config.near,
            tasks=tasks,
            workers=run.workers,
            executor_factory=run.executor_factory,
            paragraph_min_chars=config.paragraph_min_chars if config.paragraph_dedup else None,
            paragraph_min_docs=config.paragraph_min_docs if config.paragraph_dedup else None,
        )
        sidecars = spill_parts_in(work / "datatrove" / "sidecar")
        table = SpilledTable([load_spill_part(prefix) for _, prefix in sidecars], params)
        sig_time = None
    else:
        table, index, sig_time = _cluster_locally(list(inputs), config, params, run.workers, work)
    cluster_time = time.perf_counter() - start - (sig_time or 0.0)
    stats = _read_stats(work)

    def extra(_: StageManifest) -> dict:
        return {
            "dedup": {
                "mode": config.mode,
                "params": params.to_dict(),
                "scheme": SCHEME,
                "keep_rule": "existing corpus first, then longest text (non-whitespace characters), then smallest id",
                "exact": config.exact,
                "near": config.near,
                "paragraph_dedup": config.paragraph_dedup,
                "index": str(config.index) if config.index else None,
                "libraries": library_versions(),
                "clusters": stats,
                "timings_s": {
                    "signatures": round(sig_time, 3) if sig_time is not None else None,
                    "signatures_and_clusters": round(cluster_time + (sig_time or 0.0), 3),
                },
            }
        }

    if config.mode == "datatrove":
        # stage 4 on the same executors as stages 1-3 (Slurm at cluster scale)
        removal = DedupRemovalFilter(str(work), config.paragraph_min_chars)
        manifest = run_stage(run, reader, [removal], extra=extra)
    else:
        manifest = write_dedup_stage(run, inputs, work, config.paragraph_min_chars, extra, started)
    _store_index(work, table, index, params)
    return manifest


def _read_stats(work: Path) -> dict:
    import json

    path = work / "cluster_stats.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _store_index(
    work: Path, table: SignatureTable | SpilledTable, index: SignatureTable | None, params: MinhashParams
) -> None:
    removed = load_removed(work)
    keep = np.ones(len(table), dtype=bool)
    keep[np.fromiter(removed, dtype=np.int64, count=len(removed))] = False
    kept = np.flatnonzero(keep)
    if isinstance(table, SpilledTable):
        table.save_kept(work / INDEX_FILE, kept, params)
        shutil.rmtree(work / SPILL_DIR, ignore_errors=True)  # the index holds what is kept
        return
    kept_table = table.take(kept)
    kept_table.paragraphs = []
    parts = [index, kept_table] if index is not None and len(index) else [kept_table]
    SignatureTable.concat(parts, params.num_perm).save(work / INDEX_FILE, params)
