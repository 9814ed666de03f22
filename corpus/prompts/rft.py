"""Rejection-sampling fine-tuning data (RFT, Yuan et al. 2023): correct, distinct reasoning paths.

Input: JSONL of completions a model sampled for known problems, one per row (or a list per
row), each with the question and the reference answer. A completion is kept when its final
answer equals the reference (`sciloom.corpus.answers`) and its list of equations differs from
every path already kept for the same question: RFT counts paths by their calculator equations,
so rephrasings of one calculation add nothing. Equations are the `<<a*b=c>>` annotations when
present, else the `a op b = c` spans of the text, with spaces and `x`/`×` normalised.
"""

from __future__ import annotations

import re

from sciloom.corpus.answers import extract_answer, is_equivalent
from sciloom.corpus.prompts.calculations import ANNOTATION, strip_annotations
from sciloom.corpus.prompts.formatting import ANSWER, FormatError, question_block

INCORRECT = "incorrect_answer"
NO_ANSWER = "no_answer_found"
DUPLICATE_PATH = "duplicate_equations"
OVER_LIMIT = "max_paths_per_question"
PLAIN_EQUATION = re.compile(r"[\d.(][\d.\s+\-*/x×÷()]*[+\-*/x×÷][\d.\s+\-*/x×÷()]*=\s*-?[\d.,]*\d")


def equation_list(completion: str) -> tuple[str, ...]:
    """The equations a completion computes, normalised, in order."""
    found = [m.group(1) for m in ANNOTATION.finditer(completion)]
    if not found:
        found = [m.group(0) for m in PLAIN_EQUATION.finditer(completion)]
    out = []
    for eq in found:
        eq = eq.replace("×", "*").replace("÷", "/").replace(",", "")
        eq = re.sub(r"(?<=[\d)])\s*x\s*(?=[\d(])", "*", eq)
        out.append(re.sub(r"\s+", "", eq))
    return tuple(out)


class RftSelector:
    """Streaming selection; remembers the equation lists kept per question."""

    def __init__(self, task: str = "gsm8k", max_per_question: int = 0) -> None:
        self.task = task
        self.max_per_question = max_per_question
        self.kept: dict[str, set[tuple[str, ...]]] = {}

    def select(self, question: str, completion: str, reference: str) -> str:
        """Record text for a kept completion; FormatError(reason) for a dropped one."""
        predicted = extract_answer(completion, self.task)
        if predicted is None:
            raise FormatError(NO_ANSWER)
        if not is_equivalent(predicted, reference, self.task):
            raise FormatError(INCORRECT, f"{predicted!r} vs {reference!r}")
        seen = self.kept.setdefault(question.strip(), set())
        equations = equation_list(completion)
        if equations in seen:
            raise FormatError(DUPLICATE_PATH)
        if self.max_per_question and len(seen) >= self.max_per_question:
            raise FormatError(OVER_LIMIT)
        seen.add(equations)
        return f"{question_block(question)}{ANSWER}{strip_annotations(completion).strip()}"
