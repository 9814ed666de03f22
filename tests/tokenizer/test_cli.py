"""`sciloom tokenizer train|extend|inspect` and `sciloom tokenize` through main(argv)."""

from __future__ import annotations

import json
from pathlib import Path

from megatron.core.datasets.indexed_dataset import IndexedDataset

from sciloom.corpus.cli.main import main
from sciloom.tokenizer.metadata import read_metadata


def test_train_tokenize_inspect_end_to_end(tmp_path, real_shards, capsys):
    model_dir = tmp_path / "tok"
    assert main(["tokenizer", "train", str(real_shards), "--out", str(model_dir), "--vocab-size", "2000",
                 "--sample-bytes", "1000000", "--threads", "1"]) == 0  # fmt: skip
    model = model_dir / "tokenizer.model"
    assert read_metadata(model)["vocab_size"] == 2000
    out = tmp_path / "stage"
    web = [str(real_shards / "web.jsonl"), str(real_shards / "math.jsonl")]
    assert main(["tokenize", *web, "--tokenizer", str(model_dir), "--out", str(out), "--workers", "2"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    for source, d in manifest["extra"]["tokenize"]["datasets"].items():
        assert (
            len(IndexedDataset(d["prefix"])) == d["documents"] == manifest["sources"][source]["docs"]["kept"]
        )
    capsys.readouterr()
    assert main(["tokenizer", "inspect", str(model), "--stage", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["round_trip"] is True
    pieces = [p["piece"] for p in report["pieces"]]
    assert "[START_REF]" in pieces and "\n" in pieces and "\t" in pieces
    assert set(report["fertility"]) == {"web", "math"}
    assert all(0 < f["tokens_per_byte"] < 1 for f in report["fertility"].values())


def test_extend_prints_the_added_ids(tmp_path, bpe_model, capsys):
    # The trained model already reserves the registry: extending adds only the optional tokens.
    assert (
        main(["tokenizer", "extend", str(bpe_model), "--out", str(tmp_path), "--math-boundary-tokens"]) == 0
    )
    added = read_metadata(tmp_path / "tokenizer.model")["added_ids"]
    assert list(added) == [
        "[START_INLINE_MATH]",
        "[END_INLINE_MATH]",
        "[START_DISPLAY_MATH]",
        "[END_DISPLAY_MATH]",
    ]
    assert "[START_INLINE_MATH]" in capsys.readouterr().out


def test_a_tokenizer_mismatch_is_exit_1_and_a_missing_model_exit_2(
    tmp_path, real_shards, bpe_model, unigram_model
):
    shard = str(real_shards / "web.jsonl")
    out = str(tmp_path / "s")
    assert main(["tokenize", shard, "--tokenizer", str(bpe_model), "--out", out]) == 0
    assert main(["tokenize", shard, "--tokenizer", str(unigram_model), "--out", out]) == 1
    assert main(["tokenize", shard, "--tokenizer", str(tmp_path / "nope.model"), "--out", out]) == 2


def test_a_file_that_is_not_a_tokenizer_is_one_line_exit_2_before_any_work(
    tmp_path, real_shards, bpe_model, capsys
):
    shard = str(real_shards / "web.jsonl")
    # Real files that are not tokenizers: this test's own source, a JSON manifest-like file, and a
    # SentencePiece model cut in half (a truncated download).
    not_models = {
        "source.model": Path(__file__).read_bytes(),
        "tokenizer.json": json.dumps({"version": "1.0", "kind": "not a tokenizer"}).encode(),
        "truncated.model": bpe_model.read_bytes()[: bpe_model.stat().st_size // 2],
    }
    for name, data in not_models.items():
        bad = tmp_path / name
        bad.write_bytes(data)
        out = tmp_path / f"out-{name}"
        capsys.readouterr()
        assert main(["tokenize", shard, "--tokenizer", str(bad), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(bad) in err and "not a" in err, err
        assert not (out / "docs").exists() and not (out / "tokens").exists()
        assert main(["tokenizer", "inspect", str(bad)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(bad) in err, err
    assert main(["tokenizer", "inspect", str(tmp_path / "out-source.model")]) == 2
    assert "no tokenizer.model or tokenizer.json" in capsys.readouterr().err
