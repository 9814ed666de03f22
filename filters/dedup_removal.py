"""Pass 3 of dedup: the map step that applies the decisions, so the stage ledger balances.

Reads the decisions of pass 2 (`removed/*.npy`: row -> reason, cluster id, cluster size; rows are
positions in the signature pass, task by task, `offsets.json`) once per worker, on first use, and
drops each listed document with its reason, writing the cluster id (the
kept document's id) and size into the dropped record's metadata (visible in exclusion dumps and
tests) and, without the text, into `minhash/dropped/<rank>.jsonl`. With paragraph dedup on, it also removes boilerplate paragraphs from kept documents; a
document that was nothing but boilerplate is dropped as `boilerplate_only`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

import numpy as np
from datatrove.data import Document

from sciloom.corpus.errors import StageError
from sciloom.corpus.record import source_of
from sciloom.corpus.step import SciloomStep
from sciloom.filters.dedup_clusters import BOILERPLATE_ONLY, load_offsets, load_removed
from sciloom.filters.exact_dedup import remove_paragraphs

CLUSTER_ID = "dedup_cluster_id"
CLUSTER_SIZE = "dedup_cluster_size"
BOILERPLATE_REMOVED = "boilerplate_paragraphs_removed"
BOILERPLATE_FILE = "boilerplate.npy"
DROPPED_DIR = "dropped"


class DedupRemovalFilter(SciloomStep):
    name = "dedup_removal"
    type = "dedup"

    def __init__(self, decisions_dir: str, paragraph_min_chars: int = 20) -> None:
        super().__init__()
        self.decisions_dir = str(decisions_dir)
        self.paragraph_min_chars = paragraph_min_chars
        self._removed: dict | None = None
        self._offsets: list[int] = []
        self._boilerplate: np.ndarray | None = None

    def _load(self, rank: int) -> None:
        if self._removed is None:
            self._offsets = load_offsets(self.decisions_dir)
            if rank + 1 >= len(self._offsets):
                raise StageError(
                    f"dedup removal: task {rank} has no signatures (run with the signature tasks)"
                )
            # only this task's rows: the whole corpus's decisions would not fit every task at scale
            self._removed = load_removed(self.decisions_dir, self._offsets[rank], self._offsets[rank + 1])
            path = Path(self.decisions_dir) / BOILERPLATE_FILE
            self._boilerplate = np.load(path) if path.is_file() else np.zeros(0, dtype=np.int64)

    def process(self, data: Iterable[Document], rank: int, world_size: int) -> Iterable[Document]:
        self._removed = None  # a worker may run several tasks
        self._load(rank)
        assert self._removed is not None and self._boilerplate is not None
        dropped_dir = Path(self.decisions_dir) / DROPPED_DIR
        dropped_dir.mkdir(parents=True, exist_ok=True)
        with open(dropped_dir / f"{rank:05d}.jsonl", "w", encoding="utf-8") as log:
            yield from self._apply(data, log, self._offsets[rank], self._offsets[rank + 1])

    def _apply(self, data: Iterable[Document], log: TextIO, first: int, end: int) -> Iterable[Document]:
        """Documents of one task; its k-th document is row `first + k` of the signature pass."""
        assert self._removed is not None and self._boilerplate is not None
        for k, doc in enumerate(data):
            if first + k >= end:
                raise StageError("dedup removal: more documents than the signature pass saw; inputs changed?")
            with self.track_time():
                decision = self._removed.get(first + k)
                if decision is not None:
                    reason, cluster, size = decision
                    doc.metadata[CLUSTER_ID] = cluster
                    doc.metadata[CLUSTER_SIZE] = size
                    self.drop(doc, reason)
                    log.write(
                        json.dumps(
                            {
                                "id": str(doc.id),
                                "source": source_of(doc),
                                "reason": reason,
                                CLUSTER_ID: cluster,
                                CLUSTER_SIZE: size,
                            },
                            ensure_ascii=False,
                        )
                        + "\n"
                    )
                    continue
                if len(self._boilerplate):
                    text, removed = remove_paragraphs(doc.text, self._boilerplate, self.paragraph_min_chars)
                    if removed:
                        doc.metadata[BOILERPLATE_REMOVED] = removed
                        if not text.strip():
                            self.drop(doc, BOILERPLATE_ONLY)
                            continue
                        doc.text = text
            yield doc
