"""The mix stage on sample-sized real text: shares by tokens, epochs, determinism, blend, ledger."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sciloom.corpus.cli.main import main
from sciloom.corpus.errors import RecipeError
from sciloom.corpus.mix.config import MixConfig
from sciloom.corpus.mix.stage import run_mix_stage
from sciloom.corpus.shards import read_documents, shard_files
from sciloom.corpus.stage import StageRun
from sciloom.manifests.schema import load_manifest


def write_jsonl(path: Path, texts: list[str], source: str | None = None, **meta) -> str:
    with open(path, "w", encoding="utf-8") as fh:
        for i, text in enumerate(texts):
            row = {"id": f"{path.stem}-{i}", "text": text, **meta}
            if source:
                row["source"] = source
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def sources(shared_data: Path, tmp_path_factory) -> dict[str, list[str]]:
    """arxiv: LaTeX in 8-paragraph chunks; web: math pages, tags stripped; general: GSM8K questions;
    prompts: GSM8K worked solutions as prompt records."""
    d = tmp_path_factory.mktemp("mix_sources")
    tex = []
    for p in sorted((shared_data / "arxiv-src/good").glob("*.tex")):
        paras = [x for x in p.read_text(errors="replace").split("\n\n") if x.strip()]
        tex += ["\n\n".join(paras[i : i + 8]) for i in range(0, len(paras), 8)]
    tex += [(shared_data / "arxiv-src/papers/edo-paper-flattened.tex").read_text(errors="replace")[:20000]]
    pages = sorted((shared_data / "web-math/pages").glob("*.html"))
    web = [re.sub(r"<[^>]+>", " ", p.read_text(errors="replace")) for p in pages]
    rows = [json.loads(line) for line in open(shared_data / "problems/gsm8k/train.jsonl", encoding="utf-8")]
    general = [r["question"] for r in rows[:1500]]
    prompts = [f"Question: {r['question']}\n\nAnswer: {r['answer']}" for r in rows[1500:1560]]
    return {
        "arxiv": [write_jsonl(d / "arxiv.jsonl", tex)],
        "web": [write_jsonl(d / "web.jsonl", web)],
        "general": [write_jsonl(d / "general.jsonl", general)],
        "prompts": [write_jsonl(d / "prompts.jsonl", prompts, prompt_kind="cot")],
    }


def minerva_inputs(sources):
    return {k: sources[k] for k in ("arxiv", "web", "general")}


def mix(inputs, config, out: Path, seed=0, tokenizer=None):
    return run_mix_stage(inputs, config, StageRun("mix", out, seed=seed), tokenizer)


@pytest.fixture(scope="module")
def minerva(sources, tmp_path_factory):
    out = tmp_path_factory.mktemp("minerva")
    return mix(minerva_inputs(sources), MixConfig(preset="minerva", docs_per_shard=100), out, seed=7), out


def test_minerva_preset_realises_token_shares_within_one_point(minerva):
    manifest, _ = minerva
    shares = manifest.extra["mix"]["sources"]
    assert set(shares) == {"arxiv", "web", "general"}
    targets = {"arxiv": 0.475, "web": 0.475, "general": 0.05}
    for name, target in targets.items():
        assert shares[name]["target_token_share"] == pytest.approx(target)
        assert abs(shares[name]["realised_token_share"] - target) < 0.01, (name, shares[name])
    # documents are reported too, and differ from tokens (GSM8K questions are short)
    assert shares["general"]["realised_doc_share"] > 0.3


def test_mix_ledger_balances_and_shows_subsampling(minerva):
    manifest, out = minerva
    t = manifest.totals
    assert t.docs["in"] + t.docs["added"] == t.docs["kept"] + t.docs["dropped"]
    assert t.dropped_reasons.get("subsampled", 0) == t.docs["dropped"] > 0
    docs = list(read_documents(shard_files(out)))
    assert len(docs) == t.docs["kept"] == manifest.extra["mix"]["total_docs"]
    assert {d.metadata["source"] for d in docs} == {"arxiv", "web", "general"}


def test_blend_lists_prefixes_and_weights_for_megatron(minerva):
    manifest, _ = minerva
    blend = manifest.extra["blend"]
    shares = manifest.extra["mix"]["sources"]
    assert blend["sources"] == ["arxiv", "general", "web"]
    assert blend["prefixes"] == [
        "tokens/arxiv",
        "tokens/general",
        "tokens/web",
    ]  # the tokenize stage's layout
    assert blend["weights"] == pytest.approx(
        [shares[s]["realised_token_share"] for s in blend["sources"]], abs=1e-5
    )
    assert sum(blend["weights"]) == pytest.approx(1.0)
    parts = blend["data_path"].split()
    assert parts[1::2] == blend["prefixes"] and [float(w) for w in parts[0::2]] == blend["weights"]


def test_same_seed_gives_byte_identical_shards_and_another_seed_does_not(sources, minerva, tmp_path):
    manifest, out = minerva
    again = mix(
        minerva_inputs(sources), MixConfig(preset="minerva", docs_per_shard=100), tmp_path / "a", seed=7
    )
    assert [s.sha256 for s in again.shards] == [s.sha256 for s in manifest.shards]
    for s in manifest.shards:
        assert (out / s.path).read_bytes() == (tmp_path / "a" / s.path).read_bytes()
    other = mix(
        minerva_inputs(sources), MixConfig(preset="minerva", docs_per_shard=100), tmp_path / "b", seed=8
    )
    assert [s.sha256 for s in other.shards] != [s.sha256 for s in manifest.shards]


def test_small_prompt_source_is_repeated_for_its_share_and_spread_through_the_stream(sources, tmp_path):
    config = MixConfig(
        weights={"arxiv": 1.0, "web": 1.0},
        prompt_fraction=0.2,
        max_epochs={"prompts": 3.0},
        docs_per_shard=1000,
    )
    inputs = {k: sources[k] for k in ("arxiv", "web", "prompts")}
    manifest = mix(inputs, config, tmp_path / "m", seed=1)
    info = manifest.extra["mix"]
    assert info["prompt_sources"] == ["prompts"]
    p = info["sources"]["prompts"]
    assert abs(p["realised_token_share"] - 0.2) < 0.01
    assert 1.0 < p["epochs"] <= 3.0 and p["max_copies"] >= 2
    counts = manifest.sources["prompts"]
    assert (
        counts.added_reasons["epoch_repeat"]
        == counts.docs["kept"] - counts.docs["in"] + counts.docs["dropped"]
    )
    docs = list(read_documents(shard_files(tmp_path / "m")))
    repeats = [d for d in docs if d.metadata["mix_epoch"] > 0]
    assert repeats and all(re.search(r"#e\d+$", str(d.id)) for d in repeats)
    assert len({str(d.id) for d in docs}) == len(docs)
    positions = [i for i, d in enumerate(docs) if d.metadata["source"] == "prompts"]
    third = len(docs) // 3
    assert all(any(lo <= i < lo + third for i in positions) for lo in (0, third, 2 * third))


def test_documents_are_routed_by_their_own_source_name(sources, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    web_docs = [json.loads(line)["text"] for line in open(sources["web"][0])]
    gen_docs = [json.loads(line)["text"] for line in open(sources["general"][0])][:300]
    combined = [
        write_jsonl(d / "web_part.jsonl", web_docs, source="web"),
        write_jsonl(d / "gen.jsonl", gen_docs, source="general"),
    ]
    inputs = {"decontam": combined, "arxiv": sources["arxiv"]}
    manifest = mix(inputs, MixConfig(preset="minerva"), tmp_path / "out")
    assert set(manifest.extra["mix"]["sources"]) == {"arxiv", "web", "general"}


def test_sentencepiece_counts_drive_the_shares_when_a_model_is_given(sources, tmp_path):
    import sentencepiece as spm

    text = tmp_path / "train.txt"
    with open(text, "w") as fh:
        for paths in sources.values():
            for line in open(paths[0]):
                fh.write(json.loads(line)["text"][:3000].replace("\n", " ") + "\n")
    spm.SentencePieceTrainer.train(
        input=str(text),
        model_prefix=str(tmp_path / "sp"),
        vocab_size=500,
        model_type="bpe",
        hard_vocab_limit=False,
        num_threads=2,
        minloglevel=2,
    )
    model = str(tmp_path / "sp.model")
    manifest = mix(minerva_inputs(sources), MixConfig(preset="minerva"), tmp_path / "out", tokenizer=model)
    info = manifest.extra["mix"]
    assert info["token_counter"] == f"sentencepiece:{model}"
    sp = spm.SentencePieceProcessor(model_file=model)
    docs = list(read_documents(shard_files(tmp_path / "out")))
    assert sum(len(sp.encode(d.text)) for d in docs) == info["total_tokens"]
    for name, target in {"arxiv": 0.475, "web": 0.475, "general": 0.05}.items():
        assert abs(info["sources"][name]["realised_token_share"] - target) < 0.01


def test_unreadable_input_is_quarantined_and_the_mix_goes_on(sources, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "text": "fine"}\n{broken\n')
    inputs = minerva_inputs(sources) | {"general": sources["general"] + [str(bad)]}
    manifest = mix(inputs, MixConfig(preset="minerva"), tmp_path / "out")
    assert manifest.sources["general"].quarantined_reasons == {"bad_json_line": 1}
    assert manifest.quarantine[0]["input"] == str(bad)


def test_mix_config_errors_name_the_problem(sources, tmp_path):
    with pytest.raises(RecipeError, match=r"\['general'\] have no input"):
        mix({k: sources[k] for k in ("arxiv", "web")}, MixConfig(preset="minerva"), tmp_path / "a")
    renorm = mix(
        {k: sources[k] for k in ("arxiv", "web")},
        MixConfig(preset="minerva", missing_sources="renormalize"),
        tmp_path / "b",
    )
    assert renorm.extra["mix"]["sources"]["web"]["target_token_share"] == pytest.approx(0.5)
    with pytest.raises(RecipeError, match="no weight for source"):
        mix(
            minerva_inputs(sources) | {"extra": sources["prompts"]},
            MixConfig(preset="minerva"),
            tmp_path / "c",
        )
    with pytest.raises(RecipeError, match="epochs"):
        mix(minerva_inputs(sources), MixConfig(preset="minerva", total_tokens=10**9), tmp_path / "d")
    with pytest.raises(RecipeError, match="mix.preset"):
        MixConfig(preset="llemma")


def test_galactica_preset_is_normalised_table_2():
    weights = MixConfig(preset="galactica").base_weights()
    assert weights["papers"] == 0.83 and weights["prompts"] == 0.003
    assert sum(weights.values()) == pytest.approx(1.0, abs=0.002)
    assert MixConfig(preset="galactica").prompt_source_names() == ["prompts"]


def test_cli_mix_and_prompts_arith(sources, tmp_path):
    out = tmp_path / "mix"
    args = [f"{k}={v[0]}" for k, v in minerva_inputs(sources).items()]
    assert main(["mix", *args, "--preset", "minerva", "--seed", "3", "--out", str(out)]) == 0
    manifest = load_manifest(out)
    assert manifest.extra["mix"]["preset"] == "minerva" and manifest.seed == 3
    assert pq.ParquetFile(out / manifest.shards[0].path).metadata.num_rows > 0
    arith = tmp_path / "arith"
    assert main(["prompts", "arith", "--count", "30", "--seed", "5", "--out", str(arith)]) == 0
    assert load_manifest(arith).totals.docs["kept"] == 30
    assert main(["mix", *args, "--preset", "minerva", "--weight", "web", "--out", str(tmp_path / "x")]) == 2


def test_prompt_stages_feed_the_mix_at_the_prompt_fraction(repo_root, sources, tmp_path):
    """As `sciloom build` wires it: corpus shards keyed by folder, prompt stages keyed by name."""
    from sciloom.corpus.prompts.config import PromptsConfig
    from sciloom.corpus.prompts.stage import run_prompts_stage

    problems = str(repo_root / "corpus/sample/problems/gsm8k_style.jsonl")
    work = run_prompts_stage(
        "work", [problems], PromptsConfig(), StageRun("w", tmp_path / "work"), source="work"
    )
    arith = run_prompts_stage(
        "arith", [], PromptsConfig(count=300), StageRun("a", tmp_path / "arith"), source="arith"
    )
    assert work.totals.docs["kept"] == 14 and arith.totals.docs["kept"] == 300
    d = tmp_path / "corpus"
    d.mkdir()
    web = [json.loads(line)["text"] for line in open(sources["web"][0])]
    arxiv = [json.loads(line)["text"] for line in open(sources["arxiv"][0])]
    corpus = [
        write_jsonl(d / "a.jsonl", arxiv, source="arxiv"),
        write_jsonl(d / "w.jsonl", web, source="web"),
    ]
    inputs = {
        "decontam": corpus,
        "work": [str(p) for p in shard_files(tmp_path / "work")],
        "arith": [str(p) for p in shard_files(tmp_path / "arith")],
    }
    config = MixConfig(
        preset="minerva", missing_sources="renormalize", prompt_fraction=0.1, max_epochs={"work": 20}
    )
    manifest = mix(inputs, config, tmp_path / "mix", seed=2)
    info = manifest.extra["mix"]
    assert info["prompt_sources"] == ["arith", "work"]
    shares = {k: v["realised_token_share"] for k, v in info["sources"].items()}
    assert set(shares) == {"arxiv", "web", "work", "arith"}
    assert abs(shares["work"] + shares["arith"] - 0.1) < 0.01
    assert abs(shares["arxiv"] - 0.45) < 0.01 and abs(shares["web"] - 0.45) < 0.01
    assert manifest.sources["work"].added_reasons["epoch_repeat"] > 0
    docs = list(read_documents(shard_files(tmp_path / "mix")))
    assert any("<work>" in d.text and d.metadata["source"] == "work" for d in docs)


def test_cli_mix_reads_a_recipe_mix_table_and_rejects_unknown_keys(sources, repo_root, tmp_path):
    args = [f"{k}={v[0]}" for k, v in minerva_inputs(sources).items()]
    recipe = tmp_path / "recipe.toml"
    recipe.write_text('[mix]\npreset = "minerva"\nmax_epochs = { general = 2 }\n')
    out = tmp_path / "mix"
    assert main(["mix", *args, "--recipe", str(recipe), "--weight", "general=0.1", "--out", str(out)]) == 0
    config = load_manifest(out).extra["mix"]["config"]
    assert config["preset"] == "minerva" and config["max_epochs"] == {"general": 2.0}
    assert config["weights"] == {"general": 0.1}
    recipe.write_text('[mix]\npreset = "minerva"\nmax_epoch = 2\n')
    assert main(["mix", *args, "--recipe", str(recipe), "--out", str(tmp_path / "bad")]) == 2


def test_a_mix_over_its_memory_budget_spills_to_disk_and_writes_the_same_copies(sources, tmp_path):
    """max_shard_mb=1: the staged documents and the buckets go through files (several shards);
    the same copies come out as from the in-memory run, and no spill file is left behind."""
    config = {"weights": {"arxiv": 1.0, "web": 1.0, "general": 1.0}, "max_epochs": {"general": 3.0}}
    inputs = {k: v * 4 for k, v in minerva_inputs(sources).items()}  # each file 4 times: ~1.4 MB
    small = mix(inputs, MixConfig(**config, max_shard_mb=1), tmp_path / "small", seed=3)
    whole = mix(inputs, MixConfig(**config), tmp_path / "whole", seed=3)
    assert len(small.shards) > 1 and len(whole.shards) == 1
    assert {k: c.docs for k, c in small.sources.items()} == {k: c.docs for k, c in whole.sources.items()}

    def rows(out: Path) -> list[tuple]:
        docs = read_documents(shard_files(out))
        return sorted((d.id, d.text, d.metadata["mix_epoch"], d.metadata["source"]) for d in docs)

    assert rows(tmp_path / "small") == rows(tmp_path / "whole")
    assert any(r[2] == 1 for r in rows(tmp_path / "small"))  # repeats went through the spill too
    assert not (tmp_path / "small" / ".mix_spill").exists()
