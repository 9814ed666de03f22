"""Manifest files: one `manifest.json` per stage folder and one per build.

A stage manifest says what went in, what was kept, dropped (by reason) and quarantined (by
reason), per source and in total, which shards were written (with sha256 and row counts), which
inputs the stage read, and with which recipe hash, seed and package versions. Stage-specific
results (dedup clusters, decontamination hits, tokens per source, mix proportions, tokenizer
fingerprint) go under `extra`, keyed by the stage. Manifests stay small: sample documents are
referenced by id, never copied.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sciloom.manifests.errors import ManifestError
from sciloom.manifests.ledger import Counts, total

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"


@dataclass
class ShardEntry:
    path: str  # relative to the stage folder
    sha256: str
    rows: int
    bytes: int


@dataclass
class StageManifest:
    stage: str
    sources: dict[str, Counts] = field(default_factory=dict)
    shards: list[ShardEntry] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    input_manifests: list[dict[str, str]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    samples: dict[str, list[dict[str, str]]] = field(
        default_factory=dict
    )  # drop reason -> [{id, source, file}]
    recipe_hash: str | None = None
    seed: int | None = None
    versions: dict[str, str] = field(default_factory=dict)
    host: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    wall_time_s: float = 0.0
    tasks: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    kind: str = "stage"
    schema_version: int = SCHEMA_VERSION

    @property
    def totals(self) -> Counts:
        return total(self.sources)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sources"] = {k: v.to_dict() for k, v in self.sources.items()}
        d["totals"] = self.totals.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StageManifest:
        if d.get("kind") != "stage":
            raise ManifestError(f"not a stage manifest (kind={d.get('kind')!r})")
        d = dict(d)
        d.pop("totals", None)
        d["sources"] = {k: Counts.from_dict(v) for k, v in d.get("sources", {}).items()}
        d["shards"] = [ShardEntry(**s) for s in d.get("shards", [])]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class BuildManifest:
    recipe: dict[str, Any]
    recipe_hash: str
    stages: list[dict[str, Any]] = field(default_factory=list)  # name, dir, manifest_sha256, totals
    seed: int | None = None
    versions: dict[str, str] = field(default_factory=dict)
    host: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    wall_time_s: float = 0.0
    outputs: dict[str, Any] = field(default_factory=dict)  # tokenizer, datasets, blend
    kind: str = "build"
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BuildManifest:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


def write_manifest(folder: str | os.PathLike, manifest: StageManifest | BuildManifest) -> Path:
    """Write `manifest.json` atomically (temp name, then rename)."""
    path = Path(folder) / MANIFEST_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest.to_dict(), indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)
    return path


def read_manifest_dict(folder_or_file: str | os.PathLike) -> dict[str, Any]:
    path = Path(folder_or_file)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(f"{path}: no manifest here")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ManifestError(f"{path}: not valid JSON ({err})") from err


def load_manifest(folder_or_file: str | os.PathLike) -> StageManifest | BuildManifest:
    d = read_manifest_dict(folder_or_file)
    if d.get("kind") == "build":
        return BuildManifest.from_dict(d)
    return StageManifest.from_dict(d)
