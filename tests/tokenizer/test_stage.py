"""The tokenize stage on real text: megatron-core reads it, counts match, resumes, refuses mixes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import sentencepiece as spm
from megatron.core.datasets.blended_megatron_dataset_builder import BlendedMegatronDatasetBuilder
from megatron.core.datasets.gpt_dataset import GPTDataset, GPTDatasetConfig
from megatron.core.datasets.indexed_dataset import IndexedDataset
from megatron.core.tokenizers import MegatronTokenizer

from sciloom.corpus.shards import read_documents, shard_files
from sciloom.corpus.stage import StageRun
from sciloom.manifests.checksums import sha256_file
from sciloom.manifests.schema import load_manifest
from sciloom.tokenizer.config import TokenizerConfig
from sciloom.tokenizer.stage import TokenizerMismatchError, run_tokenize_stage
from sciloom.tokenizer.train import train_tokenizer


@pytest.fixture(scope="module")
def stage(tmp_path_factory, shard_paths, bpe_model):
    out = tmp_path_factory.mktemp("tokenize") / "stage"
    manifest = run_tokenize_stage(shard_paths, bpe_model, StageRun(name="tokenize", out_dir=out, workers=2))
    return out, manifest


def test_one_dataset_per_source_with_counts_equal_to_the_manifest(stage, real_docs):
    out, manifest = stage
    info = manifest.extra["tokenize"]
    assert set(info["datasets"]) == {"arxiv", "math", "sample", "web", "web_html"}
    for source, d in info["datasets"].items():
        ds = IndexedDataset(d["prefix"])
        assert len(ds) == d["documents"] == sum(doc["source"] == source for doc in real_docs)
        assert int(ds.sequence_lengths.sum()) == d["tokens"]
        assert d["bin_sha256"] == sha256_file(f"{d['prefix']}.bin")
        assert d["idx_sha256"] == sha256_file(f"{d['prefix']}.idx")
        assert Path(out / d["path"]).with_suffix(".bin").is_file()
    assert info["tokens"] == sum(d["tokens"] for d in info["datasets"].values())
    assert info["dtype"] == "uint16"


def test_every_document_decodes_back_exactly_with_one_eod(stage, real_docs, bpe_model):
    _, manifest = stage
    sp = spm.SentencePieceProcessor(model_file=str(bpe_model))
    eod = sp.eos_id()
    for source, d in manifest.extra["tokenize"]["datasets"].items():
        ds = IndexedDataset(d["prefix"])
        texts = [doc["text"] for doc in real_docs if doc["source"] == source]  # input order is kept
        for i, text in enumerate(texts):
            ids = ds[i].tolist()
            assert ids[-1] == eod and eod not in ids[:-1]
            assert sp.decode(ids[:-1]) == text, (source, i)


def test_ledger_balances_and_documents_pass_through(stage, real_docs):
    out, manifest = stage
    totals = manifest.totals.docs
    assert totals["in"] == totals["kept"] == len(real_docs)
    assert sum(1 for _ in read_documents(shard_files(out))) == len(real_docs)
    assert load_manifest(out).extra["tokenize"]["tokenizer_sha256"] == sha256_file(
        out / "tokens/tokenizer.model"
    )


def test_gpt_dataset_reads_the_output_with_the_megatron_tokenizer(stage):
    out, manifest = stage
    info = manifest.extra["tokenize"]
    tokenizer = MegatronTokenizer.from_pretrained(info["tokenizer_model"])  # our tokenizer_metadata.json
    assert tokenizer.eod == info["eod_id"]
    prefixes = [d["prefix"] for d in info["datasets"].values()]
    weights = [float(d["tokens"]) for d in info["datasets"].values()]
    config = GPTDatasetConfig(
        random_seed=1234,
        sequence_length=256,
        blend=(prefixes, weights),
        split="1,0,0",
        tokenizer=tokenizer,
        reset_position_ids=False,
        reset_attention_mask=False,
        eod_mask_loss=False,
    )
    train, _, _ = BlendedMegatronDatasetBuilder(GPTDataset, [200, 0, 0], lambda: True, config).build()
    assert len(train) >= 200  # megatron adds a small surplus per dataset
    sample = train[0]
    assert sample["tokens"].shape[0] == 256
    assert int(sample["tokens"].max()) < info["vocab_size"]


def test_rerun_resumes_and_gives_the_same_datasets(stage, shard_paths, bpe_model):
    out, manifest = stage
    again = run_tokenize_stage(shard_paths, bpe_model, StageRun(name="tokenize", out_dir=out, workers=1))
    assert again.extra["tokenize"]["datasets"] == manifest.extra["tokenize"]["datasets"]


def test_a_killed_run_resumes_shard_by_shard_to_the_same_datasets(tmp_path, stage, shard_paths, bpe_model):
    _, manifest = stage
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "sciloom.corpus.cli.main", "tokenize", *shard_paths]
    # Its own process group, killed whole: killing only the CLI process left datatrove's worker
    # (a forkserver child) running after the test, tokenizing into a deleted folder.
    proc = subprocess.Popen(
        [*cmd, "--tokenizer", str(bpe_model), "--out", str(out), "--workers", "1"], start_new_session=True
    )
    first_done = out / "logs" / "completions" / "00000"
    deadline = time.time() + 120
    while not first_done.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the run finished before it could be killed"
    assert _group_gone(proc.pid), "a worker of the killed run is still alive"
    assert not (out / "manifest.json").exists()
    stats_mtime = (out / "logs" / "stats" / "00000.json").stat().st_mtime_ns
    resumed = run_tokenize_stage(shard_paths, bpe_model, StageRun(name="tokenize", out_dir=out, workers=1))
    assert (out / "logs" / "stats" / "00000.json").stat().st_mtime_ns == stats_mtime  # not redone
    # Byte-identical to the uninterrupted 2-worker run.
    theirs = {
        s: (d["bin_sha256"], d["idx_sha256"]) for s, d in manifest.extra["tokenize"]["datasets"].items()
    }
    ours = {s: (d["bin_sha256"], d["idx_sha256"]) for s, d in resumed.extra["tokenize"]["datasets"].items()}
    assert ours == theirs
    assert not (out / "tokens" / "parts").exists()


def test_datasets_from_another_tokenizer_are_refused(tmp_path, stage, shard_paths, unigram_model):
    out, _ = stage
    with pytest.raises(TokenizerMismatchError, match="another|sha256"):
        run_tokenize_stage(shard_paths, unigram_model, StageRun(name="tokenize", out_dir=out))


def test_a_broken_shard_is_quarantined_and_the_rest_tokenized(tmp_path, shard_paths, bpe_model):
    bad = tmp_path / "broken.jsonl"
    good = Path(shard_paths[0]).read_text().split("\n")[:3]
    bad.write_text("\n".join(good) + "\n{not json\n")
    manifest = run_tokenize_stage([str(bad)], bpe_model, StageRun(name="tokenize", out_dir=tmp_path / "out"))
    assert manifest.totals.quarantined_reasons == {"bad_json_line": 1}
    assert manifest.extra["tokenize"]["documents"] == 3


def test_large_vocabulary_writes_int32(tmp_path, shard_paths):
    # 70k pieces do not fit uint16: tokenize with a model extended past 65,500 ids.
    from sentencepiece import sentencepiece_model_pb2 as pb

    base = train_tokenizer(
        shard_paths[2:3], TokenizerConfig(vocab_size=1000, sample_bytes=200_000), tmp_path / "t"
    )
    proto = pb.ModelProto()
    proto.ParseFromString(base.read_bytes())
    for i in range(66000 - len(proto.pieces)):
        p = proto.pieces.add()
        p.piece, p.score, p.type = f"<unused{i}>", 0.0, pb.ModelProto.SentencePiece.USER_DEFINED
    big = tmp_path / "big.model"
    big.write_bytes(proto.SerializeToString())
    # The bigger vocab puts a user piece last; a document naming it must survive as an int32 id.
    row = {"id": "x", "text": "id past uint16: <unused64999>.", "source": "s"}
    shard = tmp_path / "s.jsonl"
    shard.write_text(json.dumps(row) + "\n")
    manifest = run_tokenize_stage([str(shard)], big, StageRun(name="tokenize", out_dir=tmp_path / "out"))
    info = manifest.extra["tokenize"]
    ds = IndexedDataset(info["datasets"]["s"]["prefix"])
    assert info["dtype"] == "int32" and ds[0].dtype == np.int32
    assert proto.pieces[int(ds[0].max())].piece == "<unused64999>"


def test_a_document_whose_text_is_not_a_string_is_quarantined_by_the_step(tmp_path, bpe_model):
    from datatrove.data import Document

    from sciloom.tokenizer.stage import TokenizeStep

    step = TokenizeStep(str(bpe_model), str(tmp_path / "tokens"))
    docs = [
        Document(text="ok", id="a", metadata={"source": "s"}),
        Document(text=42, id="b", metadata={"source": "s"}),
    ]
    kept = list(step.run(docs, rank=0, world_size=1))
    assert [d.id for d in kept] == ["a"]
    assert step.stats["quarantined|text_not_string|s"].total == 1
    assert (tmp_path / "tokens" / "parts" / "s" / "00000.idx").is_file()


def test_an_extended_hugging_face_tokenizer_tokenizes_losslessly(tmp_path, real_docs, shard_paths):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from sciloom.tokenizer.extend import extend_tokenizer

    hf = Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1500,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    hf.train_from_iterator((d["text"] for d in real_docs if d["source"] == "math"), trainer)
    (tmp_path / "base").mkdir()
    hf.save(str(tmp_path / "base" / "tokenizer.json"))
    extended = extend_tokenizer(tmp_path / "base", tmp_path / "ext")
    web = [p for p in shard_paths if p.endswith("/web.jsonl")]
    manifest = run_tokenize_stage(web, extended, StageRun(name="tokenize", out_dir=tmp_path / "out"))
    info = manifest.extra["tokenize"]
    eod = hf.token_to_id("<|endoftext|>")
    assert info["eod_id"] == eod
    ds = IndexedDataset(info["datasets"]["web"]["prefix"])
    ext = Tokenizer.from_file(str(extended))
    texts = [d["text"] for d in real_docs if d["source"] == "web"]
    assert len(ds) == len(texts)
    for i, text in enumerate(texts):
        ids = ds[i].tolist()
        assert ids[-1] == eod and ext.decode(ids[:-1], skip_special_tokens=False) == text


def _group_gone(pgid: int, timeout_s: float = 10.0) -> bool:
    """True once no process of group `pgid` is left (orphans are reaped by init)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False
