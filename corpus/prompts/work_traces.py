"""Galactica `<work>` traces: the steps, a Python program, its real output, then the answer.

Galactica (Taylor et al. 2022, section 3.1.1) puts step-by-step working between `<work>` and
`</work>` and does the arithmetic in Python instead of "in its head": the trace names a file,
shows the program (which writes its result to `output.txt`), then `<<run: "calculate.py">>`,
`<<read: "output.txt">>` and what the file holds. We build one trace per GSM8K problem:

    Question: <question>

    <work>
    <each solution step, calculator annotations removed>
    calculate.py
    ```python
    step1 = 48 / 2
    ...
    ```
    <<run: "calculate.py">>
    <<read: "output.txt">>
    72
    </work>
    A: 72

The program really runs in the sandbox (`sciloom.corpus.sandbox`); what follows
`<<read: "output.txt">>` is the file's content after that run, and the trace is kept only when
it equals the reference answer. Problems may also supply their own program (`program` field);
it must write `output.txt` the same way.
"""

from __future__ import annotations

from sciloom.corpus.markup import WORK_END, WORK_START
from sciloom.corpus.prompts.calculations import strip_annotations, work_program
from sciloom.corpus.prompts.execution import NO_OUTPUT
from sciloom.corpus.prompts.formatting import Draft, FormatError, Formatter, question_block
from sciloom.corpus.prompts.pot import check_answer, program_for
from sciloom.corpus.prompts.problems import Problem, strip_hash_line
from sciloom.corpus.sandbox import SandboxResult

PROGRAM_FILE = "calculate.py"
OUTPUT_FILE = "output.txt"
# Appended to the program for execution only: the trace shows the file, the run reports it.
READ_OUTPUT = f'\nprint(open("{OUTPUT_FILE}", encoding="utf-8").read())\n'
NO_OUTPUT_FILE = "no_output_file"


def steps_text(problem: Problem) -> str:
    lines = strip_annotations(strip_hash_line(problem.solution)).splitlines()
    return "\n".join(ln.rstrip() for ln in lines if ln.strip())


def trace_head(problem: Problem, program: str) -> str:
    steps = steps_text(problem)
    return (
        f"{question_block(problem.question)}{WORK_START}\n"
        + (f"{steps}\n" if steps else "")
        + f"{PROGRAM_FILE}\n```python\n{program}```\n"
        + f'<<run: "{PROGRAM_FILE}">>\n<<read: "{OUTPUT_FILE}">>\n'
    )


class WorkTraceFormatter(Formatter):
    kind = "work"

    def __init__(self, program_field: str | None = "program") -> None:
        self.program_field = program_field

    def drafts(self, problem: Problem) -> list[Draft]:
        program, origin = program_for(problem, self.program_field, work_program)
        meta = {"answer": problem.answer, "task": problem.task, "program_origin": origin}
        return [Draft(trace_head(problem, program), meta, code=program + READ_OUTPUT)]

    def complete(self, draft: Draft, result: SandboxResult) -> str:
        if result.ok and not result.stdout.strip():
            raise FormatError(NO_OUTPUT, "output.txt is empty")
        if not result.ok and "FileNotFoundError" in result.stderr and OUTPUT_FILE in result.stderr:
            raise FormatError(NO_OUTPUT_FILE, "the program wrote no output.txt")
        value = check_answer(result, draft.metadata["answer"], draft.metadata["task"])
        output = result.stdout.rstrip("\n")
        return f"{draft.text}{output}\n{WORK_END}\nA: {value}"
