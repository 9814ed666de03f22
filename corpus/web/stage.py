"""Entry function of `sciloom extract web` and of `web` sources in a recipe."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sciloom.corpus.stage import StageRun, run_stage, stage_logging_dir
from sciloom.corpus.web.config import WebConfig
from sciloom.corpus.web.extractor import WebExtractor
from sciloom.manifests.ledger import read_task_stats
from sciloom.manifests.schema import StageManifest

# Files that sit beside crawled pages but are never pages (READMEs, scripts, metadata). Anything
# else is read, so a binary file saved as .html is quarantined with its reason, not skipped.
NOT_PAGES = (
    ".md",
    ".rst",
    ".txt",
    ".py",
    ".json",
    ".jsonl",
    ".csv",
    ".toml",
    ".yaml",
    ".yml",
    ".ipynb",
    ".cdx",
    ".cdxj",
)


def _value(v: Any) -> int:
    return int(v.get("total", 0)) if isinstance(v, dict) else int(v or 0)


def web_extra(run: StageRun, skipped: list[str]) -> dict[str, Any]:
    """Manifest extra: histogram of math scores, formula counts per markup kind, skipped inputs."""
    bins: Counter[str] = Counter()
    markup: Counter[str] = Counter()
    for step in read_task_stats(stage_logging_dir(run.out_dir)):
        for key, value in (step.get("stats") or {}).items():
            if key.startswith("web_math_bin="):
                bins[key.split("=", 1)[1]] += _value(value)
            elif key.startswith("web_markup="):
                markup[key.split("=", 1)[1]] += _value(value)
    return {
        "math_score_histogram": dict(sorted(bins.items())),
        "formulas_by_markup": dict(sorted(markup.items())),
        "formulas": sum(markup.values()),
        "skipped_inputs": skipped,
    }


def run_web_stage(inputs: list[str], config: WebConfig, run: StageRun, source: str = "web") -> StageManifest:
    """Extract HTML files / WARC(.gz) `inputs` into the stage folder `run.out_dir`.

    READMEs, scripts and metadata files beside the pages are skipped (`extra.skipped_inputs`).
    """
    skipped = [str(p) for p in inputs if str(p).lower().endswith(NOT_PAGES)]
    pages = [str(p) for p in inputs if str(p) not in skipped]
    reader = WebExtractor(pages, config or WebConfig(), source=source)
    return run_stage(run, reader, [], extra=lambda manifest: web_extra(run, skipped))
