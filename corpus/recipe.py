"""A build is described by one TOML recipe; this module loads and validates it up front.

    [build]                       name, seed, workers
    [[sources]]                   one table per source: name, kind, paths (relative to the recipe)
      [sources.options]           the extractor's or prompt builder's config (ArxivConfig, ...)
    [filters] [dedup] [decontam]  filter stages (each with `enabled`)
    [tokenizer]                   TokenizerConfig
    [mix]                         MixConfig

Every table is turned into the dataclass of the stage that owns it (see SECTIONS), unknown keys are
errors naming `section.key`, and paths must exist. The recipe's hash (of its resolved content) goes
into every manifest, and `sciloom build` refuses to resume a build made from another recipe.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sciloom.corpus.errors import RecipeError
from sciloom.corpus.strict_config import config_from_dict, config_to_dict
from sciloom.manifests.provenance import config_hash

SAMPLE_RECIPE = Path(__file__).resolve().parent / "sample" / "recipe.toml"

# kind -> (config class for [sources.options], whether it is corpus text or prompt data)
SOURCE_KINDS: dict[str, str] = {
    "arxiv": "sciloom.corpus.arxiv.config:ArxivConfig",
    "web": "sciloom.corpus.web.config:WebConfig",
    "jsonl": "",  # already-extracted documents (Parquet or JSONL with id/text)
    "prompts": "sciloom.corpus.prompts.config:PromptsConfig",
    "synth": "sciloom.corpus.synth.config:SynthConfig",  # model-generated prompt data (docs/synth.md)
}
PROMPT_KINDS = ("cot", "pot", "work", "fobar", "sv", "rft", "ingest", "arith")
SYNTH_KINDS = ("rft", "rephrase", "sv", "fobar", "augment", "evol", "opro")  # = synth.config.KINDS

SECTIONS: dict[str, str] = {
    "filters": "sciloom.filters.config:FilterConfig",
    "dedup": "sciloom.filters.config:DedupConfig",
    "decontam": "sciloom.filters.config:DecontamConfig",
    "tokenizer": "sciloom.tokenizer.config:TokenizerConfig",
    "mix": "sciloom.corpus.mix.config:MixConfig",
}


def load_class(path: str) -> type:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass
class BuildSection:
    name: str = "build"
    """Name of the build, shown in manifests."""
    seed: int = 1234
    """Seed for every random choice (sampling, shuffles, tokenizer training)."""
    workers: int = 1
    """Default number of worker processes (the CLI's --workers overrides it)."""

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise RecipeError(f"build.workers must be >= 1, got {self.workers}")


@dataclass
class SourceSection:
    name: str
    """Source name recorded in every document; used by the mix weights."""
    kind: str
    """arxiv | web | jsonl | prompts"""
    paths: list[str] = field(default_factory=list)
    """Files, folders or globs, relative to the recipe file."""
    prompt_kind: str | None = None
    """For kind = "prompts": cot | pot | work | fobar | sv | rft | ingest | arith."""
    synth_kind: str | None = None
    """For kind = "synth": rft | rephrase | sv | fobar | augment | evol | opro (docs/synth.md)."""
    options: Any = None
    """The kind's own config (table [sources.options]), validated by its dataclass."""

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise RecipeError(
                f"sources.{self.name}.kind: unknown kind {self.kind!r} (known: {', '.join(SOURCE_KINDS)})"
            )
        if self.kind == "prompts" and self.prompt_kind not in PROMPT_KINDS:
            raise RecipeError(
                f"sources.{self.name}.prompt_kind: {self.prompt_kind!r} is not one of {', '.join(PROMPT_KINDS)}"
            )
        if self.kind == "synth" and self.synth_kind not in SYNTH_KINDS:
            raise RecipeError(
                f"sources.{self.name}.synth_kind: {self.synth_kind!r} is not one of {', '.join(SYNTH_KINDS)}"
            )
        if not self.name.replace("_", "").replace("-", "").isalnum():
            raise RecipeError(f"sources.name: {self.name!r} must be letters, digits, '_' or '-'")

    @property
    def is_prompt_data(self) -> bool:
        return self.kind in ("prompts", "synth")


@dataclass
class Recipe:
    build: BuildSection
    sources: list[SourceSection]
    sections: dict[str, Any]  # section name -> its config dataclass (or None when absent)
    enabled: dict[str, bool]  # filters/dedup/decontam on or off
    base_dir: Path
    raw: dict[str, Any]

    @property
    def hash(self) -> str:
        """Hash of everything that decides the output (not `build.workers`: parallelism never does)."""
        content = self.to_dict()
        content["build"] = {k: v for k, v in content["build"].items() if k != "workers"}
        return config_hash(content)

    def to_dict(self) -> dict[str, Any]:
        return {
            "build": config_to_dict(self.build),
            "sources": [
                {**config_to_dict(s), "paths": [str(self.resolve(p)) for p in s.paths]} for s in self.sources
            ],
            **{k: config_to_dict(v) for k, v in self.sections.items() if v is not None},
            "enabled": dict(self.enabled),
        }

    def resolve(self, path: str) -> Path:
        return resolve_path(self.base_dir, path)

    def source(self, name: str) -> SourceSection:
        for s in self.sources:
            if s.name == name:
                return s
        raise RecipeError(f"no source named {name!r}")


def load_recipe(path: str | os.PathLike | None = None) -> Recipe:
    """Load and validate a recipe file (the embedded sample recipe when `path` is None)."""
    path = Path(path) if path is not None else SAMPLE_RECIPE
    if not path.is_file():
        raise RecipeError(f"{path}: recipe file not found")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise RecipeError(f"{path}: not valid TOML ({err})") from err
    try:
        return recipe_from_dict(raw, path.resolve().parent)
    except RecipeError as err:
        raise RecipeError(f"{path}: {err}") from err


def recipe_from_dict(raw: dict[str, Any], base_dir: Path) -> Recipe:
    known = {"build", "sources", *SECTIONS}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise RecipeError(f"unknown section [{unknown[0]}] (known: {', '.join(sorted(known))})")
    if not isinstance(raw.get("build", {}), dict):
        raise RecipeError("[build] must be a table")
    build = config_from_dict(BuildSection, raw.get("build"), "build")
    sources_raw = raw.get("sources") or []
    if not isinstance(sources_raw, list) or not sources_raw:
        raise RecipeError("the recipe needs at least one [[sources]] table")
    sources = []
    seen: set[str] = set()
    for i, table in enumerate(sources_raw):
        if not isinstance(table, dict):
            raise RecipeError(f"sources[{i}]: expected a [[sources]] table, got {table!r}"[:200])
        table = dict(table)
        options = table.pop("options", None)
        where = f"sources[{table.get('name', i)}]"
        for key in ("name", "kind"):
            if key not in table:
                raise RecipeError(f"{where}.{key} is missing")
        src = config_from_dict(SourceSection, table, where)
        # Stage names use "_" for "-", so "a-b" and "a_b" would share a stage name.
        key = src.name.replace("-", "_")
        if key in seen:
            raise RecipeError(
                f"{where}.name: {src.name!r} repeats another source name ('-' and '_' count as one)"
            )
        seen.add(key)
        cls_path = SOURCE_KINDS[src.kind]
        if cls_path:
            src.options = config_from_dict(load_class(cls_path), options, f"{where}.options")
        elif options:
            raise RecipeError(f"{where}.options: kind {src.kind!r} takes no options")
        if not src.paths and src.prompt_kind != "arith":
            raise RecipeError(f"{where}.paths: no input paths given")
        sources.append(src)
    check_paths(base_dir, sources)
    sections: dict[str, Any] = {}
    enabled: dict[str, bool] = {}
    for name, cls_path in SECTIONS.items():
        table = raw.get(name) or {}
        if not isinstance(table, dict):
            raise RecipeError(f"[{name}] must be a table, not an array of tables or a value")
        table = dict(table)
        on = table.pop("enabled", True) if name in ("filters", "dedup", "decontam") else True
        if not isinstance(on, bool):
            raise RecipeError(f"{name}.enabled must be true or false")
        enabled[name] = on
        sections[name] = config_from_dict(load_class(cls_path), table, name)
    return Recipe(build, sources, sections, enabled, base_dir, raw)


def resolve_path(base_dir: Path, path: str) -> Path:
    p = Path(os.path.expanduser(path))
    return p if p.is_absolute() else (base_dir / p)


def check_paths(base_dir: Path, sources: list[SourceSection]) -> None:
    """Every source path must name something that exists (globs must match)."""
    import glob

    from sciloom.corpus.inputs import resolve_inputs

    for src in sources:
        for p in src.paths:
            full = resolve_path(base_dir, p)
            if not full.exists() and not glob.glob(str(full), recursive=True):
                raise RecipeError(f"sources[{src.name}].paths: {p} does not exist (looked for {full})")
        if src.paths and not resolve_inputs([str(resolve_path(base_dir, p)) for p in src.paths]):
            raise RecipeError(f"sources[{src.name}].paths: {', '.join(src.paths)} hold no input files")


def replace_section(recipe: Recipe, name: str, **changes: Any) -> Recipe:
    """A copy of the recipe with fields of one section changed (used by tests and tools)."""
    sections = dict(recipe.sections)
    sections[name] = dataclasses.replace(sections[name], **changes)
    return dataclasses.replace(recipe, sections=sections)
