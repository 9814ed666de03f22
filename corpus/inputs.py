"""Resolve the INPUT... arguments of a stage subcommand into a sorted list of files.

An INPUT may be a file, a folder (walked recursively), a glob, or an earlier stage's output
folder (then its `docs/*.parquet` are the inputs). Hidden files and our own bookkeeping
folders are skipped. The order is sorted and so deterministic.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from sciloom.corpus.errors import UsageError
from sciloom.corpus.shards import DOCS_DIR
from sciloom.manifests.schema import MANIFEST_NAME

SKIP_DIRS = {"logs", "quarantine", ".git", "__pycache__"}


def is_stage_dir(path: str | os.PathLike) -> bool:
    p = Path(path)
    return p.is_dir() and (p / MANIFEST_NAME).is_file() and (p / DOCS_DIR).is_dir()


def _walk(folder: Path, accept: Callable[[Path], bool]) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            p = Path(root) / name
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
        if is_stage_dir(p):
            files.extend(sorted((p / DOCS_DIR).glob("*.parquet")))
        elif p.is_dir():
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
    seen: set[str] = set()
    out = []
    for f in files:
        s = str(f)
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out
