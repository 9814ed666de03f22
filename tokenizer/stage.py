"""The tokenize stage: shards -> one megatron-core indexed dataset per source.

`run_tokenize_stage(inputs, tokenizer_model, run)` is a normal sciloom stage (reader, steps,
Parquet writer on datatrove's executor, manifest whose ledger balances: every document is kept
and passed through to `docs/`), with one step that encodes each document and appends its ids
plus EOD to a per-task, per-source dataset part `tokens/parts/<source>/<rank>.bin|idx`. Tasks are
one per input shard, so a killed run resumes shard by shard (datatrove's completions). After the
tasks, the parts of each source are concatenated in rank order into `tokens/<source>.bin|idx`,
which is therefore the same whatever the number of workers.

The tokenizer model is copied to `tokens/tokenizer.model` and its sha256 goes into the manifest;
a stage folder made with one tokenizer refuses to take tokens from another.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from datatrove.data import Document

from sciloom.corpus.errors import StageError
from sciloom.corpus.output_folder import claim_output_folder
from sciloom.corpus.record import source_of
from sciloom.corpus.shards import ShardReader
from sciloom.corpus.stage import StageRun, run_stage
from sciloom.corpus.step import SciloomStep
from sciloom.manifests.checksums import sha256_file
from sciloom.manifests.schema import StageManifest
from sciloom.tokenizer import indexed_dataset as ids_format
from sciloom.tokenizer.encode import DocumentEncoder, load_encoder
from sciloom.tokenizer.extend import HF_NAME
from sciloom.tokenizer.metadata import (
    METADATA_NAME,
    MODEL_NAME,
    fingerprint,
    metadata_path,
    write_megatron_metadata,
)
from sciloom.tokenizer.model_file import check_tokenizer_model

logger = logging.getLogger(__name__)

TEXT_NOT_STRING = "text_not_string"
TOKENS_DIR = "tokens"
HF_CONFIG_NAME = "tokenizer_config.json"
PARTS_DIR = "parts"
BATCH_DOCS = 256


class TokenizerMismatchError(StageError):
    """A stage folder holds datasets made with another tokenizer than the one given."""


def dataset_name(source: str) -> str:
    """File-system name of a source's dataset (source names are free text in recipes)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", source).strip("._") or "unknown"


class TokenizeStep(SciloomStep):
    """Encode each document (ids + EOD) into this task's per-source dataset parts; pass it on."""

    name = "tokenize"
    type = "tokenizer"

    def __init__(self, model_path: str, tokens_dir: str) -> None:
        super().__init__()
        self.encoder = load_encoder(model_path)
        self.tokens_dir = tokens_dir

    def process(self, data: Iterable[Document], rank: int, world_size: int) -> Iterable[Document]:
        # Documents are encoded BATCH_DOCS at a time: one SentencePiece call and one .bin write per
        # batch and source instead of one per document (the per-document Python around `encode`
        # was a third of the stage's CPU). Each source's documents keep their order, so the
        # datasets are byte-identical to encoding one by one.
        encoder = self.encoder
        dtype = ids_format.optimal_dtype(encoder.vocab_size)
        writers: dict[str, ids_format.IndexedDatasetWriter] = {}
        parts = Path(self.tokens_dir) / PARTS_DIR
        batch: list[Document] = []

        def flush() -> list[Document]:
            with self.track_time():
                arrays = encoder.encode_arrays([d.text for d in batch], add_eod=True)
                by_source: dict[str, list] = {}
                for doc, ids in zip(batch, arrays):
                    by_source.setdefault(source_of(doc), []).append(ids)
                for source, docs in by_source.items():
                    writer = writers.get(source)
                    if writer is None:
                        prefix = parts / dataset_name(source) / f"{rank:05d}"
                        writer = writers[source] = ids_format.IndexedDatasetWriter(prefix, dtype)
                    writer.add_documents(docs)
            done = batch.copy()
            batch.clear()
            return done

        try:
            for doc in data:
                if not isinstance(doc.text, str):  # a JSONL row with "text": 5 or null
                    self.quarantine(
                        input=str(doc.id),
                        reason=TEXT_NOT_STRING,
                        detail=type(doc.text).__name__,
                        source=source_of(doc),
                    )
                    continue
                batch.append(doc)
                if len(batch) >= BATCH_DOCS:
                    yield from flush()
            if batch:
                yield from flush()
        except BaseException:
            for writer in writers.values():
                writer.abort()
            raise
        for source, writer in writers.items():
            writer.finalize()
            self.stat_update(f"tokens|{source}", value=writer.num_tokens)


def run_tokenize_stage(
    inputs: list[str], tokenizer_model: Path, run: StageRun, *, default_source: str = "unknown"
) -> StageManifest:
    """Tokenize `inputs` (shards) into `run.out_dir/tokens/<source>.bin|idx`; return the manifest.

    `manifest.extra["tokenize"]` holds the tokenizer sha256 and, per source, the dataset prefix,
    tokens (EOD included), documents and the sha256 of both files.
    """
    if not inputs:
        raise StageError(f"stage {run.name}: no inputs")
    # Loaded once here, before the stage folder is touched: a wrong file is a one-line usage error.
    model = check_tokenizer_model(tokenizer_model)
    # Absolute: the step may run in another working directory (a Slurm task).
    tokens_dir = Path(run.out_dir).absolute() / TOKENS_DIR
    claim_output_folder(run.out_dir, force=run.force)  # refuses a folder sciloom did not make
    sha = fingerprint(model)
    pinned = pin_tokenizer(model, sha, tokens_dir)
    run = dataclasses.replace(run, tasks=run.tasks or len(inputs))
    reader = ShardReader(inputs, source=default_source)
    step = TokenizeStep(str(pinned), str(tokens_dir))

    def extra(manifest: StageManifest) -> dict[str, Any]:
        return {"tokenize": merge_parts(manifest, tokens_dir, sha, step.encoder)}

    return run_stage(run, reader, [step], extra=extra)


def pin_tokenizer(model: Path, sha: str, tokens_dir: Path) -> Path:
    """Copy the model into the stage folder, or refuse when the folder holds another tokenizer."""
    pinned = tokens_dir / (HF_NAME if model.suffix == ".json" else MODEL_NAME)
    other = tokens_dir / (MODEL_NAME if model.suffix == ".json" else HF_NAME)
    if other.is_file():
        raise TokenizerMismatchError(f"{tokens_dir}: datasets here were made with {other.name}, not {model}")
    if pinned.is_file():
        old = fingerprint(pinned)
        if old != sha:
            raise TokenizerMismatchError(
                f"{tokens_dir}: datasets here were made with tokenizer sha256 {old[:12]}..., not "
                f"{model} ({sha[:12]}...); use a new output folder"
            )
        return pinned
    tokens_dir.mkdir(parents=True, exist_ok=True)
    tmp = tokens_dir / f".{pinned.name}.tmp"
    shutil.copyfile(model, tmp)
    if metadata_path(model).is_file():
        shutil.copyfile(metadata_path(model), tokens_dir / METADATA_NAME)
    if pinned.name == MODEL_NAME:
        write_megatron_metadata(pinned)
    elif model.with_name(HF_CONFIG_NAME).is_file():  # names the EOD token of an HF tokenizer
        shutil.copyfile(model.with_name(HF_CONFIG_NAME), tokens_dir / HF_CONFIG_NAME)
    tmp.replace(pinned)
    return pinned


def merge_parts(
    manifest: StageManifest, tokens_dir: Path, sha: str, encoder: DocumentEncoder
) -> dict[str, Any]:
    """Concatenate each source's parts into its dataset and describe the datasets."""
    parts_dir = tokens_dir / PARTS_DIR
    datasets: dict[str, Any] = {}
    for source, counts in manifest.sources.items():
        kept = counts.docs["kept"]
        if kept == 0:
            continue
        name = dataset_name(source)
        prefix = tokens_dir / name
        part_prefixes = sorted(
            str(p.with_suffix("")) for p in (parts_dir / name).glob("*.idx") if not p.name.startswith(".")
        )
        if part_prefixes:
            index = ids_format.merge_datasets(part_prefixes, prefix)
            shutil.rmtree(parts_dir / name)
        elif ids_format.exists(prefix):  # a rerun of a finished stage: the parts were merged already
            index = ids_format.read_index(prefix)
        else:
            raise StageError(f"tokenize: no token data for source {source!r} in {tokens_dir}")
        if index.num_documents != kept:
            raise StageError(
                f"tokenize: source {source!r} has {index.num_documents} documents in {prefix} but "
                f"{kept} kept in the ledger (stale parts from another run in {parts_dir}?)"
            )
        datasets[source] = {
            "prefix": str(prefix.resolve()),
            "path": str(prefix.relative_to(tokens_dir.parent)),
            "tokens": index.num_tokens,
            "documents": index.num_documents,
            "text_bytes": counts.bytes["kept"],
            "bin_sha256": sha256_file(ids_format.bin_path(prefix)),
            "idx_sha256": sha256_file(ids_format.idx_path(prefix)),
        }
    if parts_dir.is_dir() and not any(parts_dir.iterdir()):
        parts_dir.rmdir()
    total = sum(d["tokens"] for d in datasets.values())
    return {
        "tokenizer_sha256": sha,
        "tokenizer_model": str(Path(encoder.model_path).resolve()),
        "vocab_size": encoder.vocab_size,
        "dtype": ids_format.optimal_dtype(encoder.vocab_size).__name__,
        "eod_id": encoder.eod_id,
        "tokens": total,
        "documents": sum(d["documents"] for d in datasets.values()),
        "datasets": datasets,
        # Megatron's --data-path weighted by tokens: the natural proportions of this stage.
        "data_path": [x for d in datasets.values() for x in (d["tokens"], d["prefix"])],
    }
