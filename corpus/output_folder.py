"""Output folders sciloom may write into, and the lock that gives one run a folder at a time.

A stage or build folder is sciloom's when it holds the marker `.sciloom` (written when sciloom
creates or adopts the folder) or, for folders made before the marker existed, a sciloom manifest,
a stage plan (`logs/plan.json`) or a build's `recipe.sha256`. sciloom writes into a folder that
does not exist yet, an empty folder, or one of its own. Any other folder is refused (a
`UsageError`, exit 2), because resuming or restarting a stage removes `docs/`, `logs/`,
`quarantine/` and `manifest.json`. With `force=True` the folder is adopted: everything already in
it is moved, never deleted, into `.sciloom-kept-<time>/` beside the new outputs, so the files the
user had are all still there and none of them mixes with a stage's shards.

`OutputLock` takes an exclusive `flock` on `OUT/.sciloom.lock` for the whole run and writes the
holder (pid, host, command, start time) into it; a second run into the same folder is refused
with the holder's details instead of interleaving its tasks with the first. The kernel drops the
lock when the holding process ends, however it ends, so a killed run never leaves a stale lock.
flock works across processes of one machine and, on Linux NFS clients, across machines (emulated
with NFS byte-range locks); a Slurm build's driver holds it while its job arrays run.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

from sciloom.corpus.errors import UsageError

logger = logging.getLogger(__name__)

MARKER_NAME = ".sciloom"
LOCK_NAME = ".sciloom.lock"
KEPT_PREFIX = ".sciloom-kept-"
# What marks a folder made by sciloom before the marker file existed.
LEGACY_SIGNS = ("logs/plan.json", "recipe.sha256", "stages.json")
SHOWN_ENTRIES = 5


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _has_sciloom_manifest(folder: Path) -> bool:
    try:
        data = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and ("stage" in data or data.get("kind") == "build")


def is_sciloom_folder(folder: str | os.PathLike) -> bool:
    """A folder sciloom made: its marker, or (older folders) a sciloom manifest, plan or recipe hash."""
    p = Path(folder)
    if (p / MARKER_NAME).is_file():
        return True
    return _has_sciloom_manifest(p) or any((p / sign).is_file() for sign in LEGACY_SIGNS)


def _write_marker(folder: Path, **extra: Any) -> None:
    info = {"tool": "sciloom", "created": _now(), **extra}
    tmp = folder / f"{MARKER_NAME}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(info, indent=1) + "\n")
    os.replace(tmp, folder / MARKER_NAME)


def claim_output_folder(out_dir: str | os.PathLike, force: bool = False) -> Path:
    """Make `out_dir` a folder sciloom may write into, or raise UsageError naming it and why.

    Creates a missing folder, accepts an empty one or one sciloom made, and refuses any other
    unless `force`, which moves the folder's entries aside (see the module docstring).
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder")
    if not out.exists():
        out.mkdir(parents=True, exist_ok=True)
        _write_marker(out)
        return out
    if is_sciloom_folder(out):
        if not (out / MARKER_NAME).is_file():
            _write_marker(out, note="folder made by an earlier sciloom version")
        return out
    entries = sorted(e.name for e in out.iterdir() if e.name != LOCK_NAME)
    if not entries:
        _write_marker(out)
        return out
    shown = ", ".join(entries[:SHOWN_ENTRIES]) + (", ..." if len(entries) > SHOWN_ENTRIES else "")
    if not force:
        raise UsageError(
            f"--out {out} exists and was not made by sciloom (no {MARKER_NAME} marker or sciloom "
            f"manifest; it holds {len(entries)} entries: {shown}); choose a new or empty folder, "
            f"or pass --force to move its entries aside into {KEPT_PREFIX}<time>/ (nothing is deleted)"
        )
    kept = out / f"{KEPT_PREFIX}{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{os.getpid()}"
    kept.mkdir()
    for name in entries:
        os.rename(out / name, kept / name)  # same filesystem: a rename, never a copy and delete
    logger.warning(
        "--force: moved the %d entries of %s that sciloom did not write into %s", len(entries), out, kept
    )
    _write_marker(out, adopted=True, kept=kept.name, moved=entries)
    return out


def _describe(holder: dict[str, Any]) -> str:
    if not holder:
        return "another sciloom run (it has not written its details yet)"
    return (
        f"sciloom pid {holder.get('pid')} on {holder.get('host')} since {holder.get('started')}: "
        f"{holder.get('command')}"
    )


class OutputLock:
    """An exclusive lock on an output folder for one run (a context manager)."""

    def __init__(self, out_dir: str | os.PathLike, command: str) -> None:
        self.out_dir = Path(out_dir)
        self.command = command
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        return self.out_dir / LOCK_NAME

    def acquire(self) -> OutputLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._read(fd)
            os.close(fd)
            raise UsageError(
                f"--out {self.out_dir} is in use by {_describe(holder)}; wait for it to finish or "
                "choose another folder"
            ) from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": self.command, "started": _now()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    @staticmethod
    def _read(fd: int) -> dict[str, Any]:
        try:
            data = json.loads(os.pread(fd, 65536, 0) or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)  # no stale holder details once the folder is free
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> OutputLock:
        return self.acquire() if self._fd is None else self

    def __exit__(self, *exc: object) -> None:
        self.release()


def hold_output_folder(out_dir: str | os.PathLike, command: str, force: bool = False) -> OutputLock:
    """Claim `out_dir` (see `claim_output_folder`) and lock it; the caller releases the lock.

    A folder that will be refused is refused before anything is written into it; otherwise the
    lock is taken first, so two runs never claim (or adopt) the same folder at once.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder")
    if out.is_dir() and not force and not is_sciloom_folder(out):
        if any(e.name != LOCK_NAME for e in out.iterdir()):
            claim_output_folder(out, force=False)  # raises: the folder is not sciloom's
    out.mkdir(parents=True, exist_ok=True)
    lock = OutputLock(out, command).acquire()
    try:
        claim_output_folder(out, force=force)
    except BaseException:
        lock.release()
        raise
    return lock
