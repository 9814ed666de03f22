"""Entry functions of the three filter stages, shared by their CLI subcommands and `sciloom build`.

- `run_filter_stage`: language id + math-aware quality rules, one map pass.
- `run_dedup_stage`: exact + MinHash dedup in passes (see dedup_stage.py), one stage folder.
- `run_decontam_stage`: benchmark n-gram decontamination, one map pass; hits in the manifest.
"""

from __future__ import annotations

from sciloom.corpus.stage import StageRun
from sciloom.filters.config import DecontamConfig, DedupConfig, FilterConfig
from sciloom.manifests.schema import StageManifest


def run_filter_stage(inputs: list[str], config: FilterConfig, run: StageRun) -> StageManifest:
    """Language and quality filtering of `inputs` (shard files) into `run.out_dir`."""
    from sciloom.corpus.shards import ShardReader
    from sciloom.corpus.stage import run_stage
    from sciloom.filters.langid import LanguageFilter
    from sciloom.filters.quality import MathQualityFilter

    steps = [LanguageFilter(config), MathQualityFilter(config)]
    return run_stage(
        run, ShardReader(list(inputs)), steps, extra=lambda m: {"filters": _filter_extra(config)}
    )


def _filter_extra(config: FilterConfig) -> dict:
    from dataclasses import asdict

    from sciloom.filters.langid import model_info

    return {"config": asdict(config), "langid": model_info()}


def run_dedup_stage(inputs: list[str], config: DedupConfig, run: StageRun) -> StageManifest:
    """Exact and near-duplicate removal over all of `inputs` into `run.out_dir`."""
    from sciloom.corpus.output_folder import claim_output_folder
    from sciloom.filters.dedup_stage import run_dedup

    claim_output_folder(run.out_dir, force=run.force)  # refuses a folder sciloom did not make
    return run_dedup(list(inputs), config, run)


def run_decontam_stage(inputs: list[str], config: DecontamConfig, run: StageRun) -> StageManifest:
    """Benchmark decontamination of `inputs` into `run.out_dir`."""
    from sciloom.filters.decontamination import run_decontam

    return run_decontam(list(inputs), config, run)
