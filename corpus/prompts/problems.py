"""Problem sets as JSONL: one problem per line, fields mapped by a `Layout`.

A problem is a question, a worked solution and a final answer. Public sets name these fields
differently, so a `Layout` says which field holds what and how the final answer is found:

- GSM8K (openai/grade-school-math): `question`, `answer` = the worked solution with calculator
  annotations `<<48/2=24>>`, ending in a line `#### 72` (the final answer, sometimes `1,080`).
- MATH (hendrycks/math, MATH-500): `problem`, `solution` with the answer in the last `\\boxed{}`;
  MATH-500 also has an `answer` field.

`answer_from` is `"hash"` (the `#### N` line), `"boxed"` (last `\\boxed{...}` of the solution) or
`"field"` (the `answer` field as is). Layouts are plain dataclasses so a recipe can give its own
field names (`[prompts] question_field = "query"`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sciloom.corpus.errors import InputError, RecipeError
from sciloom.corpus.jsonl_reader import iter_jsonl_values

HASH_ANSWER = re.compile(r"^\s*####\s*(.+?)\s*$", re.MULTILINE)
ANSWER_FROM = ("hash", "boxed", "field")
PROBLEM_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".json")

# Reasons a row cannot become a problem (quarantined by the reader).
MISSING_FIELD = "missing_field"
NO_FINAL_ANSWER = "no_final_answer"


@dataclass(frozen=True)
class Layout:
    """Where a problem's parts live in a JSONL row."""

    name: str
    question: str
    solution: str | None
    answer: str | None
    answer_from: str
    task: str  # "gsm8k" (numeric answers) or "math" (LaTeX answers), for answer comparison
    id: str | None = None

    def __post_init__(self) -> None:
        if self.answer_from not in ANSWER_FROM:
            raise RecipeError(f"prompts.answer_from: {self.answer_from!r} is not one of {ANSWER_FROM}")
        if self.task not in ("gsm8k", "math"):
            raise RecipeError(f"prompts.task: {self.task!r} is not 'gsm8k' or 'math'")


GSM8K = Layout("gsm8k", question="question", solution="answer", answer=None, answer_from="hash", task="gsm8k")
MATH = Layout(
    "math",
    question="problem",
    solution="solution",
    answer=None,
    answer_from="boxed",
    task="math",
    id="unique_id",
)
LAYOUTS = {"gsm8k": GSM8K, "math": MATH}


@dataclass
class Problem:
    """One problem: the parts every formatter needs, plus the row's other fields."""

    id: str
    question: str
    solution: str
    answer: str
    task: str
    fields: dict[str, Any] = field(default_factory=dict)


def layout_named(name: str) -> Layout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise RecipeError(f"prompts.layout: unknown layout {name!r} (known: {sorted(LAYOUTS)})") from None


def detect_layout(row: dict[str, Any]) -> Layout:
    """GSM8K or MATH from the row's field names."""
    if "problem" in row and "solution" in row:
        return MATH
    return GSM8K


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` (or `\\fbox{...}`), braces balanced; None if absent."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j].strip()
    return None


def hash_answer(solution: str) -> str | None:
    """The `#### N` final answer of a GSM8K solution, thousands commas removed."""
    m = HASH_ANSWER.search(solution)
    return m.group(1).replace(",", "").strip() if m else None


def strip_hash_line(solution: str) -> str:
    """The GSM8K rationale without its `#### N` line."""
    return HASH_ANSWER.sub("", solution).rstrip()


def parse_problem(row: dict[str, Any], layout: Layout, default_id: str) -> Problem:
    """One JSONL row -> Problem; raises InputError naming what is missing."""
    question = row.get(layout.question)
    if not isinstance(question, str) or not question.strip():
        raise InputError(MISSING_FIELD, f"no {layout.question!r}")
    solution = row.get(layout.solution) if layout.solution else ""
    if solution is None:
        solution = ""
    if not isinstance(solution, str):
        raise InputError(MISSING_FIELD, f"{layout.solution!r} is not a string")
    if layout.answer_from == "hash":
        answer = hash_answer(solution)
    elif layout.answer_from == "boxed":
        answer = row.get(layout.answer) if layout.answer and row.get(layout.answer) else last_boxed(solution)
    else:
        answer = row.get(layout.answer or "answer")
    if answer is None or not str(answer).strip():
        raise InputError(NO_FINAL_ANSWER, f"layout {layout.name}: no final answer")
    pid = row.get(layout.id) if layout.id else None
    return Problem(
        id=str(pid if pid is not None else default_id),
        question=question.strip(),
        solution=solution.strip(),
        answer=str(answer).strip(),
        task=layout.task,
        fields=dict(row),
    )


def is_problem_file(path: object) -> bool:
    """Files a folder INPUT contributes: JSON lines (a README beside them is not a problem set)."""
    return str(path).endswith(PROBLEM_SUFFIXES)


def load_problems(path: str, layout: Layout | None = None) -> list[Problem]:
    """All problems of a JSONL file (rows that are not problems are skipped; for tools and tests)."""
    out = []
    for lineno, row, _, _ in iter_jsonl_values(path):
        if row is None:
            continue
        try:
            out.append(parse_problem(row, layout or detect_layout(row), f"{path}:{lineno}"))
        except InputError:
            continue
    return out
