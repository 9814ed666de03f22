"""Progress of a running stage: tasks done, documents and bytes read, and their rates.

datatrove's executors give no progress callback, and one task may read one big file for minutes,
so counting finished tasks alone shows `0/1` until the end. Two pieces, which work for every
executor (local processes, a Slurm array, Ray) because they only share files in the stage folder:

- `ReadMeter`, inside each task's reader: every document counted in bumps a counter, and at most
  once a second the task's totals are written to `logs/progress/<rank>.json` (atomically, by rename).
- `TaskProgress`, in the process that drives the stage: polls those files and the completion markers
  of `logs/completions/`. On a terminal it draws a live bar (tasks, documents, docs/s, MB/s); when
  stderr is not a terminal (CI logs, `sbatch` output, pipes) it prints one plain line every
  `SCILOOM_PROGRESS_INTERVAL_S` seconds (default 30). Either way the same line goes to the build's
  log (`logs/sciloom.log`) at that interval and once at the end. `SCILOOM_NO_PROGRESS` turns the
  terminal/stderr output off (the log lines stay).

Rates count only what this run read: a resumed stage starts its rate from the documents its
finished tasks had read before.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

logger = logging.getLogger(__name__)

POLL_S = 0.5
WRITE_EVERY_S = 1.0
DEFAULT_INTERVAL_S = 30.0
PROGRESS_DIR = "progress"


class ReadMeter:
    """Documents and bytes one task has read so far, written to `<folder>/<rank>.json` now and then."""

    def __init__(self, folder: str | os.PathLike, rank: int) -> None:
        self.path = Path(folder) / f"{rank:05d}.json"
        self.docs = 0
        self.bytes = 0
        self._last_write = 0.0

    def tick(self, nbytes: int) -> None:
        self.docs += 1
        self.bytes += nbytes
        now = time.monotonic()
        if now - self._last_write >= WRITE_EVERY_S:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        self._last_write = time.monotonic() if now is None else now
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"docs": self.docs, "bytes": self.bytes}))
        os.replace(tmp, self.path)


@dataclass
class Snapshot:
    tasks_done: int
    docs: int
    bytes: int


def read_snapshot(logging_dir: Path) -> Snapshot:
    """Tasks finished and documents/bytes read so far, from the files the tasks write."""
    try:
        done = sum(1 for _ in (logging_dir / "completions").iterdir())
    except FileNotFoundError:
        done = 0
    docs = nbytes = 0
    try:
        files = list((logging_dir / PROGRESS_DIR).glob("*.json"))
    except FileNotFoundError:
        files = []
    for f in files:
        try:
            d = json.loads(f.read_text())
        except (OSError, ValueError):  # replaced between listing and reading: counted next poll
            continue
        docs += int(d.get("docs", 0))
        nbytes += int(d.get("bytes", 0))
    return Snapshot(done, docs, nbytes)


def format_line(label: str, total_tasks: int, snap: Snapshot, base: Snapshot, elapsed_s: float) -> str:
    """One plain progress line: `filter: 2/8 tasks, 120,345 docs (4,012 docs/s, 8.1 MB/s), 0:00:30`."""
    secs = max(elapsed_s, 1e-9)
    docs_rate = (snap.docs - base.docs) / secs
    mb_rate = (snap.bytes - base.bytes) / secs / 1e6
    h, rest = divmod(int(elapsed_s), 3600)
    m, s = divmod(rest, 60)
    return (
        f"{label}: {snap.tasks_done}/{total_tasks} tasks, {snap.docs:,} docs read "
        f"({docs_rate:,.0f} docs/s, {mb_rate:.1f} MB/s), {h}:{m:02d}:{s:02d}"
    )


class TaskProgress:
    """Show and log a stage's progress while the `with` block runs (see the module docstring)."""

    def __init__(self, logging_dir: Path, total: int, label: str, interval_s: float | None = None) -> None:
        self.logging_dir = Path(logging_dir)
        self.total = total
        self.label = label
        if interval_s is None:
            interval_s = float(os.environ.get("SCILOOM_PROGRESS_INTERVAL_S", DEFAULT_INTERVAL_S))
        self.interval_s = interval_s
        quiet = bool(os.environ.get("SCILOOM_NO_PROGRESS"))
        self.tty = sys.stderr.isatty() and not quiet
        self.plain = not sys.stderr.isatty() and not quiet
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._base = Snapshot(0, 0, 0)
        self._start = time.monotonic()

    def line(self) -> str:
        snap = read_snapshot(self.logging_dir)
        return format_line(self.label, self.total, snap, self._base, time.monotonic() - self._start)

    def _poll(self) -> None:
        next_line = self._start + self.interval_s
        if not self.tty:
            while not self._stop.wait(min(POLL_S, self.interval_s)):
                if time.monotonic() >= next_line:
                    next_line += self.interval_s
                    self._emit(self.line())
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(f"{self.label} tasks", total=self.total, rate="")
            while not self._stop.wait(POLL_S):
                snap = read_snapshot(self.logging_dir)
                elapsed = time.monotonic() - self._start
                rate = format_line(self.label, self.total, snap, self._base, elapsed).split("tasks, ", 1)[1]
                bar.update(task, completed=snap.tasks_done, rate=rate.rsplit(",", 1)[0])
                if time.monotonic() >= next_line:
                    next_line += self.interval_s
                    logger.info("%s", self.line())

    def _emit(self, line: str) -> None:
        logger.info("%s", line)
        if self.plain:
            print(f"sciloom: {line}", file=sys.stderr, flush=True)

    def __enter__(self) -> TaskProgress:
        self._base = read_snapshot(self.logging_dir)
        self._base.tasks_done = 0
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._poll, name="sciloom-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        logger.info("%s (%s)", self.line(), "done" if exc_type is None else f"stopped: {exc_type.__name__}")
