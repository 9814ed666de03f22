"""What a prompt formatter produces: a draft record, and the error that drops a problem.

A formatter turns one `Problem` into zero or more `Draft`s. A draft is finished text, or text
waiting for the output of a program it carries (`code`): the stage runs those programs in the
sandbox, and the formatter's `complete(draft, result)` writes the real output into the text or
refuses the draft. Formatters are pure string code, so each one is tested alone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from sciloom.corpus.prompts.problems import Problem
from sciloom.corpus.sandbox import SandboxResult

# Galactica's prompt shape (paper section 3.1): "Question: ...\n\nAnswer: ...".
QUESTION = "Question: "
ANSWER = "Answer: "


class FormatError(ValueError):
    """A problem (or draft) cannot become a record; `reason` is the drop reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass
class Draft:
    """A record before its program (if any) has run."""

    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    code: str | None = None  # the program to execute; the text holds an OUTPUT placeholder
    suffix: str = ""  # id suffix for several drafts of one problem (`:fobar1`)


class Formatter(ABC):
    """Base: `drafts(problem)` and, for formatters that run programs, `complete(draft, result)`."""

    kind = "base"

    @abstractmethod
    def drafts(self, problem: Problem) -> list[Draft]:
        """The texts (and programs to run) this formatter makes from one problem."""

    def complete(self, draft: Draft, result: SandboxResult) -> str:
        """Final text of a draft given its program's run; raise FormatError to drop it."""
        return draft.text


def question_block(question: str) -> str:
    return f"{QUESTION}{question.strip()}\n\n"


def answer_text(problem: Problem) -> str:
    """The final answer in prose: a LaTeX answer (`\\frac{13}{12}`) goes between dollars."""
    a = problem.answer
    return f"${a}$" if problem.task == "math" and any(c in a for c in "\\^_{") else a
