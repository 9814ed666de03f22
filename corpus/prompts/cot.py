"""Chain-of-thought records: question, the worked rationale, the final answer.

One template for every source, so the model sees one shape: Galactica's `Question:`/`Answer:`
prompt, the rationale as a reader sees it (GSM8K calculator annotations removed, the `#### N`
line dropped) and a closing `The answer is N.` (MAmmoTH's CoT ending). MATH solutions keep their
LaTeX and `\\boxed{}`.
"""

from __future__ import annotations

from sciloom.corpus.prompts.calculations import strip_annotations
from sciloom.corpus.prompts.formatting import (
    ANSWER,
    Draft,
    FormatError,
    Formatter,
    answer_text,
    question_block,
)
from sciloom.corpus.prompts.problems import Problem, strip_hash_line

NO_RATIONALE = "no_rationale"


def rationale(problem: Problem) -> str:
    """The solution text without annotations and without the `#### N` line."""
    return strip_annotations(strip_hash_line(problem.solution)).strip()


def cot_text(question: str, steps: str, answer: str) -> str:
    return f"{question_block(question)}{ANSWER}{steps}\nThe answer is {answer}."


class CotFormatter(Formatter):
    kind = "cot"

    def drafts(self, problem: Problem) -> list[Draft]:
        steps = rationale(problem)
        if not steps:
            raise FormatError(NO_RATIONALE)
        return [Draft(cot_text(problem.question, steps, answer_text(problem)), {"answer": problem.answer})]
