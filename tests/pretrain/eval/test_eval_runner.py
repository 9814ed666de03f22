"""The runner end to end on a tiny Llama built here (random weights, locally trained tokenizer)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sciloom.corpus.cli.main import main
from sciloom.corpus.record import make_document, to_row
from sciloom.corpus.shards import SCHEMA
from sciloom.pretrain.eval.generation import Generator, SamplingConfig, truncate_at_stop
from sciloom.pretrain.eval.prompts import build_prompt, stop_sequences


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory, shared_data: Path) -> Path:
    """A 2-layer Llama with a byte-level BPE tokenizer trained on GSM8K/MATH-500 text."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    texts = []
    for name in ("gsm8k/train.jsonl", "math500/test.jsonl"):
        for line in (shared_data / "problems" / name).read_text(encoding="utf-8").splitlines()[:1500]:
            row = json.loads(line)
            texts.append(row.get("question") or row.get("problem"))
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=700,
        special_tokens=["<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def generator(tiny_checkpoint: Path) -> Generator:
    return Generator(tiny_checkpoint, device="cpu")


def eval_args(ckpt: Path, out: Path, *extra: str) -> list[str]:
    return [
        "eval",
        str(ckpt),
        "--max-new-tokens",
        "6",
        "--batch-size",
        "4",
        "--out",
        str(out),
        "--json",
        *extra,
    ]


def test_cot_run_with_sampling_writes_well_formed_results_and_summary(
    tiny_checkpoint, tmp_path, capsys, shared_data
):
    out = tmp_path / "cot"
    argv = eval_args(
        tiny_checkpoint, out, "--tasks", "gsm8k,math500", "--shots", "2", "--samples", "2", "--limit", "3"
    )
    assert main(argv) == 0
    summaries = json.loads(capsys.readouterr().out)
    gsm8k_ids = ["0", "1", "2"]
    math_ids = [
        json.loads(x)["unique_id"]
        for x in (shared_data / "problems/math500/test.jsonl").read_text().splitlines()[:3]
    ]
    for task, ids in (("gsm8k", gsm8k_ids), ("math500", math_ids)):
        records = read_jsonl(out / f"{task}.jsonl")
        assert [r["id"] for r in records] == ids
        for r in records:
            assert r["task"] == task and r["num_samples"] == 2 and len(r["samples"]) == 2
            assert r["num_correct"] == sum(s["correct"] for s in r["samples"])
            for s in r["samples"]:
                assert isinstance(s["completion"], str) and isinstance(s["correct"], bool)
                assert s["answer"] is None or isinstance(s["answer"], str)
        s = summaries[task]
        assert s["n"] == 3 and s["k"] == 2
        for key in ("accuracy", "maj@2", "pass@2", "answered"):
            assert 0.0 <= s[key] <= 1.0
        assert s["accuracy"] == sum(r["samples"][0]["correct"] for r in records) / 3
    assert json.loads((out / "summary.json").read_text()) == summaries
    config = json.loads((out / "eval_config.json").read_text())
    assert config["tasks"]["gsm8k"]["shots"] == 2 and config["tasks"]["math500"]["num_samples"] == 2


def test_rerun_resumes_and_skips_items_already_scored(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "resume"
    base = eval_args(tiny_checkpoint, out, "--tasks", "gsm8k", "--shots", "1")
    assert main([*base, "--limit", "2"]) == 0
    first = (out / "gsm8k.jsonl").read_text()
    # a torn last line, as left by a killed run, is dropped and that item redone
    with open(out / "gsm8k.jsonl", "a") as fh:
        fh.write('{"task": "gsm8k", "id": "2", "samp')
    assert main([*base, "--limit", "4"]) == 0
    text = (out / "gsm8k.jsonl").read_text()
    assert text.startswith(first)
    assert [r["id"] for r in read_jsonl(out / "gsm8k.jsonl")] == ["0", "1", "2", "3"]
    assert main([*base, "--limit", "4"]) == 0  # nothing left to do
    assert (out / "gsm8k.jsonl").read_text() == text
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["gsm8k"]
    assert summary["n"] == 4 and summary["k"] == 1 and "maj@k" not in summary
    # other settings into the same folder are refused instead of mixing two runs
    assert main([*base, "--limit", "4", "--shots", "3"]) == 2
    assert "different settings (shots)" in capsys.readouterr().err


def test_pot_mode_runs_generated_programs_in_the_sandbox(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "pot"
    assert (
        main(
            eval_args(
                tiny_checkpoint, out, "--tasks", "gsm8k", "--mode", "pot", "--shots", "2", "--limit", "2"
            )
        )
        == 0
    )
    records = read_jsonl(out / "gsm8k.jsonl")
    assert len(records) == 2
    for r in records:
        sample = r["samples"][0]
        assert "program_error" in sample and "stdout" in sample
        # random weights write no valid program that prints the answer
        assert sample["program_error"] is not None or sample["answer"] is not None


def test_greedy_generation_is_deterministic_and_cut_at_stop_sequences(generator):
    prompts = [build_prompt("gsm8k", "What is 2 + 3?", 2), build_prompt("math500", "Find $x$.", 1)]
    sampling = SamplingConfig(max_new_tokens=12, batch_size=2)
    a = generator.generate(prompts, sampling, stop_sequences("gsm8k", "cot"))
    b = generator.generate(prompts, sampling, stop_sequences("gsm8k", "cot"))
    assert a == b and len(a) == 2 and all(len(x) == 1 for x in a)
    assert not any("\nQ:" in c for x in a for c in x)
    sampled = generator.generate(
        prompts, SamplingConfig(num_samples=3, temperature=1.0, top_p=0.9, max_new_tokens=8, batch_size=6)
    )
    assert [len(x) for x in sampled] == [3, 3]
    assert truncate_at_stop("6. The answer is 6.\n\nQ: next", ("\n\nQ:", "\nQ:")) == "6. The answer is 6."


def test_perplexity_per_source_matches_the_model_loss(tiny_checkpoint, tmp_path, capsys, shared_data):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gsm = [
        json.loads(x)["question"]
        for x in (shared_data / "problems/gsm8k/test.jsonl").read_text().splitlines()[:4]
    ]
    mth = [
        json.loads(x)["problem"]
        for x in (shared_data / "problems/math500/test.jsonl").read_text().splitlines()[:3]
    ]
    docs = [make_document(f"g{i}", t, "gsm8k") for i, t in enumerate(gsm)]
    docs += [make_document(f"m{i}", t, "math") for i, t in enumerate(mth)]
    stage = tmp_path / "held_out"
    (stage / "docs").mkdir(parents=True)
    pq.write_table(
        pa.Table.from_pylist([to_row(d) for d in docs], schema=SCHEMA), stage / "docs" / "00000.parquet"
    )
    out = tmp_path / "ppl"
    capsys.readouterr()
    argv = [
        "eval",
        str(tiny_checkpoint),
        "--perplexity",
        str(stage),
        "--seq-len",
        "4096",
        "--json",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    rows = {r["source"]: r for r in json.loads(capsys.readouterr().out)}
    assert sorted(rows) == ["gsm8k", "math"]
    assert rows["gsm8k"]["documents"] == 4 and rows["math"]["documents"] == 3

    tokenizer = AutoTokenizer.from_pretrained(tiny_checkpoint)
    model = AutoModelForCausalLM.from_pretrained(tiny_checkpoint).eval()
    for source, texts in (("gsm8k", gsm), ("math", mth)):
        nll, count = 0.0, 0
        for t in texts:  # one document at a time, no padding: the reference computation
            ids = torch.tensor([tokenizer(t)["input_ids"]])
            with torch.no_grad():
                loss = model(input_ids=ids, labels=ids).loss
            nll += float(loss) * (ids.shape[1] - 1)
            count += ids.shape[1] - 1
        assert rows[source]["tokens"] == count
        assert rows[source]["loss"] == pytest.approx(nll / count, rel=1e-4)
        assert rows[source]["perplexity"] == pytest.approx(math.exp(nll / count), rel=1e-3)
        nbytes = sum(len(t.encode()) for t in texts)
        assert rows[source]["bits_per_byte"] == pytest.approx(nll / math.log(2) / nbytes, rel=1e-4)
    assert json.loads((out / "perplexity.json").read_text()) == list(rows.values())
