"""A live "tasks done" bar for a running stage, on a terminal only.

datatrove's executors give no progress callback, but every finished task writes a marker under
`logs/completions/`, whatever executor ran it (local processes, Slurm array, Ray). A thread polls
that folder while the stage runs. Nothing is drawn when stderr is not a terminal (CI logs, pipes)
or when SCILOOM_NO_PROGRESS is set, so logs stay clean.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from types import TracebackType

POLL_S = 0.5


class TaskProgress:
    def __init__(self, completions_dir: Path, total: int, label: str) -> None:
        self.completions_dir = Path(completions_dir)
        self.total = total
        self.label = label
        self.enabled = sys.stderr.isatty() and not os.environ.get("SCILOOM_NO_PROGRESS")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def done(self) -> int:
        try:
            return sum(1 for _ in self.completions_dir.iterdir())
        except FileNotFoundError:
            return 0

    def _poll(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(f"{self.label} tasks", total=self.total)
            while not self._stop.wait(POLL_S):
                bar.update(task, completed=self.done())

    def __enter__(self) -> TaskProgress:
        if self.enabled:
            self._thread = threading.Thread(target=self._poll, name="sciloom-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
