"""Pass 1 of dedup: per input file, the table of what clustering needs about each document.

A `SignatureTable` holds, row by row, the document id, its length in characters (for the keep
rule), its exact hash, its MinHash signature and (when paragraph dedup is on) its distinct
paragraph hashes. Tables are computed per input file (one task each, in parallel), saved as
`.npz`, concatenated for the global clustering pass, and the kept rows of a finished stage are
saved as its `minhash/index.npz`, the stored signatures an incremental run checks against.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sciloom.corpus.errors import InputError, StageError
from sciloom.corpus.shards import ROW_GROUP_ROWS, SCHEMA, iter_rows
from sciloom.filters.exact_dedup import paragraph_hashes
from sciloom.filters.malloc import keep_freed_memory
from sciloom.filters.minhash import SENTINEL, MinhashParams, candidate_pairs, fingerprints, verified_edges

logger = logging.getLogger(__name__)


@dataclass
class SignatureTable:
    ids: list[str]
    lengths: np.ndarray  # int64 UTF-8 bytes of the normalised tokens (minhash.fingerprints)
    hashes: np.ndarray  # int64 exact-dup hash of the normalised token sequence
    sigs: np.ndarray  # (n, num_perm) uint32
    paragraphs: list[np.ndarray] = field(default_factory=list)  # per doc, when paragraph dedup is on

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def empty(cls, num_perm: int) -> SignatureTable:
        return cls([], np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, num_perm), np.uint32))

    @classmethod
    def concat(cls, tables: Sequence[SignatureTable], num_perm: int) -> SignatureTable:
        if not tables:
            return cls.empty(num_perm)
        return cls(
            [i for t in tables for i in t.ids],
            np.concatenate([t.lengths for t in tables]),
            np.concatenate([t.hashes for t in tables]),
            np.concatenate([t.sigs for t in tables]),
            [p for t in tables for p in t.paragraphs],
        )

    def nonempty(self) -> np.ndarray:
        """Whether each document has shingles (an empty one has the SENTINEL signature)."""
        return np.any(self.sigs != SENTINEL, axis=1)

    def candidate_pairs(self, params: MinhashParams, valid: np.ndarray) -> np.ndarray:
        return candidate_pairs(self.sigs, params, valid)

    def verified_edges(self, pairs: np.ndarray, threshold: float) -> np.ndarray:
        return verified_edges(self.sigs, pairs, threshold)

    def take(self, rows: np.ndarray) -> SignatureTable:
        return SignatureTable(
            [self.ids[i] for i in rows],
            self.lengths[rows],
            self.hashes[rows],
            self.sigs[rows],
            [self.paragraphs[i] for i in rows] if self.paragraphs else [],
        )

    def save(self, path: str | os.PathLike, params: MinhashParams | None = None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(
            tmp,
            ids=np.asarray(self.ids, dtype=str) if self.ids else np.zeros(0, dtype="<U1"),
            lengths=self.lengths,
            hashes=self.hashes,
            sigs=self.sigs,
            para_values=np.concatenate(self.paragraphs) if self.paragraphs else np.zeros(0, np.int64),
            para_offsets=np.cumsum([0] + [len(p) for p in self.paragraphs])
            if self.paragraphs
            else np.zeros(0, np.int64),
            params=np.asarray(json.dumps(params.to_dict() if params else {})),
        )
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> tuple[SignatureTable, dict]:
        with np.load(path, allow_pickle=False) as z:
            table = cls([str(x) for x in z["ids"]], z["lengths"], z["hashes"], z["sigs"])
            if len(z["para_offsets"]):
                vals, offs = z["para_values"], z["para_offsets"]
                table.paragraphs = [vals[offs[i] : offs[i + 1]] for i in range(len(offs) - 1)]
            params = json.loads(str(z["params"]))
        return table, params


def read_texts(path: str, arrow: bool = False) -> Iterator[tuple[list[str], list[str] | pa.Array]]:
    """(ids, texts) batches of one shard file; stops quietly where the file turns unreadable (the
    removal pass's reader quarantines it and counts the documents it could read). With `arrow`,
    the texts of a Parquet file come as the Arrow string array (no Python str per document)."""
    try:
        # Parquet in another schema takes the row path, as in the removal pass (`dedup_write`),
        # so both passes see the same rows (the shared reader's ids, checks and size cap).
        if path.endswith(".parquet") and pq.ParquetFile(path).schema_arrow.names == SCHEMA.names:
            pf = pq.ParquetFile(path)
            # the removal pass reads in ROW_GROUP_ROWS batches too: on a corrupt file both stop at
            # the same row, so their row positions agree
            for batch in pf.iter_batches(batch_size=ROW_GROUP_ROWS, columns=["id", "text"]):
                texts = batch.column("text")
                yield batch.column("id").to_pylist(), texts if arrow else texts.to_pylist()
            return
        ids: list[str] = []
        texts: list[str] = []
        error: InputError | None = None
        try:
            for row in iter_rows(path):
                ids.append(str(row["id"]))
                texts.append(row["text"])
                if len(ids) >= 4096:
                    yield ids, texts
                    ids, texts = [], []
        except InputError as err:
            error = err
        if ids:  # the rows read before an error stay in the stage (ShardReader keeps them too)
            yield ids, texts
        if error is not None:
            raise error
    except (InputError, OSError) as err:
        logger.warning("signatures: %s unreadable past this point (%s)", path, err)
    except Exception as err:  # pyarrow raises its own types for corrupt files
        if type(err).__module__.startswith("pyarrow"):
            logger.warning("signatures: %s unreadable past this point (%s)", path, err)
            return
        raise


def compute_table(
    path: str, params: MinhashParams, batch_size: int = 256, paragraph_min_chars: int | None = None
) -> SignatureTable:
    """The signature table of one shard file."""
    tables = []
    for ids, texts in read_texts(path):
        texts = [t if isinstance(t, str) else "" for t in texts]
        for s in range(0, len(texts), batch_size):
            chunk = texts[s : s + batch_size]
            sigs, hashes, lengths = fingerprints(chunk, params)
            tables.append(
                SignatureTable(
                    ids[s : s + batch_size],
                    lengths,
                    hashes,
                    sigs,
                    [paragraph_hashes(t, paragraph_min_chars) for t in chunk]
                    if paragraph_min_chars is not None
                    else [],
                )
            )
    return SignatureTable.concat(tables, params.num_perm)


def _compute_job(args: tuple) -> SignatureTable:
    keep_freed_memory()
    return compute_table(*args)


def compute_tables(
    paths: Sequence[str],
    params: MinhashParams,
    workers: int = 1,
    batch_size: int = 256,
    paragraph_min_chars: int | None = None,
) -> list[SignatureTable]:
    """Tables of all input files, in input order; one process per file when workers > 1."""
    keep_freed_memory()  # the batches reuse their temporaries instead of page-faulting them in
    jobs = [(p, params, batch_size, paragraph_min_chars) for p in paths]
    if workers <= 1 or len(paths) <= 1:
        return [_compute_job(j) for j in jobs]
    import multiprocessing as mp

    ctx = mp.get_context("forkserver")
    try:
        with ctx.Pool(min(workers, len(paths))) as pool:
            return pool.map(_compute_job, jobs, chunksize=1)
    except Exception as err:  # a worker died: a stage failure, not a bad input
        raise StageError(f"signature pass failed: {err}") from err
