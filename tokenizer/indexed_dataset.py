"""Megatron indexed datasets (`PREFIX.bin` + `PREFIX.idx`), written and merged without torch.

The format is megatron-core 0.16.1's `IndexedDatasetBuilder` output, byte for byte (the tests build
the same documents with both and compare the files, and read ours back with megatron-core's
`IndexedDataset` and `GPTDataset`):

    .bin  the token ids of every document, concatenated, in the index dtype
    .idx  b"MMIDIDX\\x00\\x00", u64 version 1, u8 dtype code, u64 sequence count, u64 document count,
          int32 sequence lengths, int64 byte pointers, int64 document indices (0, 1, ..., n)

We write it ourselves because importing `megatron.core` costs about 6 s of CPU per process (it
pulls in torch and the whole training stack), which a tokenize worker would pay before its first
document; and because the builder keeps Python lists of every length, where we keep arrays.
Each document is one sequence (tokens + EOD), as Megatron-LM's `preprocess_data.py` writes them.
"""

from __future__ import annotations

import os
import shutil
import struct
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sciloom.corpus.errors import InputError

INDEX_HEADER = b"MMIDIDX\x00\x00"
INDEX_VERSION = 1
# megatron.core.datasets.indexed_dataset.DType codes.
DTYPE_CODES = {
    np.uint8: 1,
    np.int8: 2,
    np.int16: 3,
    np.int32: 4,
    np.int64: 5,
    np.float64: 6,
    np.float32: 7,
    np.uint16: 8,
}
CODE_DTYPES = {code: dtype for dtype, code in DTYPE_CODES.items()}
# megatron's DType.optimal_dtype: uint16 below this many ids, int32 from here on.
UINT16_LIMIT = 65500
UINT16_MAX = 2**16 - 1
ARRAY_TYPECODES = {np.uint16: "H", np.int32: "i"}


def optimal_dtype(vocab_size: int) -> type[np.integer]:
    """uint16 for vocabularies under 65,500 ids, else int32 (megatron-core's choice)."""
    return np.uint16 if vocab_size < UINT16_LIMIT else np.int32


def bin_path(prefix: str | os.PathLike) -> Path:
    return Path(f"{prefix}.bin")


def idx_path(prefix: str | os.PathLike) -> Path:
    return Path(f"{prefix}.idx")


def exists(prefix: str | os.PathLike) -> bool:
    return bin_path(prefix).is_file() and idx_path(prefix).is_file()


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


@dataclass
class DatasetIndex:
    """The parsed `.idx` of one dataset."""

    dtype: type[np.integer]
    sequence_lengths: np.ndarray  # int32, one per document here
    document_indices: np.ndarray  # int64, 0..n

    @property
    def num_documents(self) -> int:
        return len(self.document_indices) - 1

    @property
    def num_tokens(self) -> int:
        return int(self.sequence_lengths.sum(dtype=np.int64))


def read_index(prefix: str | os.PathLike) -> DatasetIndex:
    """Parse `PREFIX.idx`. A file that is not an index raises InputError."""
    path = idx_path(prefix)
    with open(path, "rb") as fh:
        header = fh.read(len(INDEX_HEADER))
        if header != INDEX_HEADER:
            raise InputError("not_megatron_index", f"bad header {header!r}", path=str(path))
        (version,) = struct.unpack("<Q", fh.read(8))
        (code,) = struct.unpack("<B", fh.read(1))
        (num_sequences,) = struct.unpack("<Q", fh.read(8))
        (num_docs,) = struct.unpack("<Q", fh.read(8))
        if version != INDEX_VERSION or code not in CODE_DTYPES:
            raise InputError("not_megatron_index", f"version {version}, dtype code {code}", path=str(path))
        lengths = np.frombuffer(fh.read(4 * num_sequences), dtype=np.int32)
        fh.seek(8 * num_sequences, os.SEEK_CUR)  # pointers follow from the lengths
        doc_indices = np.frombuffer(fh.read(8 * num_docs), dtype=np.int64)
    return DatasetIndex(CODE_DTYPES[code], lengths, doc_indices)


def write_index(path: Path, dtype: type[np.integer], lengths: np.ndarray, doc_indices: np.ndarray) -> None:
    lengths = np.asarray(lengths, dtype=np.int32)
    pointers = np.zeros(len(lengths), dtype=np.int64)
    if len(lengths) > 1:
        np.cumsum(lengths[:-1].astype(np.int64) * np.dtype(dtype).itemsize, out=pointers[1:])
    with open(path, "wb") as fh:
        fh.write(INDEX_HEADER)
        fh.write(struct.pack("<Q", INDEX_VERSION))
        fh.write(struct.pack("<B", DTYPE_CODES[dtype]))
        fh.write(struct.pack("<Q", len(lengths)))
        fh.write(struct.pack("<Q", len(doc_indices)))
        fh.write(lengths.tobytes(order="C"))
        fh.write(pointers.tobytes(order="C"))
        fh.write(np.asarray(doc_indices, dtype=np.int64).tobytes(order="C"))


class IndexedDatasetWriter:
    """Append documents (lists of ids) to `PREFIX.bin`; `finalize()` writes `PREFIX.idx`.

    Both files are written under temporary names and renamed at the end, so a killed task leaves
    no dataset that looks complete.
    """

    def __init__(self, prefix: str | os.PathLike, dtype: type[np.integer]) -> None:
        self.prefix = Path(prefix)
        self.prefix.parent.mkdir(parents=True, exist_ok=True)
        self.dtype = dtype
        self._typecode = ARRAY_TYPECODES[dtype]
        self._bin = open(_tmp(bin_path(prefix)), "wb")
        self._lengths = array("i")
        self.num_tokens = 0

    def add_document(self, ids: Sequence[int] | np.ndarray) -> None:
        """Append one document (a list of ids or an integer array) as one sequence."""
        if isinstance(ids, np.ndarray):
            if self.dtype is np.uint16 and len(ids) and (ids.max() > UINT16_MAX or ids.min() < 0):
                raise OverflowError(f"id out of range for uint16 in {self.prefix}")
            data = ids.astype(self.dtype, copy=False).tobytes()
        else:
            # array.tobytes is the cheapest list[int] -> bytes on CPython; array("H") rejects
            # ids >= 2**16, so a vocabulary/dtype mismatch cannot pass silently.
            data = array(self._typecode, ids).tobytes()
        self._bin.write(data)
        self._lengths.append(len(ids))
        self.num_tokens += len(ids)

    def add_documents(self, docs: Sequence[np.ndarray]) -> None:
        """Append several documents (integer arrays) with one range check and one write."""
        if not len(docs):
            return
        data = np.concatenate(docs)
        if self.dtype is np.uint16 and len(data) and (data.max() > UINT16_MAX or data.min() < 0):
            raise OverflowError(f"id out of range for uint16 in {self.prefix}")
        self._bin.write(data.astype(self.dtype, copy=False).tobytes())
        self._lengths.extend(len(d) for d in docs)
        self.num_tokens += len(data)

    @property
    def num_documents(self) -> int:
        return len(self._lengths)

    def finalize(self) -> None:
        self._bin.close()
        lengths = np.frombuffer(self._lengths, dtype=np.int32) if self._lengths else np.zeros(0, np.int32)
        write_index(
            _tmp(idx_path(self.prefix)), self.dtype, lengths, np.arange(len(lengths) + 1, dtype=np.int64)
        )
        os.replace(_tmp(bin_path(self.prefix)), bin_path(self.prefix))
        os.replace(_tmp(idx_path(self.prefix)), idx_path(self.prefix))

    def abort(self) -> None:
        self._bin.close()
        for path in (_tmp(bin_path(self.prefix)), _tmp(idx_path(self.prefix))):
            path.unlink(missing_ok=True)


def merge_datasets(parts: Sequence[str | os.PathLike], out_prefix: str | os.PathLike) -> DatasetIndex:
    """Concatenate datasets (in the given order) into `out_prefix`, as `IndexedDatasetBuilder.add_index`."""
    if not parts:
        raise ValueError("merge_datasets: no parts")
    indices = [read_index(p) for p in parts]
    dtype = indices[0].dtype
    if any(ix.dtype is not dtype for ix in indices):
        raise InputError("mixed_dtypes", f"{[ix.dtype.__name__ for ix in indices]}", path=str(out_prefix))
    out_prefix = Path(out_prefix)
    with open(_tmp(bin_path(out_prefix)), "wb") as out:
        for part in parts:
            with open(bin_path(part), "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 24)
    lengths = np.concatenate([ix.sequence_lengths for ix in indices])
    doc_parts, offset = [np.zeros(1, dtype=np.int64)], 0
    for ix in indices:  # as IndexedDatasetBuilder.add_index: shift each part's document boundaries
        doc_parts.append(ix.document_indices[1:] + offset)
        offset += len(ix.sequence_lengths)
    doc_indices = np.concatenate(doc_parts)
    write_index(_tmp(idx_path(out_prefix)), dtype, lengths, doc_indices)
    os.replace(_tmp(bin_path(out_prefix)), bin_path(out_prefix))
    os.replace(_tmp(idx_path(out_prefix)), idx_path(out_prefix))
    return DatasetIndex(dtype, lengths, doc_indices)
