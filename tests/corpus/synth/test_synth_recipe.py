"""`kind = "synth"` recipe sources: validation, and the build stage they become."""

from __future__ import annotations

from pathlib import Path

import pytest

from sciloom.corpus.build import Build, planned_stages
from sciloom.corpus.errors import RecipeError
from sciloom.corpus.recipe import load_recipe
from sciloom.corpus.synth.config import SynthConfig
from sciloom.manifests.schema import read_manifest_dict


def recipe_file(tmp_path: Path, problems: Path, url: str, extra: str = "") -> Path:
    text = f"""
[build]
name = "synth-test"
seed = 7

[[sources]]
name = "gsm8k_rft"
kind = "synth"
synth_kind = "rft"
paths = ["{problems}"]
[sources.options]
samples = 4
{extra}
[sources.options.backend]
name = "openai"
model = "oracle"
base_url = "{url}"
cache_dir = "synth-cache"

[mix]
weights = {{ gsm8k_rft = 1.0 }}
"""
    path = tmp_path / "recipe.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_synth_source_loads_with_its_backend_table(tmp_path, gsm8k_file):
    recipe = load_recipe(recipe_file(tmp_path, gsm8k_file, "http://127.0.0.1:8000/v1"))
    (src,) = recipe.sources
    assert src.is_prompt_data and src.synth_kind == "rft"
    assert isinstance(src.options, SynthConfig)
    assert src.options.samples == 4 and src.options.backend.model == "oracle"
    plan = planned_stages(recipe)
    assert plan.index("prompts-gsm8k_rft") < plan.index("tokenizer") < plan.index("mix")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("tempreature = 0.5", "unknown key sources[gsm8k_rft].options.tempreature"),
        ("top_p = 0.0", "synth.top_p: out of range"),
        ('augmentations = ["shuffle"]', "'shuffle' is not one of numbers"),
    ],
)
def test_bad_synth_options_are_recipe_errors_naming_the_key(tmp_path, gsm8k_file, extra, message):
    with pytest.raises(RecipeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_recipe(recipe_file(tmp_path, gsm8k_file, "http://127.0.0.1:8000/v1", extra))


def test_unknown_synth_kind_and_missing_model_are_refused(tmp_path, gsm8k_file):
    path = recipe_file(tmp_path, gsm8k_file, "http://127.0.0.1:8000/v1")
    path.write_text(path.read_text().replace('synth_kind = "rft"', 'synth_kind = "distill"'))
    with pytest.raises(RecipeError, match="synth_kind: 'distill' is not one of rft, rephrase"):
        load_recipe(path)
    path = recipe_file(tmp_path, gsm8k_file, "http://127.0.0.1:8000/v1")
    path.write_text(path.read_text().replace('model = "oracle"\n', ""))
    with pytest.raises(RecipeError, match="backend.model: a model name or checkpoint is needed"):
        load_recipe(path)
    path.write_text(path.read_text().replace('name = "openai"', 'name = "tgi"'))
    with pytest.raises(RecipeError, match="'tgi' is not one of openai, hf, vllm"):
        load_recipe(path)


def test_the_build_runs_a_synth_source_as_a_prompt_stage(serve, oracle, tmp_path, gsm8k_file):
    server = serve(oracle.respond)
    recipe = load_recipe(recipe_file(tmp_path, gsm8k_file, server.url))
    build = Build(recipe, tmp_path / "build")
    folder = build.prompts(recipe.sources[0])
    assert folder.name.endswith("-prompts-gsm8k_rft")
    m = read_manifest_dict(folder)
    c = m["sources"]["gsm8k_rft"]
    assert c["docs"]["kept"] == 8 and c["dropped_reasons"]["duplicate_equations"] == 8
    assert m["recipe_hash"] == recipe.hash and m["seed"] == 7
    assert any((tmp_path / "synth-cache").rglob("*.json"))  # the cache lives beside the recipe


def test_the_sample_build_needs_no_model():
    assert all(src.kind != "synth" for src in load_recipe().sources)
