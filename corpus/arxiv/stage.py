"""Entry function of `sciloom extract arxiv` and of arXiv sources in `sciloom build`."""

from __future__ import annotations

from typing import Any

from sciloom.corpus.arxiv.config import ArxivConfig
from sciloom.corpus.arxiv.extractor import STAT_PREFIX, ArxivExtractor
from sciloom.corpus.stage import StageRun, run_stage, stage_logging_dir
from sciloom.manifests.ledger import read_task_stats
from sciloom.manifests.schema import StageManifest

# Files found in input folders that are documentation or tooling, never arXiv sources.
NOT_SOURCES = (".md", ".py", ".json", ".rst", ".toml", ".yaml", ".yml", ".ipynb")


def run_arxiv_stage(
    inputs: list[str], config: ArxivConfig, run: StageRun, source: str = "arxiv"
) -> StageManifest:
    """Extract every submission of `inputs` (files: submissions or bulk tars) into `run.out_dir`.

    READMEs, scripts and JSON beside the sources are skipped (listed in `extra.skipped_inputs`).
    The manifest's `extra.arxiv` holds totals over the kept papers: unresolved macros and
    includes (both should be 0 on clean papers), formulas and citations.
    """
    skipped = [str(p) for p in inputs if str(p).lower().endswith(NOT_SOURCES)]
    sources = [str(p) for p in inputs if str(p) not in skipped]
    reader = ArxivExtractor(sources, source=source, config=config)

    def extra(manifest: StageManifest) -> dict[str, Any]:
        return {"arxiv": arxiv_totals(run), "skipped_inputs": skipped}

    return run_stage(run, reader, [], extra=extra)


def arxiv_totals(run: StageRun) -> dict[str, int]:
    totals: dict[str, int] = {}
    for step in read_task_stats(stage_logging_dir(run.out_dir)):
        for key, value in (step.get("stats") or {}).items():
            if key.startswith(STAT_PREFIX):
                n = int(value.get("total", 0)) if isinstance(value, dict) else int(value or 0)
                name = key[len(STAT_PREFIX) :]
                totals[name] = totals.get(name, 0) + n
    return dict(sorted(totals.items()))
