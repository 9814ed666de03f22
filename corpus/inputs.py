"""Resolve the INPUT... arguments of a stage subcommand into a sorted list of files.

An INPUT may be a file, a folder (walked recursively), a glob, or an earlier stage's output
folder. A stage folder, named directly, matched by a glob or met while walking a parent folder,
contributes only its `docs/*.parquet`: never its manifest, logs, quarantine or dropped-document
samples. Hidden files are skipped. The same file named twice (another spelling, a link) is read
once, and the list is sorted, so the task assignment does not depend on argument order.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from sciloom.corpus.errors import UsageError
from sciloom.corpus.shards import DOCS_DIR
from sciloom.manifests.schema import MANIFEST_NAME

SKIP_DIRS = {"logs", "quarantine", "samples", ".git", "__pycache__"}


def is_stage_dir(path: str | os.PathLike) -> bool:
    """A stage output folder: `docs/` plus a manifest, or plus datatrove's logs of a run that died."""
    p = Path(path)
    return p.is_dir() and (p / DOCS_DIR).is_dir() and ((p / MANIFEST_NAME).is_file() or (p / "logs").is_dir())


def is_build_dir(path: str | os.PathLike) -> bool:
    """A `sciloom build` folder: its stages hold the same documents several times over."""
    p = Path(path)
    if (p / "recipe.sha256").is_file():
        return True
    try:
        return json.loads((p / MANIFEST_NAME).read_text()).get("kind") == "build"
    except (OSError, ValueError, AttributeError):
        return False


def _refuse_build_dir(folder: Path) -> None:
    if is_build_dir(folder):
        stages = sorted(d.name for d in folder.iterdir() if is_stage_dir(d))
        hint = f", e.g. {folder / stages[-1]}" if stages else ""
        raise UsageError(f"{folder} is a whole build folder; give one of its stage folders{hint}")


def _stage_shards(folder: Path) -> list[Path]:
    return sorted((folder / DOCS_DIR).glob("*.parquet"))


def _walk(folder: Path, accept: Callable[[Path], bool]) -> list[Path]:
    if is_stage_dir(folder):
        return _stage_shards(folder)
    out = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        _refuse_build_dir(here)
        stages = [d for d in dirs if is_stage_dir(here / d)]
        for d in sorted(stages):
            out.extend(_stage_shards(here / d))
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith(".") and d not in stages)
        for name in sorted(files):
            if name.startswith("."):
                continue
            p = here / name
            if accept(p):
                out.append(p)
    return out


def resolve_inputs(
    inputs: Iterable[str | os.PathLike], accept: Callable[[Path], bool] = lambda p: True
) -> list[str]:
    """Files named by INPUT arguments. A name that matches nothing is a usage error."""
    files: list[Path] = []
    for item in inputs:
        item = str(item)
        p = Path(item)
        if p.is_dir():
            files.extend(_walk(p, accept))
        elif p.is_file():
            files.append(p)
        else:
            matches = sorted(glob.glob(item, recursive=True))
            if not matches:
                raise UsageError(f"{item}: no such file, folder or glob match")
            for m in matches:
                mp = Path(m)
                files.extend(_walk(mp, accept) if mp.is_dir() else [mp] if accept(mp) else [])
    unique: dict[str, str] = {}
    for f in files:
        unique.setdefault(os.path.realpath(f), str(f))
    return sorted(unique.values())
