"""The tokenizer inside `sciloom build` on the embedded sample: lossless on every document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from megatron.core.datasets.indexed_dataset import IndexedDataset

from sciloom.corpus.cli.main import main
from sciloom.corpus.record import source_of
from sciloom.corpus.shards import read_documents, shard_files
from sciloom.tokenizer.encode import DocumentEncoder


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "build"
    assert main(["build", "--out", str(out), "--no-progress"]) == 0
    return out


def test_round_trip_on_every_document_of_every_stage_of_the_sample_build(build):
    outputs = json.loads((build / "manifest.json").read_text())["outputs"]
    encoder = DocumentEncoder(build / outputs["tokenizer"])
    stages = sorted(d for d in build.iterdir() if d.is_dir() and shard_files(d))
    docs = [doc for stage in stages for doc in read_documents(shard_files(stage))]
    assert len(docs) > 100
    assert [doc.id for doc in docs if encoder.decode(encoder.encode(doc.text)) != doc.text] == []


def test_the_datasets_hold_exactly_the_mixed_documents(build):
    outputs = json.loads((build / "manifest.json").read_text())["outputs"]
    encoder = DocumentEncoder(outputs["tokenizer_model"])
    tokenize_dir = Path(outputs["tokenizer_model"]).parents[1]
    by_source: dict[str, list[str]] = {}
    for doc in read_documents(shard_files(tokenize_dir)):
        by_source.setdefault(source_of(doc), []).append(doc.text)
    assert set(by_source) == set(outputs["datasets"])
    for source, info in outputs["datasets"].items():
        ds = IndexedDataset(info["prefix"])
        assert [encoder.decode(ds[i].tolist()[:-1]) for i in range(len(ds))] == by_source[source]
