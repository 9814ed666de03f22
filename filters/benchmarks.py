"""Benchmark test sets to decontaminate against: the shipped GSM8K/MATH test sets and any JSONL.

Shipped (`benchmarks_data/`, MIT, see its NOTICE.md): GSM8K test (1319) and the MATH test set
(5000; MATH-500 is a subset, its items are tagged `math500` too). Any other JSONL is read
schema-agnostically: the question is the first of `question`, `problem`, `query`, `prompt`,
`instruction`, `input`; the solution the first of `answer`, `solution`, `response`, `output`;
the item id the first of `unique_id`, `id`, `idx`, else the line number. So MetaMath's
`GSM8K_test.jsonl` (`query`/`response`) is the same benchmark as GSM8K's own file.

GSM8K solutions carry calculator annotations (`<<9*2=18>>`) that copies on the web usually drop;
they are removed before indexing (their n-grams are bare arithmetic shared by many problems).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sciloom.corpus.errors import RecipeError

DATA_DIR = Path(__file__).resolve().parent / "benchmarks_data"
BUILTIN = {"gsm8k_test": DATA_DIR / "gsm8k_test.jsonl.gz", "math_test": DATA_DIR / "math_test.jsonl.gz"}
MATH500_IDS = DATA_DIR / "math500_ids.txt"
QUESTION_FIELDS = ("question", "problem", "query", "prompt", "instruction", "input")
SOLUTION_FIELDS = ("answer", "solution", "response", "output")
ID_FIELDS = ("unique_id", "id", "idx")
_CALCULATOR = re.compile(r"<<[^<>]*>>")


@dataclass
class BenchmarkItem:
    benchmark: str
    item_id: str
    question: str
    solution: str = ""
    tags: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.benchmark}/{self.item_id}"

    def clean_solution(self) -> str:
        """The solution without calculator annotations (their arithmetic n-grams are shared by
        unrelated problems, and copies on the web drop them)."""
        return _CALCULATOR.sub("", self.solution)


def _first(row: dict, names: tuple[str, ...]) -> str | None:
    for name in names:
        value = row.get(name)
        if isinstance(value, (str, int)) and str(value).strip():
            return str(value)
    return None


def read_benchmark(path: str | Path, name: str | None = None) -> list[BenchmarkItem]:
    """Items of one benchmark JSONL(.gz) file; a file without usable rows is a recipe error."""
    path = Path(path)
    name = name or path.name.split(".")[0]
    opener = gzip.open if path.suffix == ".gz" else open
    items = []
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                row = json.loads(line)
                question = _first(row, QUESTION_FIELDS)
                if question is None:
                    continue
                items.append(
                    BenchmarkItem(
                        name,
                        _first(row, ID_FIELDS) or str(lineno),
                        question,
                        _first(row, SOLUTION_FIELDS) or "",
                    )
                )
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RecipeError(f"decontam.benchmarks: {path}: not a readable JSONL file ({err})") from err
    if not items:
        raise RecipeError(
            f"decontam.benchmarks: {path}: no row has a question field ({', '.join(QUESTION_FIELDS)})"
        )
    return items


def builtin_benchmarks() -> list[BenchmarkItem]:
    math500 = set(MATH500_IDS.read_text().split())
    items = []
    for name, path in BUILTIN.items():
        for item in read_benchmark(path, name):
            if name == "gsm8k_test":
                item.item_id = str(int(item.item_id) - 1)  # GSM8K has no ids: 0-based line index
            if item.item_id in math500:
                item.tags.append("math500")
            items.append(item)
    return items


def load_benchmarks(extra: list[str], builtin: bool = True) -> list[BenchmarkItem]:
    items = builtin_benchmarks() if builtin else []
    for path in extra:
        items.extend(read_benchmark(path))
    return items


def iter_summary(items: list[BenchmarkItem]) -> Iterator[tuple[str, int]]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item.benchmark] = counts.get(item.benchmark, 0) + 1
    yield from sorted(counts.items())
