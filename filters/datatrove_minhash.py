"""Cluster-scale dedup: datatrove's 4-stage MinHash pipeline, with our normalisation and scheme.

The stages run on datatrove executors (local, or Slurm through `StageRun.executor_factory`):

1. `SciloomMinhashSignature` (a `MinhashDedupSignature`): our tokens and shingles
   (`normalize.py`, a numpy word tokenizer instead of spaCy, which is 10x slower and not installed)
   and our 32-bit permutations, so its band files hold exactly the rows `minhash.signatures`
   computes. Each task also writes a sidecar table (ids, lengths, exact hashes, full signatures) in
   the spill layout (`dedup_spill.save_spill_part`): stage 3 verifies candidates and applies the
   keep rule with it, reading signatures from disk.
2. datatrove's `MinhashDedupBuckets`, unchanged: one task per band (tasks must be a multiple of
   `num_buckets`, FIELD-NOTES 6), writing the pairs of adjacent equal band rows to `.dups` files.
3. `SciloomMinhashCluster` (one task, as datatrove's): rebuilds each run of equal rows from the
   chain of adjacent pairs, emits every pair of the run (what `minhash.candidate_pairs` emits),
   and calls `dedup_clusters.decide`, so verification, components and keep rule are shared.
4. the stage's own removal pass (`dedup_removal.DedupRemovalFilter`), keyed by document id, so
   it does not depend on how stage 1 split the inputs into tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets, MinhashDedupSignature
from datatrove.utils.hashing import HashConfig
from datatrove.utils.word_tokenizers import WordTokenizer

from sciloom.filters.dedup_clusters import decide, save_offsets
from sciloom.filters.dedup_spill import SpilledTable, load_spill_part, save_spill_part, spill_parts_in
from sciloom.filters.exact_dedup import paragraph_hashes
from sciloom.filters.minhash import SENTINEL, MinhashParams, fingerprints, permutations, shingles
from sciloom.filters.normalize import token_hashes, tokens

logger = logging.getLogger(__name__)


class SciloomWordTokenizer(WordTokenizer):
    """datatrove word tokenizer with our math-aware rule (used wherever datatrove asks for words)."""

    def __init__(self) -> None:
        super().__init__("sciloom")

    def word_tokenize(self, text: str) -> list[str]:
        return tokens(text)

    def sent_tokenize(self, text: str) -> list[str]:
        return [s for s in text.split("\n") if s.strip()]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        out, pos = [], 0
        for line in text.split("\n"):
            if line.strip():
                out.append((pos, pos + len(line)))
            pos += len(line) + 1
        return out


def datatrove_config(params: MinhashParams) -> MinhashConfig:
    return MinhashConfig(
        n_grams=params.ngram,
        num_buckets=params.num_bands,
        hashes_per_bucket=params.rows_per_band,
        seed=params.seed,
        hash_config=HashConfig(precision=32, hash_fc="xxhash"),
    )


class SciloomMinhashSignature(MinhashDedupSignature):
    name = "sciloom minhash signatures"

    def __init__(
        self,
        output_folder: str,
        sidecar_folder: str,
        params: MinhashParams,
        paragraph_min_chars: int | None = None,
    ) -> None:
        super().__init__(output_folder, config=datatrove_config(params), language=SciloomWordTokenizer())
        self.params = params
        self.sidecar_folder = sidecar_folder
        self.paragraph_min_chars = paragraph_min_chars
        self._current = -1
        self._sigs: dict[int, np.ndarray] = {}

    def get_shingles(self, text: str) -> np.ndarray:
        hashes, offsets = token_hashes([text])
        values, _ = shingles(hashes, offsets, self.params.ngram)
        return values.astype(np.uint64).reshape((-1, 1))

    def get_signature(self, shingles: np.ndarray) -> list[list[int]]:
        a, b = permutations(self.params.num_perm, self.params.seed)
        x = shingles.reshape(-1).astype(np.uint32)
        sig = (np.multiply.outer(a, x) + b[:, None]).min(axis=1).astype(np.uint32)
        self._sigs[self._current] = sig
        r = self.params.rows_per_band
        return [sig[i * r : (i + 1) * r].tolist() for i in range(self.params.num_bands)]

    def run(self, data: Any, rank: int = 0, world_size: int = 1) -> None:
        rows: list[tuple[str, int, int]] = []
        paras: list[np.ndarray] = []
        self._sigs = {}

        def tap():
            for idx, doc in enumerate(data or []):
                self._current = idx
                _, exact, length = fingerprints([doc.text], self.params)
                rows.append((str(doc.id), int(length[0]), int(exact[0])))
                if self.paragraph_min_chars is not None:
                    paras.append(paragraph_hashes(doc.text, self.paragraph_min_chars))
                yield doc

        super().run(tap(), rank, world_size)
        sigs = np.full((len(rows), self.params.num_perm), SENTINEL, dtype=np.uint32)
        for idx, sig in self._sigs.items():
            sigs[idx] = sig
        save_spill_part(
            Path(self.sidecar_folder) / f"{rank:05d}",
            [r[0] for r in rows],
            np.asarray([r[1] for r in rows], dtype=np.int64),
            np.asarray([r[2] for r in rows], dtype=np.int64),
            sigs,
            paras,
        )


def runs_from_dups(path: Path, offsets: dict[int, int]) -> list[list[int]]:
    """Runs of equal band rows from one `.dups` file (pairs of adjacent members, in sorted order)."""
    data = path.read_bytes()
    quads = np.frombuffer(data, dtype="<u4").reshape(-1, 4) if data else np.zeros((0, 4), dtype=np.uint32)
    runs: list[list[int]] = []
    last_second = None
    for f1, d1, f2, d2 in quads.tolist():
        a, b = offsets[f1] + d1, offsets[f2] + d2
        if last_second is not None and a == last_second:
            runs[-1].append(b)
        else:
            runs.append([a, b])
        last_second = b
    return runs


class SciloomMinhashCluster(PipelineStep):
    """Stage 3: verified clusters and removal decisions, one task."""

    type = "dedup"
    name = "sciloom minhash clusters"

    def __init__(
        self,
        dups_folder: str,
        sidecar_folder: str,
        decisions_folder: str,
        params: MinhashParams,
        exact: bool,
        near: bool,
        paragraph_min_docs: int | None = None,
    ) -> None:
        super().__init__()
        self.dups_folder = dups_folder
        self.sidecar_folder = sidecar_folder
        self.decisions_folder = decisions_folder
        self.params = params
        self.exact = exact
        self.near = near
        self.paragraph_min_docs = paragraph_min_docs

    def run(self, data: Any = None, rank: int = 0, world_size: int = 1) -> None:
        from sciloom.filters.exact_dedup import boilerplate_hashes

        assert world_size == 1, "clustering runs as a single task"
        # Signatures stay on disk (dedup_spill.SpilledTable): this one task holds ~100 bytes per
        # document (id, length, hash), the candidate pairs and the signatures of one chunk of them.
        parts, offsets, total = [], {}, 0
        for task, prefix in spill_parts_in(self.sidecar_folder):
            part = load_spill_part(prefix)
            offsets[task] = total
            total += len(part.ids)
            parts.append(part)
        table = SpilledTable(parts, self.params)
        save_offsets(self.decisions_folder, [offsets[r] for r in sorted(offsets)] + [total])
        pairs = []
        for dups in sorted(Path(self.dups_folder).glob("*.dups")):
            for run in runs_from_dups(dups, offsets):
                run = sorted(run)
                for i in range(len(run)):
                    for j in range(i + 1, len(run)):
                        pairs.append((run[i], run[j]))
        candidates = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        decisions = decide(table, self.params, self.exact, self.near, candidates=candidates)
        decisions.save(self.decisions_folder)
        if self.paragraph_min_docs is not None:
            from sciloom.filters.dedup_removal import BOILERPLATE_FILE

            paras = table.paragraphs
            np.save(
                Path(self.decisions_folder) / BOILERPLATE_FILE,
                boilerplate_hashes(paras, self.paragraph_min_docs),
            )
        self.stat_update("candidate_pairs", value=len(candidates))


def run_datatrove_passes(
    inputs: Sequence[str],
    work_dir: Path,
    decisions_dir: Path,
    params: MinhashParams,
    *,
    exact: bool,
    near: bool,
    tasks: int,
    workers: int,
    executor_factory: Callable[..., Any] | None,
    paragraph_min_chars: int | None,
    paragraph_min_docs: int | None,
) -> None:
    """Stages 1-3 on datatrove executors; stage 4 is the caller's removal pass."""
    from sciloom.corpus.shards import ShardReader

    sig_dir, side_dir, dups_dir = work_dir / "signatures", work_dir / "sidecar", work_dir / "buckets"

    def executor(pipeline: list, n_tasks: int, name: str, n_workers: int):
        logging_dir = str(work_dir / "logs" / name)
        if executor_factory is not None:
            return executor_factory(pipeline=pipeline, tasks=n_tasks, logging_dir=logging_dir)
        from sciloom.corpus.stage import QuietLocalExecutor

        return QuietLocalExecutor(
            pipeline=pipeline, tasks=n_tasks, workers=max(1, min(n_workers, n_tasks)), logging_dir=logging_dir
        )

    stage1 = [
        ShardReader(list(inputs)),
        SciloomMinhashSignature(str(sig_dir), str(side_dir), params, paragraph_min_chars),
    ]
    executor(stage1, tasks, "stage1_signatures", workers).run()
    stage2 = [MinhashDedupBuckets(str(sig_dir), str(dups_dir), config=datatrove_config(params))]
    executor(stage2, params.num_bands, "stage2_buckets", workers).run()
    stage3 = [
        SciloomMinhashCluster(
            str(dups_dir), str(side_dir), str(decisions_dir), params, exact, near, paragraph_min_docs
        )
    ]
    executor(stage3, 1, "stage3_clusters", 1).run()
