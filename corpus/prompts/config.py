"""`PromptsConfig`: the options of one prompt-data source (`[sources.options]` of a prompts source).

One dataclass serves every kind; each kind reads the fields it needs (the comments say which).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sciloom.corpus.errors import RecipeError
from sciloom.corpus.prompts.arithmetic import DIFFICULTIES, ArithmeticConfig
from sciloom.corpus.prompts.problems import ANSWER_FROM, LAYOUTS, Layout, detect_layout, layout_named

KINDS = ("cot", "pot", "work", "fobar", "sv", "rft", "ingest", "arith")
INGEST_FORMATS = ("auto", "metamathqa", "mathinstruct", "prm800k")


@dataclass
class PromptsConfig:
    """How problem sets become prompt documents.

    Field overrides (`question_field`, ...) replace the named layout's field names, so a set
    with GSM8K's structure but other names (MetaMath's `query`/`response`) needs no converter.
    """

    layout: str = "auto"  # "gsm8k", "math" or "auto" (MATH when a row has problem+solution)
    question_field: str | None = None  # overrides the layout's question field
    solution_field: str | None = None  # overrides the layout's worked-solution field
    answer_field: str | None = None  # a field holding the final answer (then answer_from = "field")
    answer_from: str | None = None  # "hash" (`#### N`), "boxed" (last \boxed{}) or "field"
    id_field: str | None = None  # field with a stable problem id (default: file:line)
    program_field: str | None = "program"  # supplied program for pot/work (else derived)
    variants: int = 1  # fobar/sv: masked-number variants per problem (MetaMath made several)
    timeout_s: float = 5.0  # sandbox wall-clock limit per program (seconds)
    memory_mb: int = 512  # sandbox address-space limit per program (MiB)
    parallel: int = 4  # programs run at once (each waits on its own child process)
    # run programs with Python guards only where no OS sandbox (bubblewrap + seccomp) exists;
    # False refuses instead (docs/sandbox.md). The sandbox is used whenever it is there.
    unsafe_no_sandbox: bool = False
    ingest_format: str = "auto"  # metamathqa, mathinstruct, prm800k, or detect from fields
    # rft: field names of the sampled-completions JSONL (question, completion, reference answer)
    rft_question_field: str = "question"
    rft_completion_field: str = "completion"
    rft_answer_field: str = "answer"
    rft_task: str = "gsm8k"  # how answers are extracted and compared ("gsm8k" or "math")
    rft_max_per_question: int = 0  # keep at most this many distinct paths per question (0: all)
    count: int = 1000  # arith: number of generated items
    difficulty: str | None = None  # arith: "easy", "medium" or "hard" preset (overrides arithmetic)
    arithmetic: ArithmeticConfig = field(default_factory=ArithmeticConfig)
    items_per_task: int = 10_000  # arith: generated items per task (one shard each)

    def __post_init__(self) -> None:
        if self.layout != "auto" and self.layout not in LAYOUTS:
            raise RecipeError(f"prompts.layout: {self.layout!r} is not 'auto' or one of {sorted(LAYOUTS)}")
        if self.answer_from is not None and self.answer_from not in ANSWER_FROM:
            raise RecipeError(f"prompts.answer_from: {self.answer_from!r} is not one of {ANSWER_FROM}")
        if self.variants < 1:
            raise RecipeError(f"prompts.variants: must be >= 1, got {self.variants}")
        if self.timeout_s <= 0:
            raise RecipeError(f"prompts.timeout_s: must be > 0, got {self.timeout_s}")
        if self.memory_mb < 32:
            raise RecipeError(f"prompts.memory_mb: must be >= 32, got {self.memory_mb}")
        if self.parallel < 1:
            raise RecipeError(f"prompts.parallel: must be >= 1, got {self.parallel}")
        if self.ingest_format not in INGEST_FORMATS:
            raise RecipeError(f"prompts.ingest_format: {self.ingest_format!r} is not one of {INGEST_FORMATS}")
        if self.rft_task not in ("gsm8k", "math"):
            raise RecipeError(f"prompts.rft_task: {self.rft_task!r} is not 'gsm8k' or 'math'")
        if self.count < 0:
            raise RecipeError(f"prompts.count: must be >= 0, got {self.count}")
        if self.items_per_task < 1:
            raise RecipeError(f"prompts.items_per_task: must be >= 1, got {self.items_per_task}")
        if self.difficulty is not None:
            if self.difficulty not in DIFFICULTIES:
                raise RecipeError(
                    f"prompts.difficulty: {self.difficulty!r} is not one of {sorted(DIFFICULTIES)}"
                )
            self.arithmetic = replace(DIFFICULTIES[self.difficulty])
        if isinstance(self.arithmetic, dict):
            self.arithmetic = ArithmeticConfig(**self.arithmetic)

    def layout_for(self, row: dict[str, Any]) -> Layout:
        """The layout for a row: the named or detected one, with this config's field overrides."""
        base = detect_layout(row) if self.layout == "auto" else layout_named(self.layout)
        changes: dict[str, str] = {}
        if self.question_field:
            changes["question"] = self.question_field
        if self.solution_field:
            changes["solution"] = self.solution_field
        if self.answer_field:
            changes["answer"] = self.answer_field
            changes["answer_from"] = self.answer_from or "field"
        elif self.answer_from:
            changes["answer_from"] = self.answer_from
        if self.id_field:
            changes["id"] = self.id_field
        return replace(base, **changes) if changes else base
