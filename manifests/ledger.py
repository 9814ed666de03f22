"""Stage counts from the steps' counters, and the conservation check.

Steps count with keys `in|SRC`, `kept|SRC`, `dropped|REASON|SRC`, `quarantined|REASON|SRC`,
`added|REASON|SRC` and their `_bytes` twins (see corpus/step.py). datatrove writes them per task
to `stats/<rank>.json`; this module sums them over steps and tasks into per-source counts and
checks, per source and in total, that

    in + added = kept + dropped + quarantined        (documents)

A violation means a step lost or invented documents: it is a bug and raises InvariantError.
Bytes are reported but not conserved (extraction turns archive bytes into text bytes).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sciloom.manifests.errors import InvariantError

SEP = "|"
KINDS = ("in", "added", "kept", "dropped", "quarantined")


@dataclass
class Counts:
    docs: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    bytes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    dropped_reasons: dict[str, int] = field(default_factory=dict)
    quarantined_reasons: dict[str, int] = field(default_factory=dict)
    added_reasons: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, n: int, nbytes: int, reason: str | None) -> None:
        self.docs[kind] += n
        self.bytes[kind] += nbytes
        if reason is not None:
            table = getattr(self, f"{kind}_reasons")
            table[reason] = table.get(reason, 0) + n

    def balanced(self) -> bool:
        d = self.docs
        return d["in"] + d["added"] == d["kept"] + d["dropped"] + d["quarantined"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "docs": dict(self.docs),
            "bytes": dict(self.bytes),
            "dropped_reasons": dict(sorted(self.dropped_reasons.items())),
            "quarantined_reasons": dict(sorted(self.quarantined_reasons.items())),
            "added_reasons": dict(sorted(self.added_reasons.items())),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Counts:
        c = cls()
        c.docs.update(d.get("docs", {}))
        c.bytes.update(d.get("bytes", {}))
        c.dropped_reasons = dict(d.get("dropped_reasons", {}))
        c.quarantined_reasons = dict(d.get("quarantined_reasons", {}))
        c.added_reasons = dict(d.get("added_reasons", {}))
        return c


def _value(v: Any) -> int:
    if isinstance(v, dict):
        return int(v.get("total", 0))
    return int(v or 0)


def parse_key(key: str) -> tuple[str, bool, str | None, str] | None:
    """`dropped_bytes|reason|src` -> ("dropped", True, "reason", "src"); None for foreign keys."""
    parts = key.split(SEP)
    kind, is_bytes = parts[0], False
    if kind.endswith("_bytes"):
        kind, is_bytes = kind[: -len("_bytes")], True
    if kind not in KINDS:
        return None
    if len(parts) not in (2, 3):
        # A ledger key that cannot be read would take its documents out of the balance unseen.
        raise InvariantError(f"unreadable ledger counter {key!r}")
    if len(parts) == 2:
        return kind, is_bytes, None, parts[1]
    return kind, is_bytes, parts[1], parts[2]


def counts_from_stats(step_stats: list[dict[str, Any]]) -> dict[str, Counts]:
    """Per-source Counts from a list of datatrove step-stat dicts (any number of tasks)."""
    docs: dict[tuple[str, str, str | None], int] = defaultdict(int)
    nbytes: dict[tuple[str, str, str | None], int] = defaultdict(int)
    for step in step_stats:
        for key, value in (step.get("stats") or {}).items():
            parsed = parse_key(key)
            if parsed is None:
                continue
            kind, is_bytes, reason, source = parsed
            (nbytes if is_bytes else docs)[(source, kind, reason)] += _value(value)
    per_source: dict[str, Counts] = defaultdict(Counts)
    for (source, kind, reason), n in docs.items():
        per_source[source].add(kind, n, nbytes.get((source, kind, reason), 0), reason)
    return dict(sorted(per_source.items()))


def read_task_stats(logging_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """All step-stat dicts of all tasks of an executor's logging folder."""
    out: list[dict[str, Any]] = []
    for path in sorted(Path(logging_dir, "stats").glob("*.json")):
        out.extend(json.loads(path.read_text()))
    return out


def total(per_source: dict[str, Counts]) -> Counts:
    t = Counts()
    for c in per_source.values():
        for kind in KINDS:
            t.docs[kind] += c.docs[kind]
            t.bytes[kind] += c.bytes[kind]
        for name in ("dropped_reasons", "quarantined_reasons", "added_reasons"):
            table = getattr(t, name)
            for r, n in getattr(c, name).items():
                table[r] = table.get(r, 0) + n
    return t


def check_invariant(stage: str, per_source: dict[str, Counts]) -> None:
    """Raise InvariantError naming the stage and every unbalanced source."""
    bad = []
    for source, c in per_source.items():
        if not c.balanced():
            d = c.docs
            bad.append(
                f"{source}: in {d['in']} + added {d['added']} != kept {d['kept']} + dropped {d['dropped']}"
                f" + quarantined {d['quarantined']}"
            )
    if bad:
        raise InvariantError(f"stage {stage!r} does not conserve documents: " + "; ".join(bad))
