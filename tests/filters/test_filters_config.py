"""Config dataclasses reject bad values with a RecipeError naming section.field."""

from __future__ import annotations

import pytest

from sciloom.corpus.errors import RecipeError
from sciloom.filters.config import DecontamConfig, DedupConfig, FilterConfig


@pytest.mark.parametrize(
    ("factory", "field"),
    [
        (lambda: FilterConfig(min_language_score=1.5), "filters.min_language_score"),
        (lambda: FilterConfig(min_words=-1), "filters.min_words"),
        (lambda: FilterConfig(languages="en"), "filters.languages"),
        (lambda: DedupConfig(mode="spark"), "dedup.mode"),
        (lambda: DedupConfig(num_bands=0), "dedup.num_bands"),
        (lambda: DedupConfig(threshold=2.0), "dedup.threshold"),
        (lambda: DedupConfig(index="/x"), "dedup.index"),
        (lambda: DecontamConfig(action="delete"), "decontam.action"),
        (lambda: DecontamConfig(ngram=13, audit_ngram=8), "decontam.audit_ngram"),
        (lambda: DecontamConfig(builtin=False), "decontam.builtin"),
    ],
)
def test_bad_values_name_the_field(factory, field):
    with pytest.raises(RecipeError, match=field.replace(".", r"\.")):
        factory()


def test_defaults_follow_the_field_notes():
    d = DedupConfig()
    assert (d.num_bands, d.rows_per_band, d.num_perm, d.ngram) == (16, 8, 128, 5)
    assert DecontamConfig().ngram == 13 and DecontamConfig().audit_ngram == 30
    assert FilterConfig().languages == ["en"]


def test_incremental_index_must_exist(tmp_path):
    from sciloom.corpus.stage import StageRun
    from sciloom.filters.stage import run_dedup_stage

    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "a", "text": "some text here for a test"}\n')
    with pytest.raises(RecipeError, match="dedup.index"):
        run_dedup_stage(
            [str(path)],
            DedupConfig(mode="incremental", index=str(tmp_path / "nope")),
            StageRun("dedup", tmp_path / "o"),
        )
