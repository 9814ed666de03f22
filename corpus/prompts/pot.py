"""Program-of-thought records: question, a Python program, its executed output, the answer.

The program is the one a record supplies (a `program` field, e.g. MathInstruct's PoT half) or
is derived from GSM8K calculator annotations (`calculations.pot_program`). It always runs in
the sandbox; the record is kept only when the value it prints equals the reference answer
(`sciloom.corpus.answers.is_equivalent`), and the output shown is the real one. The prompt
ends in MAmmoTH's "Let's write a program." cue.
"""

from __future__ import annotations

from collections.abc import Callable

from sciloom.corpus.answers import is_equivalent
from sciloom.corpus.prompts.calculations import Calculation, CalculationError, calculations, pot_program
from sciloom.corpus.prompts.execution import ANSWER_MISMATCH, failure_reason, printed_value
from sciloom.corpus.prompts.formatting import ANSWER, Draft, FormatError, Formatter, question_block
from sciloom.corpus.prompts.problems import Problem
from sciloom.corpus.sandbox import SandboxResult

SUPPLIED = "supplied"
DERIVED = "calculator_annotations"


def program_for(
    problem: Problem, program_field: str | None, derive: Callable[[list[Calculation]], str]
) -> tuple[str, str]:
    """(program, where it came from): the supplied one, else `derive(calculations)`."""
    supplied = problem.fields.get(program_field) if program_field else None
    if isinstance(supplied, str) and supplied.strip():
        return supplied.strip("\n") + "\n", SUPPLIED
    try:
        return derive(calculations(problem.solution)), DERIVED
    except CalculationError as err:
        raise FormatError(err.reason, str(err)) from err


def check_answer(result: SandboxResult, answer: str, task: str) -> str:
    """The printed value when the run is clean and equals `answer`; FormatError otherwise."""
    reason = failure_reason(result)
    if reason is not None:
        raise FormatError(reason, (result.stderr or "")[-300:])
    value = printed_value(result)
    if not is_equivalent(value, answer, task):
        raise FormatError(ANSWER_MISMATCH, f"printed {value!r}, reference {answer!r}")
    return value


class PotFormatter(Formatter):
    kind = "pot"

    def __init__(self, program_field: str | None = "program") -> None:
        self.program_field = program_field

    def drafts(self, problem: Problem) -> list[Draft]:
        program, origin = program_for(problem, self.program_field, pot_program)
        text = f"{question_block(problem.question)}{ANSWER}Let's write a program.\n```python\n{program}```\n"
        meta = {"answer": problem.answer, "task": problem.task, "program_origin": origin}
        return [Draft(text, meta, code=program)]

    def complete(self, draft: Draft, result: SandboxResult) -> str:
        value = check_answer(result, draft.metadata["answer"], draft.metadata["task"])
        output = result.stdout.strip("\n")
        return f"{draft.text}Output: {output}\nThe answer is {value}."
