"""Pass 2 of dedup: from signature tables to removal decisions (exact, then near duplicates).

Order (FIELD-NOTES 6): exact duplicates first (same normalised token sequence, `minhash.fingerprints`), then MinHash over the
survivors. Both use the same keep rule (`minhash.keep_rank`: existing corpus first, then the
longest text, then the smallest id), so the result does not depend on input order, task count or
mode. Candidate pairs come from the caller when another mode found them (datatrove's bucket files,
datasketch's LSH); otherwise from the table (`SignatureTable` in memory, `SpilledTable` on disk:
both band, verify and answer the same way, so they give the same clusters).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sciloom.filters.minhash import MinhashParams, cluster_keep, components, keep_rank
from sciloom.filters.signature_table import SignatureTable

if TYPE_CHECKING:
    from sciloom.filters.dedup_spill import SpilledTable

EXACT_DUPLICATE = "exact_duplicate"
NEAR_DUPLICATE = "near_duplicate"
BOILERPLATE_ONLY = "boilerplate_only"
SIZE_BINS = ((2, 2), (3, 3), (4, 7), (8, 15), (16, 1 << 62))


REMOVED_DIR = "removed"
OFFSETS_FILE = "offsets.json"


@dataclass
class DedupDecisions:
    """What pass 2 decided. Removals are keyed by row (position in the concatenated tables), never
    by document id: two inputs may carry the same id (a dump and a re-crawl, an earlier output),
    and only one copy may go."""

    ids: list[str] = field(default_factory=list)
    removed: dict[int, tuple[str, int, int]] = field(default_factory=dict)  # row -> (reason, kept row, size)
    clusters: list[dict] = field(default_factory=list)  # {"kind", "kept", "members"} (ids)
    stats: dict = field(default_factory=dict)
    first_row: int = 0  # rows before this are an existing corpus (incremental): not in the inputs

    def by_id(self) -> dict[str, tuple[str, str, int]]:
        """Removals as id -> (reason, kept id, cluster size), for people and tests."""
        return {self.ids[r]: (reason, self.ids[k], size) for r, (reason, k, size) in self.removed.items()}

    def save(self, folder: str | os.PathLike) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        rows = np.asarray(sorted(self.removed), dtype=np.int64)
        # One .npy per column, so a removal task can map them and read only its own row range.
        target = folder / REMOVED_DIR
        target.mkdir(exist_ok=True)
        columns = {
            "rows": rows - self.first_row,
            "reasons": np.asarray([self.removed[r][0] for r in rows], dtype=str),
            "clusters": np.asarray([self.ids[self.removed[r][1]] for r in rows], dtype=str),
            "sizes": np.asarray([self.removed[r][2] for r in rows], dtype=np.int64),
        }
        for name, values in columns.items():
            if not len(values):
                values = np.zeros(0, dtype=np.int64 if name in ("rows", "sizes") else "<U1")
            np.save(target / f"{name}.npy", values)
        with open(folder / "clusters.jsonl", "w", encoding="utf-8") as fh:
            for c in self.clusters:
                fh.write(json.dumps(c, ensure_ascii=False) + "\n")
        (folder / "cluster_stats.json").write_text(json.dumps(self.stats, indent=1))

    def cluster_sets(self, kind: str) -> set[frozenset[str]]:
        return {frozenset(c["members"]) for c in self.clusters if c["kind"] == kind}


def load_removed(
    folder: str | os.PathLike, first: int = 0, end: int | None = None
) -> dict[int, tuple[str, str, int]]:
    """Input row (position over all inputs, in order) -> (reason, cluster id, cluster size), for
    the rows in [first, end) (all by default). The columns are memory-mapped, so a task holds only
    the decisions of its own rows."""
    target = Path(folder) / REMOVED_DIR
    rows = np.load(target / "rows.npy", mmap_mode="r")
    lo, hi = 0, len(rows)
    if first or end is not None:
        lo, hi = np.searchsorted(rows, [first, end if end is not None else np.iinfo(np.int64).max])
    cols = {
        name: np.load(target / f"{name}.npy", mmap_mode="r")[lo:hi]
        for name in ("reasons", "clusters", "sizes")
    }
    return {
        int(r): (str(reason), str(cluster), int(size))
        for r, reason, cluster, size in zip(rows[lo:hi], cols["reasons"], cols["clusters"], cols["sizes"])
    }


def save_offsets(folder: str | os.PathLike, offsets: list[int]) -> None:
    """First row of each task (input file, or datatrove rank) and the total, for the removal pass."""
    (Path(folder) / OFFSETS_FILE).write_text(json.dumps(offsets))


def load_offsets(folder: str | os.PathLike) -> list[int]:
    return json.loads((Path(folder) / OFFSETS_FILE).read_text())


def load_clusters(folder: str | os.PathLike) -> list[dict]:
    with open(Path(folder) / "clusters.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def size_distribution(sizes: np.ndarray) -> dict:
    out = {}
    for lo, hi in SIZE_BINS:
        label = f"{lo}" if lo == hi else (f"{lo}-{hi}" if hi < 1 << 62 else f"{lo}+")
        out[label] = int(((sizes >= lo) & (sizes <= hi)).sum())
    return out


def _group(
    kind: str,
    reason: str,
    labels: np.ndarray,
    rows: np.ndarray,
    rank: np.ndarray,
    table: SignatureTable | SpilledTable,
    num_preferred: int,
    out: DedupDecisions,
) -> tuple[int, np.ndarray]:
    """Record the clusters (size > 1) given by `labels` over `rows`; return removed count and sizes."""
    best, sizes = cluster_keep(labels, rank[rows])
    multi = sizes > 1
    members: dict[int, list[int]] = {}
    for local in np.flatnonzero(multi):
        members.setdefault(int(rows[best[local]]), []).append(int(rows[local]))
    removed = 0
    cluster_sizes = []
    for kept, group in sorted(members.items(), key=lambda kv: table.ids[kv[0]]):
        group.sort(key=lambda r: rank[r])
        kept_id = table.ids[kept]
        size = len(group)
        cluster_sizes.append(size)
        out.clusters.append({"kind": kind, "kept": kept_id, "members": [table.ids[r] for r in group]})
        for r in group:
            if r != kept and r >= num_preferred:
                out.removed[r] = (reason, kept, size)
                removed += 1
    return removed, np.asarray(cluster_sizes, dtype=np.int64)


def decide(
    table: SignatureTable | SpilledTable,
    params: MinhashParams,
    exact: bool = True,
    near: bool = True,
    candidates: np.ndarray | None = None,
    num_preferred: int = 0,
) -> DedupDecisions:
    """Removal decisions for the rows of `table`; the first `num_preferred` rows are an existing
    corpus (incremental mode): they are never removed and win every cluster they are in."""
    n = len(table)
    preferred = np.zeros(n, dtype=bool)
    preferred[:num_preferred] = True
    rank = keep_rank(table.ids, table.lengths, preferred)
    out = DedupDecisions(ids=list(table.ids), first_row=num_preferred)
    alive = np.ones(n, dtype=bool)
    stats: dict = {"documents": n - num_preferred, "index_documents": num_preferred}
    if exact and n:
        _, labels = np.unique(table.hashes, return_inverse=True)
        rows = np.arange(n)
        removed, sizes = _group(
            "exact", EXACT_DUPLICATE, labels.ravel(), rows, rank, table, num_preferred, out
        )
        # Every non-kept member of an exact cluster leaves the near-dup pass.
        best, _ = cluster_keep(labels.ravel(), rank)
        alive &= best == rows
        stats["exact"] = {
            "removed": removed,
            "clusters": int(len(sizes)),
            "size_distribution": size_distribution(sizes),
            "max_size": int(sizes.max()) if len(sizes) else 0,
        }
    if near and n:
        valid = alive & table.nonempty()
        if candidates is None:
            pairs = table.candidate_pairs(params, valid)
        else:
            pairs = (
                candidates[valid[candidates[:, 0]] & valid[candidates[:, 1]]]
                if len(candidates)
                else candidates
            )
            pairs = np.unique(np.sort(pairs, axis=1), axis=0) if len(pairs) else pairs.reshape(0, 2)
        edges = table.verified_edges(pairs, params.threshold)
        rows = np.flatnonzero(valid)
        local = np.full(n, -1, dtype=np.int64)
        local[rows] = np.arange(len(rows))
        labels = components(len(rows), local[edges]) if len(edges) else np.arange(len(rows))
        removed, sizes = _group("near", NEAR_DUPLICATE, labels, rows, rank, table, num_preferred, out)
        stats["near"] = {
            "removed": removed,
            "candidate_pairs": int(len(pairs)),
            "verified_pairs": int(len(edges)),
            "clusters": int(len(sizes)),
            "size_distribution": size_distribution(sizes),
            "max_size": int(sizes.max()) if len(sizes) else 0,
            "mean_size": round(float(sizes.mean()), 3) if len(sizes) else 0.0,
        }
    # An exact cluster's survivor may itself lose a near cluster: point its copies at the document
    # that stands for them in the output.
    for row, (reason, kept, size) in list(out.removed.items()):
        if reason == EXACT_DUPLICATE and kept in out.removed:
            out.removed[row] = (reason, out.removed[kept][1], size)
    out.stats = stats
    return out
