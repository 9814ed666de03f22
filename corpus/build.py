"""`sciloom build`: a recipe -> ordered stages -> one stage folder each -> the build manifest.

Stage order (FIELD-NOTES 6 for the filter order):

    extract-<source>   per corpus source (arxiv, web, jsonl)
    filter             language id + math-aware quality        ([filters], can be disabled)
    dedup              exact, then MinHash near-duplicates     ([dedup])
    decontam           benchmark test-set overlap              ([decontam])
    prompts-<source>   per prompt source (<work> traces, CoT, PoT, FOBAR, arithmetic, ...)
    decontam-<source>  the same decontamination, on that prompt source's output
    tokenizer          train (or extend) the SentencePiece model on the corpus and prompts
    mix                weights/epochs per source, prompts interleaved, shuffled by seed
    tokenize           one Megatron .bin/.idx per source + the blend

Every stage output that feeds the mix passes a decontam stage: the corpus chain through
`decontam`, every other feed (prompt data ingested or generated, whatever its kind) through its own
`decontam-<source>` (`Build.decontaminated`), so a prompt row that copies a test question is
dropped before the mix, and the hits are reported per source. Prompt data made from training
splits (GSM8K train) is not test data and is only hit where it repeats a test item.

Each stage is the same entry function its CLI subcommand calls, so `sciloom build` and the
per-stage commands give the same folders. A rerun of the same recipe resumes (finished tasks are
skipped through datatrove's completions); a rerun with a changed recipe is refused unless
`force=True`. This module is the only one that imports across stages, and it does so lazily.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sciloom.corpus.errors import RecipeError
from sciloom.corpus.inputs import resolve_inputs
from sciloom.corpus.output_folder import claim_output_folder, is_sciloom_folder
from sciloom.corpus.recipe import Recipe
from sciloom.corpus.shards import ShardReader, is_shard_file, shard_files
from sciloom.corpus.stage import StageRun, manifest_ref, run_stage
from sciloom.manifests.checksums import sha256_file
from sciloom.manifests.provenance import host_info, now_iso, package_versions
from sciloom.manifests.schema import (
    MANIFEST_NAME,
    BuildManifest,
    StageManifest,
    read_manifest_dict,
    write_manifest,
)

logger = logging.getLogger(__name__)

RECIPE_HASH_FILE = "recipe.sha256"
PLAN_FILE = "stages.json"


@dataclass
class BuildEvent:
    """Progress report for the CLI: a stage started or finished."""

    index: int
    total: int
    stage: str
    finished: bool
    manifest: StageManifest | None = None
    seconds: float = 0.0


ProgressFn = Callable[[BuildEvent], None]


def check_recipe_hash(out_dir: Path, recipe_hash: str, force: bool) -> None:
    """Refuse to resume a build folder made from a different recipe, unless forced."""
    claim_output_folder(out_dir, force=force)  # a folder sciloom did not make is refused, never emptied
    marker = out_dir / RECIPE_HASH_FILE
    if marker.is_file():
        old = marker.read_text().strip()
        if old != recipe_hash:
            if not force:
                raise RecipeError(
                    f"{out_dir} was built from another recipe (hash {old[:12]} != {recipe_hash[:12]}); "
                    "use --force to rebuild it from scratch, or choose another --out"
                )
            logger.warning("recipe changed: removing the old build in %s", out_dir)
            remove_old_build(out_dir)
    marker.write_text(recipe_hash + "\n")


BUILD_FILES = (RECIPE_HASH_FILE, PLAN_FILE, "recipe.json", "manifest.json")


def remove_old_build(out_dir: Path) -> None:
    """Remove what an earlier build wrote (its stage folders and build files), nothing else.

    Files a person put into the build folder, and the entries `--force` moved aside, stay.
    """
    try:
        planned = set(json.loads((out_dir / PLAN_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        planned = set()
    for child in out_dir.iterdir():
        is_stage = child.is_dir() and not child.is_symlink() and re.fullmatch(r"\d\d-[\w-]+", child.name)
        if is_stage and (child.name in planned or is_sciloom_folder(child)):
            shutil.rmtree(child)
        elif child.name in BUILD_FILES and child.is_file():
            child.unlink()


def planned_stages(recipe: Recipe) -> list[str]:
    names = [f"extract-{s.name}" for s in recipe.sources if not s.is_prompt_data]
    names += [n for n in ("filter", "dedup", "decontam") if recipe.enabled[_section_of(n)]]
    for s in recipe.sources:
        if s.is_prompt_data:
            names += [f"prompts-{s.name}", *_feed_decontam(recipe, s.name)]
    names += ["tokenizer", "mix", "tokenize"]
    return names


def _feed_decontam(recipe: Recipe, source: str) -> list[str]:
    """The decontam stage of a mix feed other than the corpus chain (none when disabled)."""
    return [f"decontam-{source}"] if recipe.enabled["decontam"] else []


def _section_of(stage: str) -> str:
    return {"filter": "filters", "dedup": "dedup", "decontam": "decontam"}[stage]


class Build:
    """One run of a recipe into a build folder."""

    def __init__(
        self,
        recipe: Recipe,
        out_dir: Path,
        *,
        workers: int | None = None,
        executor_factory: Callable[..., Any] | None = None,
        progress: ProgressFn | None = None,
    ) -> None:
        self.recipe = recipe
        self.out_dir = Path(out_dir)
        self.workers = workers or recipe.build.workers
        self.executor_factory = executor_factory
        self.progress = progress or (lambda event: None)
        self.plan = planned_stages(recipe)
        self.stages: list[dict[str, Any]] = []

    # -- helpers ---------------------------------------------------------------------------------
    def stage_dir(self, name: str) -> Path:
        return self.out_dir / f"{self.plan.index(name) + 1:02d}-{name}"

    def stage_run(self, name: str, inputs_from: list[Path]) -> StageRun:
        return StageRun(
            name=name.replace("-", "_"),
            out_dir=self.stage_dir(name),
            workers=self.workers,
            seed=self.recipe.build.seed,
            recipe_hash=self.recipe.hash,
            input_manifests=[manifest_ref(d) for d in inputs_from],
            executor_factory=self.executor_factory,
        )

    def _run(self, name: str, fn: Callable[[], StageManifest]) -> StageManifest:
        index = self.plan.index(name) + 1
        self.progress(BuildEvent(index, len(self.plan), name, finished=False))
        start = time.time()
        manifest = fn()
        seconds = time.time() - start
        folder = self.stage_dir(name)
        self.stages.append(
            {
                "name": name,
                "dir": folder.name,
                "manifest_sha256": sha256_file(folder / MANIFEST_NAME),
                "totals": manifest.totals.to_dict()["docs"],
            }
        )
        self.progress(
            BuildEvent(index, len(self.plan), name, finished=True, manifest=manifest, seconds=seconds)
        )
        return manifest

    # -- the stages -----------------------------------------------------------------------------
    def run(self) -> BuildManifest:
        start = time.time()
        recipe = self.recipe
        corpus_dirs = [self.extract(src) for src in recipe.sources if not src.is_prompt_data]
        current = corpus_dirs
        for stage in ("filter", "dedup", "decontam"):
            if recipe.enabled[_section_of(stage)]:
                current = [self.filter_stage(stage, current)]
        # every feed of the mix is decontaminated (the corpus chain above, the rest here)
        prompt_dirs = {
            src.name: self.decontaminated(src.name, self.prompts(src))
            for src in recipe.sources
            if src.is_prompt_data
        }
        tokenizer_model = self.train_tokenizer(current + list(prompt_dirs.values()))
        mix_dir = self.mix(current, prompt_dirs, tokenizer_model)
        tokenize_manifest = self.tokenize(mix_dir, tokenizer_model)
        decontam = self._decontam_summary()
        build = BuildManifest(
            recipe=recipe.to_dict(),
            recipe_hash=recipe.hash,
            stages=self.stages,
            seed=recipe.build.seed,
            versions=package_versions(),
            host=host_info(),
            created=now_iso(),
            wall_time_s=round(time.time() - start, 3),
            outputs={
                "tokenizer": str(tokenizer_model.relative_to(self.out_dir)),
                "tokenizer_sha256": sha256_file(tokenizer_model),
                **tokenize_manifest.extra.get("tokenize", {}),
                "blend": tokenize_manifest.extra.get("blend")
                or read_manifest_dict(mix_dir).get("extra", {}).get("blend"),
                **({"decontamination": decontam} if decontam else {}),
            },
        )
        write_manifest(self.out_dir, build)
        return build

    def _decontam_summary(self) -> dict[str, dict[str, int]]:
        """Per source, over every decontam stage of the build: documents in, hit, dropped, masked."""
        out: dict[str, dict[str, int]] = {}
        for stage in self.stages:
            if stage["name"] != "decontam" and not stage["name"].startswith("decontam-"):
                continue
            m = read_manifest_dict(self.out_dir / stage["dir"])
            hits = (m.get("extra") or {}).get("decontam", {}).get("hits_by_source", {})
            for source, counts in (m.get("sources") or {}).items():
                row = out.setdefault(
                    source,
                    {"stage": stage["dir"], "documents": 0, "documents_hit": 0, "dropped": 0, "masked": 0},
                )
                row["documents"] += int(counts["docs"]["in"])
                for key in ("documents_hit", "dropped", "masked"):
                    row[key] += int((hits.get(source) or {}).get(key, 0))
        return dict(sorted(out.items()))

    def extract(self, src) -> Path:
        name = f"extract-{src.name}"
        accept = is_shard_file if src.kind == "jsonl" else (lambda p: True)
        files = resolve_inputs([str(self.recipe.resolve(p)) for p in src.paths], accept)
        run = self.stage_run(name, [])

        def go() -> StageManifest:
            if src.kind == "arxiv":
                from sciloom.corpus.arxiv.stage import run_arxiv_stage

                return run_arxiv_stage(files, src.options, run, source=src.name)
            if src.kind == "web":
                from sciloom.corpus.web.stage import run_web_stage

                return run_web_stage(files, src.options, run, source=src.name)
            return run_stage(run, ShardReader(files, source=src.name, force_source=True), [])

        self._run(name, go)
        return run.out_dir

    def filter_stage(self, stage: str, inputs: list[Path]) -> Path:
        from sciloom.filters import stage as filter_stages

        files = [str(f) for d in inputs for f in shard_files(d)]
        run = self.stage_run(stage, inputs)
        config = self.recipe.sections[_section_of(stage)]
        fn = {
            "filter": filter_stages.run_filter_stage,
            "dedup": filter_stages.run_dedup_stage,
            "decontam": filter_stages.run_decontam_stage,
        }[stage]
        self._run(stage, lambda: fn(files, config, run))
        return run.out_dir

    def prompts(self, src) -> Path:
        from sciloom.corpus.prompts.stage import run_prompts_stage

        name = f"prompts-{src.name}"
        files = resolve_inputs([str(self.recipe.resolve(p)) for p in src.paths]) if src.paths else []
        run = self.stage_run(name, [])
        if src.kind == "synth":  # model-generated prompt data: an ordinary prompt stage folder
            from sciloom.corpus.synth.stage import run_synth_stage, with_cache_under

            options = with_cache_under(src.options, self.recipe.base_dir)  # relative to the recipe
            self._run(name, lambda: run_synth_stage(src.synth_kind, files, options, run, source=src.name))
            return run.out_dir
        self._run(name, lambda: run_prompts_stage(src.prompt_kind, files, src.options, run, source=src.name))
        return run.out_dir

    def decontaminated(self, source: str, folder: Path) -> Path:
        """`folder` (the output of a stage feeding the mix) after its `decontam-<source>` stage."""
        stages = _feed_decontam(self.recipe, source)
        if not stages:
            return folder
        from sciloom.filters.stage import run_decontam_stage

        name = stages[0]
        files = [str(f) for f in shard_files(folder)]
        run = self.stage_run(name, [folder])
        config = self.recipe.sections["decontam"]
        self._run(name, lambda: run_decontam_stage(files, config, run))
        return run.out_dir

    def train_tokenizer(self, inputs: list[Path]) -> Path:
        from sciloom.tokenizer.train import train_tokenizer

        name = "tokenizer"
        folder = self.stage_dir(name)
        files = [str(f) for d in inputs for f in shard_files(d)]
        config = self.recipe.sections["tokenizer"]
        index = self.plan.index(name) + 1
        self.progress(BuildEvent(index, len(self.plan), name, finished=False))
        start = time.time()
        model = train_tokenizer(files, config, folder)
        self.stages.append({"name": name, "dir": folder.name, "model_sha256": sha256_file(model)})
        self.progress(BuildEvent(index, len(self.plan), name, finished=True, seconds=time.time() - start))
        return Path(model)

    def mix(self, corpus_dirs: list[Path], prompt_dirs: dict[str, Path], tokenizer_model: Path) -> Path:
        from sciloom.corpus.mix.stage import run_mix_stage

        # The mixer routes a document to its own `source` when the weights name it, else to its
        # input key: corpus shards hold several sources (keyed by folder), prompt stages one each
        # (keyed by the source name, so prompt data keeps its recipe name without a weight).
        inputs_by_source: dict[str, list[str]] = {
            d.name: [str(f) for f in shard_files(d)] for d in corpus_dirs
        }
        for name, d in prompt_dirs.items():
            inputs_by_source[name] = [str(f) for f in shard_files(d)]
        run = self.stage_run("mix", corpus_dirs + list(prompt_dirs.values()))
        config = self.recipe.sections["mix"]
        self._run("mix", lambda: run_mix_stage(inputs_by_source, config, run, str(tokenizer_model)))
        return run.out_dir

    def tokenize(self, mix_dir: Path, tokenizer_model: Path) -> StageManifest:
        from sciloom.tokenizer.stage import run_tokenize_stage

        files = [str(f) for f in shard_files(mix_dir)]
        run = self.stage_run("tokenize", [mix_dir])
        return self._run("tokenize", lambda: run_tokenize_stage(files, tokenizer_model, run))


def run_build(
    recipe: Recipe,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    executor_factory: Callable[..., Any] | None = None,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> BuildManifest:
    """Run every stage of `recipe` into `out_dir` and write the build manifest."""
    out_dir = Path(out_dir)
    check_recipe_hash(out_dir, recipe.hash, force)
    from sciloom.corpus.prompts.execution import require_sandbox

    require_sandbox(recipe.sources)  # programs of prompt sources need an OS sandbox (docs/sandbox.md)
    (out_dir / "recipe.json").write_text(json.dumps(recipe.to_dict(), indent=2, default=str) + "\n")
    build = Build(recipe, out_dir, workers=workers, executor_factory=executor_factory, progress=progress)
    # The planned stage folders, so `sciloom status` can tell a stage that never started.
    (out_dir / PLAN_FILE).write_text(
        json.dumps([build.stage_dir(n).name for n in build.plan], indent=1) + "\n"
    )
    return build.run()
