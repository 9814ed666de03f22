"""The copy plan: shares, epoch caps, size snapping for coarse sources, determinism."""

from __future__ import annotations

import pytest

from sciloom.corpus.errors import RecipeError
from sciloom.corpus.mix.config import MixConfig
from sciloom.corpus.mix.weights import choose_copies, plan_mix, share_error, target_shares

# token counts shaped like the sample build: three papers, four short pages, small prompt sets
SAMPLE = {"arxiv": [3000, 3500, 2800], "web": [250, 300, 180, 400], "work": [120] * 14, "arith": [20] * 200}


def test_coarse_source_is_met_by_snapping_the_mix_size():
    config = MixConfig(
        preset="minerva",
        missing_sources="renormalize",
        prompt_fraction=0.1,
        max_epochs={"web": 10, "work": 10, "arith": 3},
    )
    # prompt sources found by their documents' `prompt_kind`, as the stage does; no weights needed
    plans = plan_mix(config, SAMPLE, seed=0, detected_prompts=["work", "arith"])
    assert share_error(plans) < 0.01
    assert {p.name: p.share for p in plans.values()} == pytest.approx(
        {"arxiv": 0.45, "web": 0.45, "work": 0.05, "arith": 0.05}
    )
    assert max(plans["web"].copies) > 1  # the pages are repeated, within their cap
    assert max(plans["web"].copies) <= 11


def test_without_repeats_whole_documents_cannot_reach_the_targets_and_the_error_says_so():
    config = MixConfig(preset="minerva", missing_sources="renormalize")
    plans = plan_mix(config, {"arxiv": SAMPLE["arxiv"], "web": SAMPLE["web"]}, seed=0)
    assert share_error(plans) > 0.1


def test_choose_copies_hits_the_target_within_one_document_and_repeats_whole_passes():
    toks = [50, 70, 30, 90, 10, 40]
    copies = choose_copies(toks, 2.5 * sum(toks), __import__("random").Random(1))
    realised = sum(c * t for c, t in zip(copies, toks))
    assert abs(realised - 2.5 * sum(toks)) <= max(toks) / 2
    assert set(copies) <= {2, 3}


def test_plan_is_deterministic_by_seed():
    config = MixConfig(weights={"a": 1, "b": 1})
    toks = {"a": list(range(1, 200)), "b": list(range(5, 400, 3))}
    assert plan_mix(config, toks, 4)["b"].copies == plan_mix(config, toks, 4)["b"].copies
    assert plan_mix(config, toks, 4)["b"].copies != plan_mix(config, toks, 5)["b"].copies


def test_prompt_fraction_splits_among_prompt_sources_by_weight():
    config = MixConfig(
        weights={"a": 3, "b": 1, "p": 2, "q": 1}, prompt_fraction=0.3, prompt_sources=["p", "q"]
    )
    shares = target_shares(config, {"a": 10, "b": 10, "p": 10, "q": 10})
    assert shares == pytest.approx({"a": 0.525, "b": 0.175, "p": 0.2, "q": 0.1})
    with pytest.raises(RecipeError, match=r"\['p', 'q'\] have no input"):
        target_shares(config, {"a": 10, "b": 10})
