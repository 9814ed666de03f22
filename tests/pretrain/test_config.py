"""Run-config loading: strict keys, field validation, layout checks before any process starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from sciloom.corpus.errors import RecipeError
from sciloom.pretrain.config import load_config, validate_world

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "examples" / "pretrain-tiny.toml"
LLAMA_1B = REPO / "examples" / "pretrain-llama-1b.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


MINIMAL = """
[model]
shape = "tiny"
[data]
prefixes = ["data/a"]
tokenizer_library = "null"
null_vocab_size = 512
"""


def test_example_configs_load_and_resolve_paths_against_the_toml():
    tiny = load_config(TINY)
    assert tiny.model.shape == "tiny" and tiny.launch.nproc_per_node == 2
    assert tiny.data.prefixes[0] == str((REPO / "examples" / "data" / "tiny_a").resolve())
    big = load_config(LLAMA_1B)
    assert big.model.shape == "llama-3.2-1b" and big.training.seq_length == 4096
    assert big.training.precision == "bf16" and big.model.attention == "sdpa"


def test_unknown_key_is_named_with_its_section(tmp_path):
    with pytest.raises(RecipeError, match=r"unknown key training\.lr "):
        load_config(write(tmp_path, MINIMAL + "[training]\nlr = 1e-4\n"))
    with pytest.raises(RecipeError, match=r"unknown section \[optimiser\]"):
        load_config(write(tmp_path, MINIMAL + "[optimiser]\nlr = 1e-4\n"))


def test_field_errors_name_the_field(tmp_path):
    with pytest.raises(RecipeError, match=r"optimizer\.decay_style"):
        load_config(write(tmp_path, MINIMAL + "[optimizer]\ndecay_style = 'step'\n"))
    with pytest.raises(RecipeError, match=r"training\.global_batch_size \(10\) must be a multiple"):
        load_config(write(tmp_path, MINIMAL + "[training]\nmicro_batch_size = 4\nglobal_batch_size = 10\n"))
    with pytest.raises(RecipeError, match=r"exactly one of model\.hf_checkpoint or model\.shape"):
        load_config(write(tmp_path, MINIMAL.replace('shape = "tiny"', "")))
    with pytest.raises(RecipeError, match=r"checkpoint\.optimizer_format"):
        load_config(write(tmp_path, MINIMAL + "[checkpoint]\noptimizer_format = 'zero3'\n"))
    with pytest.raises(RecipeError, match=r"training\.seq_length"):
        load_config(write(tmp_path, MINIMAL + "[training]\nseq_length = 0\n"))
    with pytest.raises(
        RecipeError, match=r"optimizer\.warmup_iters \(10\) must be < the decay length \(10\)"
    ):
        load_config(
            write(tmp_path, MINIMAL + "[training]\ntrain_iters = 10\n[optimizer]\nwarmup_iters = 10\n")
        )


def test_overrides_apply_on_top_of_the_file(tmp_path):
    cfg = load_config(write(tmp_path, MINIMAL), {"parallel": {"tensor": 2}, "training": {"train_iters": 7}})
    assert cfg.parallel.tensor == 2 and cfg.training.train_iters == 7


def test_layout_is_checked_against_world_size_naming_every_degree(tmp_path):
    cfg = load_config(write(tmp_path, MINIMAL + "[parallel]\ntensor = 2\npipeline = 2\ndata = 2\n"))
    with pytest.raises(RecipeError) as err:
        validate_world(cfg, 4)
    msg = str(err.value)
    assert "parallel.tensor=2" in msg and "parallel.pipeline=2" in msg and "parallel.data=2" in msg
    assert "world size is 4" in msg
    assert validate_world(cfg, 8) == 2
    with pytest.raises(RecipeError, match="world size 6 is not divisible"):
        validate_world(cfg, 6)
    with pytest.raises(RecipeError, match="layers do not split evenly over parallel.pipeline=2"):
        validate_world(cfg, 8, num_layers=5)
    auto = load_config(write(tmp_path, MINIMAL + "[training]\nglobal_batch_size = 8\n"))
    with pytest.raises(RecipeError, match=r"data-parallel size \(3\)"):
        validate_world(auto, 3)
