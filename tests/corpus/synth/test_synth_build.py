"""`sciloom build` with a synth source next to the embedded sample's sources, end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from sciloom.corpus.cli.main import main
from sciloom.corpus.recipe import SAMPLE_RECIPE
from sciloom.manifests.schema import read_manifest_dict


@pytest.mark.slow
def test_a_synth_source_is_decontaminated_and_mixed_in_a_build(serve, oracle, gsm8k_file, tmp_path):
    server = serve(oracle.respond)
    sample = SAMPLE_RECIPE.parent
    text = SAMPLE_RECIPE.read_text(encoding="utf-8")
    for name in ("arxiv", "web", "problems/gsm8k_style.jsonl", "problems/math_style.jsonl"):
        text = text.replace(f'paths = ["{name}"]', f'paths = ["{sample / name}"]')
    synth_source = f"""[[sources]]
name = "gsm8k_rft"
kind = "synth"
synth_kind = "rft"
paths = ["{gsm8k_file}"]
[sources.options]
samples = 4
[sources.options.backend]
name = "openai"
model = "oracle"
base_url = "{server.url}"

[filters]"""
    text = text.replace("[filters]", synth_source, 1)
    text = text.replace(
        'prompt_sources = ["work", "cot", "arith"]', 'prompt_sources = ["work", "cot", "arith", "gsm8k_rft"]'
    )
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(text, encoding="utf-8")
    out = tmp_path / "build"
    assert main(["build", str(recipe), "--out", str(out), "--no-progress"]) == 0
    stages = {s["name"]: s for s in read_manifest_dict(out)["stages"]}
    assert stages["prompts-gsm8k_rft"]["totals"] == {
        "in": 8,
        "added": 24,
        "kept": 8,
        "dropped": 24,
        "quarantined": 0,
    }
    names = list(stages)
    assert names.index("prompts-gsm8k_rft") < names.index("tokenizer")
    decontam = [n for n in names if n.startswith("decontam-gsm8k_rft")]
    assert decontam and stages[decontam[0]]["totals"]["in"] == 8  # it passes decontamination first
    mix = read_manifest_dict(out / stages["mix"]["dir"])
    assert mix["sources"]["gsm8k_rft"]["docs"]["in"] == 8 and mix["sources"]["gsm8k_rft"]["docs"]["kept"] > 0
    assert len(server.requests) == 32
    # a rerun of the same recipe resumes: nothing is asked of the model again
    assert main(["build", str(recipe), "--out", str(out), "--no-progress"]) == 0
    assert len(server.requests) == 32
    assert Path(out / stages["prompts-gsm8k_rft"]["dir"] / "cache").is_dir()
