"""Store inputs that could not be processed, with their reason, under `OUT/quarantine/`.

Each task appends one JSON line per quarantined input to `quarantine/<rank>.jsonl` (input path,
archive member, reason, detail, sha256, size) and, when the raw bytes are at hand and small,
keeps a copy under `quarantine/files/` so a person can reproduce the failure. Counting happens in
the step (`SciloomStep.quarantine`), not here, so there is one counting mechanism.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sciloom.corpus.jsonl_reader import RowProblem

MAX_COPY_BYTES = 64 * 1024 * 1024
# Copies kept per task: a file whose every line is bad (a whole latin-1 JSONL) must not become a
# million small files; every entry is still logged with its sha256 and size.
MAX_COPIES = 1000


class QuarantineLog:
    """Append-only quarantine log of one task."""

    def __init__(self, quarantine_dir: str | os.PathLike, rank: int):
        self.dir = Path(quarantine_dir)
        self.rank = rank
        self._fh = None
        self._copies = 0

    def add(
        self,
        *,
        input: str,
        reason: str,
        detail: str = "",
        source: str = "unknown",
        member: str | None = None,
        data: bytes | None = None,
    ) -> dict[str, Any]:
        self.dir.mkdir(parents=True, exist_ok=True)
        entry: dict[str, Any] = {
            "input": input,
            "member": member,
            "source": source,
            "reason": reason,
            "detail": detail[:2000],
        }
        if data is not None:
            digest = hashlib.sha256(data).hexdigest()
            entry["sha256"] = digest
            entry["bytes"] = len(data)
            if len(data) <= MAX_COPY_BYTES and self._copies < MAX_COPIES:
                self._copies += 1
                files = self.dir / "files"
                files.mkdir(exist_ok=True)
                name = Path(member or input).name.replace(os.sep, "_")[:80] or "input"
                copy = files / f"{digest[:16]}_{name}"
                if not copy.exists():
                    copy.write_bytes(data)
                entry["copy"] = str(copy.relative_to(self.dir))
        if self._fh is None:
            self._fh = open(self.dir / f"{self.rank:05d}.jsonl", "a", encoding="utf-8")
        self._fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._fh.flush()
        return entry

    def add_problem(self, problem: RowProblem, source: str = "unknown") -> dict[str, Any]:
        """Log one bad line / row (or the unreadable rest of a file) from the shared row reader."""
        return self.add(
            input=problem.path,
            reason=problem.reason,
            detail=problem.detail,
            source=source,
            member=problem.member,
            data=problem.raw,
        )

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read_quarantine(quarantine_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """All quarantine entries of a stage folder's `quarantine/`, in rank order."""
    entries: list[dict[str, Any]] = []
    qdir = Path(quarantine_dir)
    if not qdir.is_dir():
        return entries
    for path in sorted(qdir.glob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            entries.extend(json.loads(line) for line in fh if line.strip())
    return entries
