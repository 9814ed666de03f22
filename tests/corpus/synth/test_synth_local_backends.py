"""The hf backend on a tiny random Llama built here, and the vllm backend's import guard."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from sciloom.corpus.cli.main import main
from sciloom.corpus.synth.backends import BackendError, Request, Sampling, make_backend
from sciloom.corpus.synth.config import BackendConfig
from sciloom.manifests.schema import read_manifest_dict


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory, shared_data: Path) -> Path:
    """A 2-layer Llama (random weights) with a byte-level BPE trained on GSM8K questions, as in
    tests/pretrain/eval/test_eval_runner.py."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    lines = (
        (shared_data / "problems" / "gsm8k" / "train.jsonl").read_text(encoding="utf-8").splitlines()[:300]
    )
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator([json.loads(x)["question"] for x in lines], trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def hf(path: Path, cache=None):
    return make_backend(BackendConfig(name="hf", model=str(path), device="cpu", batch_size=4), cache)


@pytest.fixture(scope="module")
def backend(tiny_llama):
    """One loaded model for the backend tests (no cache: every call generates)."""
    return hf(tiny_llama)


def test_hf_backend_samples_k_completions_reproducibly(backend):
    reqs = [
        Request(f"Question: {q}\nAnswer:", Sampling(n=2, temperature=1.0, max_tokens=6), seed=5 << 16)
        for q in ("a b", "c")
    ]
    first = backend.generate(reqs)
    second = backend.generate(reqs)
    assert [g.texts for g in first] == [g.texts for g in second]
    assert all(len(g.texts) == 2 and g.error is None for g in first)
    assert first[0].texts[0] != first[0].texts[1]  # two samples, not one repeated


def test_hf_backend_greedy_gives_one_completion_for_every_sample(backend):
    [gen] = backend.generate(
        [Request("Question: 1 + 1\nAnswer:", Sampling(n=3, temperature=0.0, max_tokens=5))]
    )
    assert len(set(gen.texts)) == 1 and len(gen.texts) == 3


def test_hf_backend_cuts_at_stop_strings(backend):
    b = backend
    [free] = b.generate([Request("Q:", Sampling(n=1, temperature=0.0, max_tokens=12))])
    text = free.texts[0]
    assert len(text) > 2
    stop = text[2:4]
    [cut] = b.generate([Request("Q:", Sampling(n=1, temperature=0.0, max_tokens=12, stop=(stop,)))])
    assert stop not in cut.texts[0] and text.startswith(cut.texts[0])


def test_synth_cli_runs_on_the_hf_backend_and_resumes_from_its_cache(tiny_llama, gsm8k_file, tmp_path):
    argv = ["synth", "rft", str(gsm8k_file), "--backend", "hf", "--model", str(tiny_llama)]
    (tmp_path / "o.toml").write_text("shots = 1\n")  # short prompts: a quick CPU test
    argv += ["--samples", "2", "--max-tokens", "6", "--cache-dir", str(tmp_path / "cache")]
    argv += ["--options", str(tmp_path / "o.toml")]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    m = read_manifest_dict(tmp_path / "a")
    (c,) = m["sources"].values()
    d = c["docs"]
    assert (
        d["in"] == 8
        and d["added"] == 8
        and d["in"] + d["added"] == d["kept"] + d["dropped"] + d["quarantined"]
    )
    # a random model rarely finds the answer: every sample is accounted for by a reason
    assert sum(c["dropped_reasons"].values()) + d["kept"] == 16
    usage = m["extra"]["synth"]["usage"]["backend"]
    assert usage["requests_sent"] == 16 and usage["tokens_generated"] > 0
    assert main([*argv, "--out", str(tmp_path / "b")]) == 0
    again = read_manifest_dict(tmp_path / "b")
    assert again["extra"]["synth"]["usage"]["backend"]["requests_sent"] == 0
    assert again["sources"] == m["sources"]


@pytest.mark.skipif(
    importlib.util.find_spec("vllm") is not None, reason="vllm is installed: the guard is not hit"
)
def test_vllm_backend_without_vllm_says_how_to_install_it(gsm8k_file, tmp_path, capsys):
    with pytest.raises(BackendError, match=r"pip install 'sciloom\[vllm\]'"):
        make_backend(BackendConfig(name="vllm", model="Qwen/Qwen2.5-Math-1.5B"), None)
    code = main(
        ["synth", "rft", str(gsm8k_file), "--out", str(tmp_path / "v"), "--backend", "vllm", "--model", "m"]
    )
    assert code == 2
    assert "sciloom[vllm]" in capsys.readouterr().err
    assert not (tmp_path / "v" / "docs").exists()  # refused before any task ran
