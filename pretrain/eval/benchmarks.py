"""Benchmark test sets as `BenchmarkItem`s: GSM8K, MATH-500 and the full MATH test set.

Item ids are the contract for recorded completions: the item's `unique_id` where the file has one
(MATH, MATH-500: `test/precalculus/807.json`), else its 0-based line number as a string (GSM8K).
Reference answers: GSM8K's text after `####` (thousands commas removed), MATH-500's `answer`
field, and for the full MATH set the last `\\boxed{}` of the solution (it has no answer field).

Files are found in this order: an explicit path; `$SCILOOM_BENCHMARKS/<task>/test.jsonl`; the
copies the decontamination filter ships in `sciloom/filters/benchmarks_data/` (`gsm8k_test.jsonl.gz`,
`math_test.jsonl.gz`, and MATH-500 as the `math500_ids.txt` subset of the latter, in that file's
order, which is the order of the canonical prm800k file); `../shared/data/problems/<task>/test.jsonl`
beside a source checkout. All of them give the same items, ids and references.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from sciloom.corpus.answers import last_boxed, task_family
from sciloom.corpus.errors import InputError, UsageError

# task -> folder name under problems/
BENCHMARK_DIRS = {"gsm8k": "gsm8k", "math500": "math500", "math": "math"}
# task -> (shipped file, id-subset file or None) in sciloom/filters/benchmarks_data/
SHIPPED = {
    "gsm8k": ("gsm8k_test.jsonl.gz", None),
    "math": ("math_test.jsonl.gz", None),
    "math500": ("math_test.jsonl.gz", "math500_ids.txt"),
}
_REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class BenchmarkItem:
    """One test problem: `id` (see module docstring), `question`, reference `answer`."""

    id: str
    question: str
    answer: str
    meta: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class BenchmarkSource:
    """Where a benchmark's items come from: a JSONL(.gz) file, optionally restricted to `ids`."""

    path: Path
    ids: tuple[str, ...] | None = None


def _shipped_dir() -> Path | None:
    try:
        from importlib.resources import files

        folder = Path(str(files("sciloom.filters") / "benchmarks_data"))
    except (ImportError, TypeError):
        return None
    return folder if folder.is_dir() else None


def default_benchmark_source(task: str) -> BenchmarkSource:
    """The test set used for `task` when no file is given (see the module docstring)."""
    if task not in BENCHMARK_DIRS:
        raise UsageError(f"unknown benchmark {task!r}; known: {', '.join(BENCHMARK_DIRS)}")
    looked = []
    env = os.environ.get("SCILOOM_BENCHMARKS")
    if env:
        path = Path(env) / BENCHMARK_DIRS[task] / "test.jsonl"
        if path.is_file():
            return BenchmarkSource(path)
        looked.append(str(path))
    shipped = _shipped_dir()
    if shipped is not None:
        name, subset = SHIPPED[task]
        if (shipped / name).is_file() and (subset is None or (shipped / subset).is_file()):
            ids = tuple((shipped / subset).read_text(encoding="utf-8").split()) if subset else None
            return BenchmarkSource(shipped / name, ids)
        looked.append(str(shipped / name))
    path = _REPO.parent / "shared" / "data" / "problems" / BENCHMARK_DIRS[task] / "test.jsonl"
    if path.is_file():
        return BenchmarkSource(path)
    looked.append(str(path))
    raise UsageError(
        f"no test file found for {task}; pass --benchmark-file (looked for: {', '.join(looked)})"
    )


def load_benchmark(task: str, path: str | os.PathLike | None = None) -> list[BenchmarkItem]:
    """All items of a benchmark, in order. Malformed lines raise `InputError`."""
    family = task_family(task)
    source = BenchmarkSource(Path(path)) if path is not None else default_benchmark_source(task)
    file = source.path
    if not file.is_file():
        raise UsageError(f"{file}: benchmark file not found")
    items = []
    opener = gzip.open if file.suffix == ".gz" else open
    with opener(file, "rt", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError("bad_json_line", f"line {lineno + 1}: {err}", path=str(file)) from err
            items.append(_item(row, lineno, family, file))
    if source.ids is not None:
        by_id = {item.id: item for item in items}
        missing = [i for i in source.ids if i not in by_id]
        if missing:
            raise InputError(
                "missing_items", f"{len(missing)} ids of the subset are not in the file", path=str(file)
            )
        items = [by_id[i] for i in source.ids]
    return items


def _item(row: dict, lineno: int, family: str, file: Path) -> BenchmarkItem:
    item_id = str(row.get("unique_id", lineno))
    question = row.get("question") or row.get("problem") or row.get("query")
    if question is None:
        raise InputError(
            "missing_question", f"line {lineno + 1} has no question/problem field", path=str(file)
        )
    if family == "gsm8k":
        solution = row.get("answer") or row.get("response") or ""
        if "####" not in solution:
            raise InputError("missing_answer", f"line {lineno + 1}: no '####' in the answer", path=str(file))
        answer = solution.rsplit("####", 1)[1].strip().replace(",", "")
    else:
        answer = row.get("answer") or last_boxed(row.get("solution", ""))
        if answer is None:
            raise InputError("missing_answer", f"line {lineno + 1}: no answer or \\boxed{{}}", path=str(file))
    # MATH-500 says subject/level 3, the full MATH set type/"Level 3": one spelling for both
    meta = {}
    if row.get("subject") or row.get("type"):
        meta["subject"] = row.get("subject") or row.get("type")
    level = row.get("level")
    if isinstance(level, str) and level.startswith("Level ") and level[6:].isdigit():
        level = int(level[6:])
    if level is not None:
        meta["level"] = level
    return BenchmarkItem(id=item_id, question=question, answer=answer, meta=meta)
