"""Local-mode dedup with the signatures on disk: memory grows by tens of bytes per document, not KB.

The in-memory `SignatureTable` costs ~0.6 KB per document for its signatures alone, and the
clustering pass used to copy them several times (1.9 GB RSS for 267k documents). Here, as in
datatrove's MinHash stages, the bulky data goes to disk in the signature pass and is read back
band by band:

- per input file, `spill/NNNNN.sigs` holds its (rows, num_perm) uint32 signatures (raw, row-major)
  and `spill/NNNNN.bands.npy` one sorted run per band: the file's band keys (`minhash.band_keys`)
  in sorted order and the rows in that order, (2, num_bands, rows) uint64;
- in memory stay only what clustering reads for every document: id, keep-rule length, exact hash
  and whether it has shingles (~100 bytes with the id string);
- candidates, band after band: the band's runs of every file are concatenated and merged (numpy's
  stable sort is timsort, which merges presorted runs), invalid rows masked out, and the pairs of
  each run of equal keys taken (`minhash.sorted_band_pairs`), their rows compared on disk. One
  band's keys and rows (16 bytes per document) are in memory at a time;
- verification reads the two signatures of each candidate pair back in chunks.

Ties between equal keys stay in global row order (files in order, each run stable), exactly as
in `minhash.candidate_pairs`, so `dedup_clusters.decide` returns the same clusters from a
`SpilledTable` as from the in-memory table of the same inputs (tests/filters/test_dedup_stage.py).
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sciloom.corpus.errors import StageError
from sciloom.filters.exact_dedup import paragraph_hashes
from sciloom.filters.malloc import keep_freed_memory
from sciloom.filters.minhash import (
    SENTINEL,
    MinhashParams,
    band_keys,
    fingerprints,
    fingerprints_arrow,
    signature_similarity,
    sorted_band_pairs,
    unique_pairs,
)
from sciloom.filters.signature_table import read_texts

SPILL_DIR = "spill"
# Candidate pairs verified per chunk: 2 x 64k signatures of 512 bytes = 64 MiB.
_VERIFY_CHUNK = 65536


@dataclass
class SpillPart:
    """What the signature pass keeps in memory for one input file; the rest is at `prefix`."""

    prefix: str
    ids: list[str]
    lengths: np.ndarray
    hashes: np.ndarray
    nonempty: np.ndarray
    paragraphs: list[np.ndarray] = field(default_factory=list)


def spill_file(
    path: str,
    params: MinhashParams,
    prefix: str,
    batch_size: int = 256,
    paragraph_min_chars: int | None = None,
) -> SpillPart:
    """Signature pass over one file: signatures and sorted band runs to `prefix.*`."""
    keep_freed_memory()
    r = params.rows_per_band
    ids: list[str] = []
    lengths, hashes, nonempty, keys = [], [], [], []
    paragraphs: list[np.ndarray] = []
    tmp = f"{prefix}.sigs.tmp"
    with open(tmp, "wb") as fh:
        for batch_ids, texts in read_texts(path, arrow=paragraph_min_chars is None):
            if isinstance(texts, list):
                texts = [t if isinstance(t, str) else "" for t in texts]
            for s in range(0, len(texts), batch_size):
                chunk = texts[s : s + batch_size]
                if isinstance(chunk, list):
                    sigs, h, n = fingerprints(chunk, params)
                else:  # a Parquet column: hashed from its buffers
                    sigs, h, n = fingerprints_arrow(chunk, params)
                fh.write(sigs.tobytes())
                ids += batch_ids[s : s + batch_size]
                lengths.append(n)
                hashes.append(h)
                nonempty.append(np.any(sigs != SENTINEL, axis=1))
                keys.append(
                    np.stack([band_keys(sigs[:, b * r : (b + 1) * r]) for b in range(params.num_bands)])
                )
                if paragraph_min_chars is not None:
                    paragraphs += [paragraph_hashes(t, paragraph_min_chars) for t in chunk]
    all_keys = np.concatenate(keys, axis=1) if keys else np.zeros((params.num_bands, 0), np.uint64)
    order = np.argsort(all_keys, axis=1, kind="stable")  # one sorted run per band
    runs = np.stack((np.take_along_axis(all_keys, order, axis=1), order.astype(np.uint64)))
    np.save(f"{prefix}.bands.npy", runs)
    os.replace(tmp, f"{prefix}.sigs")
    return SpillPart(
        prefix,
        ids,
        np.concatenate(lengths) if lengths else np.zeros(0, np.int64),
        np.concatenate(hashes) if hashes else np.zeros(0, np.int64),
        np.concatenate(nonempty) if nonempty else np.zeros(0, bool),
        paragraphs,
    )


def save_spill_part(
    prefix: str | os.PathLike,
    ids: list[str],
    lengths: np.ndarray,
    hashes: np.ndarray,
    sigs: np.ndarray,
    paragraphs: list[np.ndarray] | None = None,
) -> None:
    """One task's table in the spill layout: `prefix.sigs` (raw) and `prefix.meta.npz` (the rest).
    datatrove mode's stage 1 writes its sidecars this way, so stage 3 reads signatures lazily."""
    prefix = str(prefix)
    Path(prefix).parent.mkdir(parents=True, exist_ok=True)
    np.ascontiguousarray(sigs, dtype=np.uint32).tofile(f"{prefix}.sigs.tmp")
    paragraphs = paragraphs or []
    np.savez(
        f"{prefix}.meta.tmp.npz",
        ids=np.asarray(ids, dtype=str) if ids else np.zeros(0, dtype="<U1"),
        lengths=np.asarray(lengths, dtype=np.int64),
        hashes=np.asarray(hashes, dtype=np.int64),
        nonempty=np.any(sigs != SENTINEL, axis=1) if len(sigs) else np.zeros(0, bool),
        para_values=np.concatenate(paragraphs) if paragraphs else np.zeros(0, np.int64),
        para_offsets=np.cumsum([0] + [len(p) for p in paragraphs]) if paragraphs else np.zeros(0, np.int64),
    )
    os.replace(f"{prefix}.sigs.tmp", f"{prefix}.sigs")
    os.replace(f"{prefix}.meta.tmp.npz", f"{prefix}.meta.npz")


def load_spill_part(prefix: str | os.PathLike) -> SpillPart:
    """What `save_spill_part` wrote, signatures left on disk."""
    with np.load(f"{prefix}.meta.npz", allow_pickle=False) as z:
        vals, offs = z["para_values"], z["para_offsets"]
        paragraphs = [vals[offs[i] : offs[i + 1]] for i in range(len(offs) - 1)] if len(offs) else []
        return SpillPart(
            str(prefix), [str(x) for x in z["ids"]], z["lengths"], z["hashes"], z["nonempty"], paragraphs
        )


def spill_parts_in(folder: str | os.PathLike) -> list[tuple[int, str]]:
    """(rank, prefix) of the parts `save_spill_part` wrote in `folder`, by rank."""
    metas = Path(folder).glob("*.meta.npz")
    return sorted((int(p.name.split(".")[0]), str(p.parent / p.name.split(".")[0])) for p in metas)


def _spill_job(args: tuple) -> SpillPart:
    return spill_file(*args)


class SpilledTable:
    """The table `dedup_clusters.decide` reads, with signatures and band runs on disk."""

    def __init__(self, parts: Sequence[SpillPart], params: MinhashParams) -> None:
        self.params = params
        self.prefixes = [p.prefix for p in parts]
        self.ids = [i for p in parts for i in p.ids]
        self.lengths = np.concatenate([p.lengths for p in parts]) if parts else np.zeros(0, np.int64)
        self.hashes = np.concatenate([p.hashes for p in parts]) if parts else np.zeros(0, np.int64)
        self._nonempty = np.concatenate([p.nonempty for p in parts]) if parts else np.zeros(0, bool)
        self.paragraphs = [x for p in parts for x in p.paragraphs]
        self.offsets = np.cumsum([0] + [len(p.ids) for p in parts]).astype(np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def nonempty(self) -> np.ndarray:
        return self._nonempty

    def _sigs_file(self, f: int) -> np.ndarray:
        n = int(self.offsets[f + 1] - self.offsets[f])
        return np.memmap(
            f"{self.prefixes[f]}.sigs", dtype=np.uint32, mode="r", shape=(n, self.params.num_perm)
        )

    def sigs_of(self, rows: np.ndarray, cols: slice = slice(None)) -> np.ndarray:
        """Signatures (or the `cols` of them) of the given global rows, read from disk.

        Each file's map is dropped after use, so the pages read do not stay in the RSS."""
        width = len(range(self.params.num_perm)[cols])
        out = np.empty((len(rows), width), dtype=np.uint32)
        if not len(rows):
            return out
        order = np.argsort(rows, kind="stable")
        srows = rows[order]
        file_of = np.searchsorted(self.offsets, srows, side="right") - 1
        bounds = np.flatnonzero(np.diff(file_of)) + 1
        for s, e in zip(np.r_[0, bounds], np.r_[bounds, len(srows)]):
            f = int(file_of[s])
            sigs = self._sigs_file(f)
            out[order[s:e]] = sigs[srows[s:e] - self.offsets[f], cols]
            del sigs
        return out

    def _band_run(self, band: int) -> tuple[np.ndarray, np.ndarray]:
        """(keys, global rows) of one band, every file's sorted run concatenated in file order."""
        keys, rows = [], []
        for f, prefix in enumerate(self.prefixes):
            runs = np.load(f"{prefix}.bands.npy", mmap_mode="r")
            keys.append(np.array(runs[0, band]))
            rows.append(np.array(runs[1, band]).astype(np.int64) + self.offsets[f])
            del runs
        if not keys:
            return np.zeros(0, np.uint64), np.zeros(0, np.int64)
        return np.concatenate(keys), np.concatenate(rows)

    def candidate_pairs(self, params: MinhashParams, valid: np.ndarray) -> np.ndarray:
        r = params.rows_per_band
        chunks: list[np.ndarray] = []
        if int(valid.sum()) < 2:
            return unique_pairs(chunks)
        for band in range(params.num_bands):
            keys, rows = self._band_run(band)
            mask = valid[rows]
            keys, rows = keys[mask], rows[mask]
            order = np.argsort(keys, kind="stable")  # timsort: a merge of the files' sorted runs
            members = rows[order]
            cols = slice(band * r, (band + 1) * r)

            def equal_rows(p: np.ndarray, members: np.ndarray = members, cols: slice = cols) -> np.ndarray:
                return np.all(self.sigs_of(members[p], cols) == self.sigs_of(members[p + 1], cols), axis=1)

            chunks += sorted_band_pairs(keys[order], members, equal_rows)
        return unique_pairs(chunks)

    def verified_edges(self, pairs: np.ndarray, threshold: float) -> np.ndarray:
        if len(pairs) == 0:
            return pairs
        keep = np.zeros(len(pairs), dtype=bool)
        for s in range(0, len(pairs), _VERIFY_CHUNK):
            p = pairs[s : s + _VERIFY_CHUNK]
            sim = signature_similarity(self.sigs_of(p[:, 0]), self.sigs_of(p[:, 1]))
            keep[s : s + _VERIFY_CHUNK] = sim >= threshold - 1e-12
        return pairs[keep]

    def save_kept(self, path: str | os.PathLike, kept: np.ndarray, params: MinhashParams) -> None:
        """Write the kept rows as an index `.npz` that `SignatureTable.load` reads, streaming the
        signatures file by file instead of gathering them in memory."""
        import json

        path = Path(path)
        tmp = path.with_name(path.name + ".tmp.npz")
        kept = np.asarray(kept, dtype=np.int64)
        small = {
            "ids": np.asarray([self.ids[i] for i in kept], dtype=str) if len(kept) else np.zeros(0, "<U1"),
            "lengths": self.lengths[kept],
            "hashes": self.hashes[kept],
            "para_values": np.zeros(0, np.int64),
            "para_offsets": np.zeros(0, np.int64),
            "params": np.asarray(json.dumps(params.to_dict())),
        }
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as zf:
            for name, arr in small.items():
                with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
                    np.lib.format.write_array(fh, arr, allow_pickle=False)
            with zf.open("sigs.npy", "w", force_zip64=True) as fh:
                header = {"descr": np.dtype(np.uint32).str, "fortran_order": False}
                np.lib.format.write_array_header_2_0(fh, {**header, "shape": (len(kept), params.num_perm)})
                for f in range(len(self.prefixes)):
                    lo, hi = np.searchsorted(kept, self.offsets[f : f + 2])
                    for s in range(lo, hi, _VERIFY_CHUNK):
                        rows = kept[s : min(hi, s + _VERIFY_CHUNK)] - self.offsets[f]
                        sigs = self._sigs_file(f)
                        fh.write(np.ascontiguousarray(sigs[rows]).tobytes())
                        del sigs
        os.replace(tmp, path)


def spill_tables(
    paths: Sequence[str],
    params: MinhashParams,
    folder: Path,
    workers: int = 1,
    batch_size: int = 256,
    paragraph_min_chars: int | None = None,
) -> SpilledTable:
    """Signature pass over all input files into `folder`; one process per file when workers > 1."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    jobs = [
        (p, params, str(folder / f"{i:05d}"), batch_size, paragraph_min_chars) for i, p in enumerate(paths)
    ]
    if workers <= 1 or len(paths) <= 1:
        return SpilledTable([_spill_job(j) for j in jobs], params)
    import multiprocessing as mp

    try:
        with mp.get_context("forkserver").Pool(min(workers, len(paths))) as pool:
            return SpilledTable(pool.map(_spill_job, jobs, chunksize=1), params)
    except Exception as err:  # a worker died: a stage failure, not a bad input
        raise StageError(f"signature pass failed: {err}") from err
