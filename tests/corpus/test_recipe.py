import re

import pytest

from sciloom.corpus.errors import RecipeError
from sciloom.corpus.recipe import SAMPLE_RECIPE, load_recipe

SOURCE = '[[sources]]\nname = "web"\nkind = "jsonl"\npaths = ["."]\n'


def write(tmp_path, text):
    path = tmp_path / "recipe.toml"
    path.write_text(text)
    return path


def test_the_sample_recipe_loads_with_every_section():
    recipe = load_recipe(SAMPLE_RECIPE)
    assert [s.name for s in recipe.sources] == ["arxiv", "web", "work", "cot", "arith"]
    assert recipe.sections["mix"].preset == "minerva"
    assert recipe.sections["tokenizer"].vocab_size == 2000
    assert all(recipe.enabled.values())


def test_negative_mix_weight_is_named(tmp_path):
    path = write(tmp_path, SOURCE + "[mix]\nweights = { web = -1.0 }\n")
    with pytest.raises(RecipeError, match=r"mix\.weights\.web: must be a number >= 0"):
        load_recipe(path)


def test_unknown_section_is_named(tmp_path):
    path = write(tmp_path, SOURCE + '[mix]\npreset = "minerva"\n[filter]\nmin_words = 3\n')
    with pytest.raises(RecipeError, match=r"unknown section \[filter\]"):
        load_recipe(path)


def test_unknown_key_inside_a_stage_section_is_named(tmp_path):
    path = write(tmp_path, SOURCE + '[mix]\npreset = "minerva"\n[dedup]\nnum_band = 3\n')
    with pytest.raises(RecipeError, match=r"unknown key dedup\.num_band"):
        load_recipe(path)


def test_a_filter_stage_can_be_switched_off(tmp_path):
    path = write(tmp_path, SOURCE + '[mix]\npreset = "minerva"\n[decontam]\nenabled = false\n')
    assert load_recipe(path).enabled["decontam"] is False


def test_recipe_hash_is_stable_and_follows_values(tmp_path):
    base = SOURCE + '[mix]\npreset = "minerva"\n'
    a = load_recipe(write(tmp_path, base)).hash
    assert load_recipe(write(tmp_path, base)).hash == a
    assert load_recipe(write(tmp_path, base + "[build]\nseed = 7\n")).hash != a


def test_values_of_the_wrong_shape_are_recipe_errors(tmp_path):
    cases = {
        SOURCE
        + '[mix]\npreset = "minerva"\nprompt_sources = "work"\n': "mix.prompt_sources: 'work' does not fit list",
        SOURCE + '[mix]\npreset = "minerva"\n[[filters]]\nmin_words = 3\n': "[filters] must be a table",
        '[[sources]]\nname = "web"\nkind = "jsonl"\npaths = "."\n[mix]\npreset = "minerva"\n': "paths: expected a list",
        'sources = ["a.jsonl"]\n': "expected a [[sources]] table",
        "build = [1, 2]\n" + SOURCE: "[build] must be a table",
    }
    for text, message in cases.items():
        with pytest.raises(RecipeError, match=re.escape(message)):
            load_recipe(write(tmp_path, text))


def test_source_names_that_collide_as_stage_names_are_refused(tmp_path):
    text = SOURCE + SOURCE.replace('"web"', '"a-b"', 1) + SOURCE.replace('"web"', '"a_b"', 1)
    with pytest.raises(RecipeError, match="repeats another source name"):
        load_recipe(write(tmp_path, text + '[mix]\npreset = "minerva"\n'))
