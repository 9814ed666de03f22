"""Our .bin/.idx writer is megatron-core's IndexedDatasetBuilder, byte for byte."""

from __future__ import annotations

import numpy as np
import pytest
from megatron.core.datasets.indexed_dataset import IndexedDataset, IndexedDatasetBuilder

from sciloom.tokenizer.encode import DocumentEncoder
from sciloom.tokenizer.indexed_dataset import (
    IndexedDatasetWriter,
    merge_datasets,
    optimal_dtype,
    read_index,
)


@pytest.fixture(scope="module")
def documents(bpe_model, real_docs) -> list[list[int]]:
    encoder = DocumentEncoder(bpe_model)
    return [encoder.encode(d["text"], add_eod=True) for d in real_docs[::40]] + [[encoder.eod_id]]


def _builder_files(prefix, docs, dtype):
    builder = IndexedDatasetBuilder(f"{prefix}.bin", dtype=dtype)
    for ids in docs:
        builder.add_document(np.array(ids), [len(ids)])
    builder.finalize(f"{prefix}.idx")


def _writer_files(prefix, docs, dtype):
    writer = IndexedDatasetWriter(prefix, dtype)
    for ids in docs:
        writer.add_document(ids)
    writer.finalize()


@pytest.mark.parametrize("dtype", [np.uint16, np.int32])
def test_writer_output_is_byte_identical_to_megatron_builder(tmp_path, documents, dtype):
    _builder_files(tmp_path / "theirs", documents, dtype)
    _writer_files(tmp_path / "ours", documents, dtype)
    for ext in ("bin", "idx"):
        assert (tmp_path / f"ours.{ext}").read_bytes() == (tmp_path / f"theirs.{ext}").read_bytes()


def test_megatron_reads_every_document_back(tmp_path, documents):
    _writer_files(tmp_path / "ds", documents, np.uint16)
    ds = IndexedDataset(str(tmp_path / "ds"))
    assert len(ds) == len(documents)
    for i, ids in enumerate(documents):
        assert ds[i].tolist() == ids
    index = read_index(tmp_path / "ds")
    assert index.num_tokens == sum(map(len, documents)) == int(ds.sequence_lengths.sum())


def test_merge_equals_megatron_add_index(tmp_path, documents):
    half = len(documents) // 2
    _writer_files(tmp_path / "a", documents[:half], np.uint16)
    _writer_files(tmp_path / "b", documents[half:], np.uint16)
    merge_datasets([tmp_path / "a", tmp_path / "b"], tmp_path / "ours")
    builder = IndexedDatasetBuilder(str(tmp_path / "theirs.bin"), dtype=np.uint16)
    builder.add_index(str(tmp_path / "a"))
    builder.add_index(str(tmp_path / "b"))
    builder.finalize(str(tmp_path / "theirs.idx"))
    for ext in ("bin", "idx"):
        assert (tmp_path / f"ours.{ext}").read_bytes() == (tmp_path / f"theirs.{ext}").read_bytes()


def test_dtype_follows_vocab_size_as_megatron_chooses():
    assert optimal_dtype(32000) is np.uint16
    assert optimal_dtype(65499) is np.uint16
    assert optimal_dtype(65500) is np.int32
    assert optimal_dtype(128256) is np.int32


def test_an_id_too_large_for_the_dtype_is_refused_not_wrapped(tmp_path):
    writer = IndexedDatasetWriter(tmp_path / "x", np.uint16)
    with pytest.raises(OverflowError):
        writer.add_document([1, 70000])
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_arrays_and_lists_give_the_same_files_and_arrays_are_range_checked(tmp_path, documents):
    _writer_files(tmp_path / "lists", documents, np.uint16)
    _writer_files(tmp_path / "arrays", [np.array(d, dtype=np.int32) for d in documents], np.uint16)
    for ext in ("bin", "idx"):
        assert (tmp_path / f"lists.{ext}").read_bytes() == (tmp_path / f"arrays.{ext}").read_bytes()
    writer = IndexedDatasetWriter(tmp_path / "x", np.uint16)
    with pytest.raises(OverflowError):
        writer.add_document(np.array([1, 70000], dtype=np.int32))
    writer.abort()


@pytest.mark.parametrize("dtype", [np.uint16, np.int32])
def test_documents_added_in_batches_give_megatrons_files_and_are_range_checked(tmp_path, documents, dtype):
    _builder_files(tmp_path / "theirs", documents, dtype)
    writer = IndexedDatasetWriter(tmp_path / "batched", dtype)
    arrays = [np.array(d, dtype=np.int32) for d in documents]
    for s in range(0, len(arrays), 7):  # uneven batches, one of them a single EOD-only document
        writer.add_documents(arrays[s : s + 7])
    writer.add_documents([])
    writer.finalize()
    for ext in ("bin", "idx"):
        assert (tmp_path / f"theirs.{ext}").read_bytes() == (tmp_path / f"batched.{ext}").read_bytes()
    writer = IndexedDatasetWriter(tmp_path / "x", np.uint16)
    with pytest.raises(OverflowError):
        writer.add_documents([np.array([1, 2], dtype=np.int32), np.array([70000], dtype=np.int32)])
    writer.abort()


def test_batch_encoding_equals_encoding_each_text(bpe_model, real_docs):
    encoder = DocumentEncoder(bpe_model)
    texts = [d["text"] for d in real_docs[::10]]
    texts[3:3] = ["", "a \u2581 real space mark", "\u2581", "ends with \u2581\u2581"]
    batched = encoder.encode_arrays(texts, add_eod=True)
    assert len(batched) == len(texts)
    for text, ids in zip(texts, batched):
        assert ids.dtype == np.int32 and ids.tolist() == encoder.encode(text, add_eod=True)
    assert encoder.decode(batched[4][:-1].tolist()) == texts[4]
