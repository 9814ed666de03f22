"""Benchmark test sets as `BenchmarkItem`s: GSM8K, MATH-500 and the full MATH test set.

Item ids are the contract for recorded completions: the item's `unique_id` where the file has one
(MATH, MATH-500: `test/precalculus/807.json`), else its 0-based line number as a string (GSM8K).
Reference answers: GSM8K's text after `####` (thousands commas removed), MATH-500's `answer`
field, and for the full MATH set the last `\\boxed{}` of the solution (it has no answer field).

Files are found in this order: an explicit path; `$SCILOOM_BENCHMARKS/<task>/test.jsonl`; the
copies shipped in `sciloom/filters/benchmarks_data/` (a file whose name starts with the task
name); `../shared/data/problems/<task>/test.jsonl` beside the source checkout.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from sciloom.corpus.answers import last_boxed, task_family
from sciloom.corpus.errors import InputError, UsageError

# task -> folder name under problems/ (and the file-name prefix in benchmarks_data/)
BENCHMARK_DIRS = {"gsm8k": "gsm8k", "math500": "math500", "math": "math"}
_REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class BenchmarkItem:
    """One test problem: `id` (see module docstring), `question`, reference `answer`."""

    id: str
    question: str
    answer: str
    meta: dict = field(default_factory=dict, compare=False)


def default_benchmark_file(task: str) -> Path:
    """The test file used for `task` when none is given (see the module docstring)."""
    if task not in BENCHMARK_DIRS:
        raise UsageError(f"unknown benchmark {task!r}; known: {', '.join(BENCHMARK_DIRS)}")
    name = BENCHMARK_DIRS[task]
    candidates: list[Path] = []
    env = os.environ.get("SCILOOM_BENCHMARKS")
    if env:
        candidates.append(Path(env) / name / "test.jsonl")
    shipped = _REPO / "filters" / "benchmarks_data"
    if shipped.is_dir():
        candidates += sorted(
            p for p in shipped.iterdir() if p.name.startswith(f"{name}_") or p.name.startswith(f"{name}.")
        )
        candidates.append(shipped / name / "test.jsonl")
    candidates.append(_REPO.parent / "shared" / "data" / "problems" / name / "test.jsonl")
    for path in candidates:
        if path.is_file() and path.name.endswith((".jsonl", ".json")) and "train" not in path.name:
            return path
    raise UsageError(
        f"no test file found for {task}; pass --benchmark-file (looked in: {', '.join(map(str, candidates))})"
    )


def load_benchmark(task: str, path: str | os.PathLike | None = None) -> list[BenchmarkItem]:
    """All items of a benchmark file, in file order. Malformed lines raise `InputError`."""
    family = task_family(task)
    file = Path(path) if path is not None else default_benchmark_file(task)
    if not file.is_file():
        raise UsageError(f"{file}: benchmark file not found")
    items = []
    with open(file, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError("bad_json_line", f"line {lineno + 1}: {err}", path=str(file)) from err
            items.append(_item(row, lineno, family, file))
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
    meta = {k: row[k] for k in ("subject", "level", "type") if k in row}
    return BenchmarkItem(id=item_id, question=question, answer=answer, meta=meta)
