"""`sciloom build` on the embedded sample: every stage, the invariant, checksums, Megatron read-back."""

import json
from pathlib import Path

import numpy as np
import sentencepiece as spm

from sciloom.corpus.build import planned_stages
from sciloom.corpus.cli.main import main
from sciloom.corpus.markup import markup_tokens
from sciloom.corpus.recipe import load_recipe
from sciloom.manifests.schema import read_manifest_dict
from sciloom.manifests.verify import verify


def test_sample_build_has_every_planned_stage(sample_build):
    top = read_manifest_dict(sample_build)
    assert top["kind"] == "build"
    names = [s["name"] for s in top["stages"]]
    assert names == planned_stages(load_recipe(None))
    for stage in top["stages"]:
        assert (sample_build / stage["dir"]).is_dir()


def test_every_feed_of_the_mix_passes_a_decontam_stage(sample_build):
    top = read_manifest_dict(sample_build)
    names = [s["name"] for s in top["stages"]]
    assert names == [
        "extract-arxiv",
        "extract-web",
        "filter",
        "dedup",
        "decontam",
        "prompts-work",
        "decontam-work",
        "prompts-cot",
        "decontam-cot",
        "prompts-arith",
        "decontam-arith",
        "tokenizer",
        "mix",
        "tokenize",
    ]
    mix = read_manifest_dict(sample_build / next(s["dir"] for s in top["stages"] if s["name"] == "mix"))
    fed = {Path(ref["dir"]).name for ref in mix["input_manifests"]}
    assert all("decontam" in d for d in fed), fed
    # hits per source over the build: the sample's own problems hit nothing, every row is counted
    per_source = top["outputs"]["decontamination"]
    assert set(per_source) == {"arxiv", "web", "work", "cot", "arith"}
    for source, row in per_source.items():
        assert row["documents"] >= 1 and row["documents_hit"] == 0, source


def test_every_stage_balances_and_every_checksum_holds(sample_build):
    assert verify(sample_build) == []


def test_extracted_sources_keep_documents_and_text(sample_build):
    top = read_manifest_dict(sample_build)
    for stage in top["stages"]:
        if stage["name"].startswith("extract-"):
            m = read_manifest_dict(sample_build / stage["dir"])
            assert m["totals"]["docs"]["kept"] >= 2, stage["name"]
            assert m["totals"]["docs"]["quarantined"] == 0, m["quarantine"]


def test_megatron_reads_back_the_token_counts_of_the_manifest(sample_build):
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    top = read_manifest_dict(sample_build)
    datasets = top["outputs"]["datasets"]
    assert datasets, "the build must end in Megatron datasets"
    for source, info in datasets.items():
        prefix = info["prefix"]
        prefix = prefix if prefix.startswith("/") else str(sample_build / prefix)
        ds = IndexedDataset(prefix)
        assert len(ds) == info["documents"], source
        assert int(np.sum(ds.sequence_lengths)) == info["tokens"], source


def test_tokenizer_keeps_markup_tokens_whole_and_splits_digits(sample_build):
    top = read_manifest_dict(sample_build)
    sp = spm.SentencePieceProcessor(model_file=str(sample_build / top["outputs"]["tokenizer"]))
    for token in markup_tokens(include_optional=False):
        assert len(sp.encode(token)) == 1, token
    assert len(sp.encode("12345")) == 5


def test_manifest_show_prints_the_per_stage_table(sample_build, capsys):
    assert main(["manifest", "show", str(sample_build)]) == 0
    out = capsys.readouterr().out
    for name in ("extract_arxiv", "extract_web", "tokenize", "mix"):
        assert name in out


def test_a_rerun_resumes_and_changes_nothing(sample_build, capsys):
    before = json.loads((sample_build / "manifest.json").read_text())["outputs"]
    assert main(["build", "--out", str(sample_build), "--no-progress"]) == 0
    after = json.loads((sample_build / "manifest.json").read_text())["outputs"]
    assert before == after


def test_show_json_matches_every_stage_shards(sample_build, capsys):
    from collections import Counter

    from sciloom.corpus.shards import read_documents, shard_files

    assert main(["manifest", "show", str(sample_build), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["build"]["recipe_hash"] == read_manifest_dict(sample_build)["recipe_hash"]
    for stage in data["stages"]:
        on_disk = Counter(
            d.metadata["source"] for d in read_documents(shard_files(sample_build / stage["dir"]))
        )
        kept = {s: c["docs"]["kept"] for s, c in stage["sources"].items() if c["docs"]["kept"]}
        assert kept == dict(on_disk), stage["stage"]


def test_show_prints_mix_dedup_and_decontamination_tables(sample_build, capsys):
    assert main(["manifest", "show", str(sample_build)]) == 0
    out = capsys.readouterr().out
    assert "target vs realised" in out and "minerva" in out
    assert "duplicates (mode local, 16x8 bands" in out
    assert "decontamination against gsm8k_test (1319 items), math_test (5000 items)" in out
    assert "decontamination per source (every feed of the mix)" in out
    assert "tokenizer sha256" in out


def test_verify_catches_a_modified_megatron_dataset(sample_build, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(sample_build, copy)
    assert verify(copy) == []  # a moved build still verifies
    tokens = next(copy.glob("*-tokenize/tokens/*.bin"))
    tokens.write_bytes(tokens.read_bytes()[:-2])
    assert any(f"{tokens.name} was modified" in p for p in verify(copy))


def test_status_names_stages_that_never_started_in_an_unfinished_build(sample_build, tmp_path, capsys):
    import shutil

    assert main(["status", str(sample_build)]) == 0
    copy = tmp_path / "copy"
    shutil.copytree(sample_build, copy)
    last = sorted(p for p in copy.iterdir() if p.is_dir() and p.name[:2].isdigit())[-1]
    shutil.rmtree(last)
    (copy / "manifest.json").unlink()
    capsys.readouterr()
    assert main(["status", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "BUILD NOT FINISHED" in out and f"never started: {last.name}" in out
