"""Data: blend resolution (explicit, tokenize-stage manifest), GPTDataset samples, resumable sampler."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist

from sciloom.corpus.errors import RecipeError
from sciloom.pretrain import data
from sciloom.pretrain.config import DataConfig


def null_cfg(**kw) -> DataConfig:
    base = dict(
        tokenizer_library="null", null_vocab_size=512, eod_mask_loss=True, num_workers=0, split="90,10,0"
    )
    return DataConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def one_process_group():
    """megatron-core's blend builder needs torch.distributed even for one process (FIELD-NOTES 8)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_samples_mask_eod_and_follow_the_blend_weights(tiny_blend, tmp_path, one_process_group):
    cfg = null_cfg(prefixes=tiny_blend, weights=[0.8, 0.2])
    tokenizer = data.build_tokenizer(cfg)
    assert tokenizer.vocab_size == 512 and tokenizer.eod == 511
    train, valid = data.build_datasets(cfg, tokenizer, seq_length=64, seed=3, num_train_samples=200,
                                       num_valid_samples=16, cache_dir=tmp_path / "cache")  # fmt: skip
    assert len(train) >= 200 and len(valid) >= 16
    sample = train[0]
    assert sample["tokens"].shape == (64,) and torch.equal(sample["tokens"][1:], sample["labels"][:-1])
    eod = sample["tokens"] == 511
    assert eod.any() and (sample["loss_mask"][eod] == 0).all() and (sample["loss_mask"][~eod] == 1).all()
    # tiny_a's ids are 0..60, tiny_b's 100..160: the first token tells the source
    first = np.array([int(train[i]["tokens"][0]) for i in range(200) if int(train[i]["tokens"][0]) != 511])
    share_a = float((first < 100).mean())
    assert share_a == pytest.approx(0.8, abs=0.06)


def test_sampler_resumes_exactly_and_does_not_depend_on_dp_size():
    def batches(consumed, dp, rank, mbs=2):
        return list(data.PretrainingSampler(64, consumed, mbs, rank, dp))

    full = batches(0, 1, 0)
    assert batches(16, 1, 0) == full[8:]  # resuming at consumed_samples skips exactly what was seen
    # at DP 2, the two ranks' micro-batches together cover the same samples in the same order
    dp0, dp1 = batches(0, 2, 0), batches(0, 2, 1)
    merged = [i for a, b in zip(dp0, dp1) for i in a + b]
    assert merged == [i for b in full for i in b]
    with pytest.raises(RecipeError, match="consumed samples 64"):
        batches(64, 1, 0)


def test_blend_formats():
    base = Path("/data")
    assert data.parse_blend("0.3 a 0.7 /abs/b", base, "x") == (["/data/a", "/abs/b"], [0.3, 0.7])
    assert data.parse_blend("a b", base, "x") == (["/data/a", "/data/b"], None)
    assert data.parse_blend([100, "a", 300, "b"], base, "x") == (["/data/a", "/data/b"], [100.0, 300.0])
    assert data.parse_blend({"prefixes": ["a"], "weights": [1]}, base, "x") == (["/data/a"], [1.0])
    assert data.parse_blend([{"prefix": "a", "weight": 2}], base, "x") == (["/data/a"], [2.0])
    with pytest.raises(RecipeError, match="not 'weight prefix' pairs"):
        data.parse_blend("0.3 a 0.7", base, "x")


def test_tokenize_manifest_gives_prefixes_weights_and_tokenizer(tiny_blend, tmp_path):
    model = tmp_path / "tokens" / "tokenizer.model"
    model.parent.mkdir()
    model.write_bytes(b"not read here")
    manifest = {"kind": "stage", "stage": "tokenize",
                "extra": {"tokenize": {"tokenizer_model": str(model),
                                       "data_path": [120, tiny_blend[0], 80, os.path.relpath(tiny_blend[1], tmp_path)]}}}  # fmt: skip
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    cfg = DataConfig(manifest=str(tmp_path), tokenizer_library="sentencepiece")
    prefixes, weights = data.resolve_blend(cfg)
    assert prefixes == [tiny_blend[0], str(Path(tiny_blend[1]).resolve())] and weights == [120.0, 80.0]
    assert data.manifest_tokenizer(cfg) == model


def test_missing_dataset_files_are_named(tmp_path):
    with pytest.raises(RecipeError, match=r"nope\.bin does not exist"):
        data.resolve_blend(null_cfg(prefixes=[str(tmp_path / "nope")]))


def test_mix_manifest_blend_resolves_against_the_tokenize_folder(tiny_blend, tmp_path):
    tokens = Path(tiny_blend[0]).parent
    blend = {"sources": ["a", "b"], "prefixes": ["tiny_a", "tiny_b"], "weights": [0.25, 0.75]}
    (tmp_path / "manifest.json").write_text(
        json.dumps({"kind": "stage", "stage": "mix", "extra": {"blend": blend}})
    )
    cfg = null_cfg(manifest=str(tmp_path), prefix_root=str(tokens))
    assert data.resolve_blend(cfg) == (tiny_blend, [0.25, 0.75])
    with pytest.raises(RecipeError, match=r"tiny_a\.bin does not exist"):
        data.resolve_blend(null_cfg(manifest=str(tmp_path)))  # relative to the mix folder: not there
