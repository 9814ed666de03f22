"""Checks shared by the kinds: answers (`sciloom.corpus.answers`), majority votes and calculations.

Calculations: every `<<expr=result>>` annotation of a completion (GSM8K's calculator format) and,
on lines without one, every plain `a op b = c` equation, is re-computed by a program that runs in
`sciloom.corpus.sandbox` (the model's arithmetic is untrusted text, so it is only ever evaluated
there, after an allow-list check). A claimed result is right when it equals the computed value
rounded to the decimals the claim shows (`10/3 = 3.33` is right, `48/2 = 25` is not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from sciloom.corpus.answers import extract_answer, is_equivalent, majority_vote
from sciloom.corpus.prompts.calculations import ANNOTATION, PLAIN_EQUATION, SAFE_EXPRESSION, _clean_plain
from sciloom.corpus.prompts.execution import ExecutionLimits, run_programs

CALCULATION_WRONG = "calculation_wrong"
UNSAFE_CALCULATION = "unsafe_calculation"
CALCULATION_NOT_RUN = "calculation_not_run"
OPERATOR = re.compile(r"[\d)]\s*[+\-*/]\s*[\d(]")
# A model that says a problem cannot be solved gives no answer, whatever numbers it mentions.
CANNOT_ANSWER = re.compile(
    r"cannot be (?:determined|answered|solved|calculated)|not enough information|insufficient information|"
    r"unanswerable|impossible to (?:determine|answer|solve)|does not (?:provide|give) enough",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Claim:
    expression: str
    result: str


def claims(completion: str) -> list[Claim]:
    """Every calculation a completion states, in order (annotations, else plain equations per line)."""
    out: list[Claim] = []
    for line in completion.splitlines():
        found = [m.group(1) for m in ANNOTATION.finditer(line) if "=" in m.group(1)]
        if found:
            for body in found:
                expr, result = body.rsplit("=", 1)
                out.append(Claim(_clean_plain(expr), result.strip().replace(",", "").replace("$", "")))
            continue
        for m in PLAIN_EQUATION.finditer(line):
            expr = _clean_plain(m.group("expr"))
            if OPERATOR.search(expr):
                out.append(Claim(expr, m.group("result").replace(",", "")))
    return out


def check_program(found: list[Claim]) -> str:
    lines = []
    for c in found:
        lines.append(
            f"try:\n    print(repr(float({c.expression})))\nexcept ZeroDivisionError:\n    print('nan')"
        )
    return "\n".join(lines) + "\n"


def _decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def claim_holds(computed: str, claimed: str) -> bool:
    try:
        value = Fraction(computed)
        shown = Fraction(claimed)
    except (ValueError, ZeroDivisionError):
        return False
    # right when the claim is the value rounded (or cut) to the decimals it shows
    return abs(value - shown) <= Fraction(1, 10 ** _decimals(claimed)) - Fraction(1, 10**12)


def calculation_verdicts(completions: list[str], limits: ExecutionLimits) -> list[str | None]:
    """None (every calculation right, or none stated) or a drop reason, per completion."""
    verdicts: list[str | None] = [None] * len(completions)
    programs: list[tuple[int, list[Claim]]] = []
    for i, text in enumerate(completions):
        found = claims(text)
        if not found:
            continue
        if not all(SAFE_EXPRESSION.match(c.expression) for c in found):
            verdicts[i] = UNSAFE_CALCULATION
            continue
        programs.append((i, found))
    results = run_programs([check_program(f) for _, f in programs], limits)
    for (i, found), result in zip(programs, results, strict=True):
        printed = result.stdout.split()
        if not result.ok or len(printed) != len(found):
            verdicts[i] = CALCULATION_NOT_RUN
            continue
        if not all(claim_holds(p, c.result) for p, c in zip(printed, found, strict=True)):
            verdicts[i] = CALCULATION_WRONG
    return verdicts


def answer_of(completion: str, task: str) -> str | None:
    """The final answer of a completion; None when it has none or says the problem cannot be solved."""
    if CANNOT_ANSWER.search(completion):
        return None
    return extract_answer(completion, task)


def answer_verdict(completion: str, reference: str, task: str) -> str | None:
    """None when the completion's answer equals the reference, else the drop reason."""
    from sciloom.corpus.synth.context import ANSWER_MISMATCH, NO_ANSWER

    predicted = answer_of(completion, task)
    if predicted is None:
        return NO_ANSWER
    return None if is_equivalent(predicted, reference, task) else ANSWER_MISMATCH


@dataclass
class Vote:
    answer: str | None  # the majority answer (None: nobody answered)
    agreeing: list[int]  # indices of the completions that gave it
    total: int
    answered: int


def vote(completions: list[str], task: str) -> Vote:
    answers = [answer_of(c, task) for c in completions]
    winner = majority_vote(answers, task)
    agreeing = [
        i
        for i, a in enumerate(answers)
        if a is not None and winner is not None and is_equivalent(a, winner, task)
    ]
    return Vote(winner, agreeing, len(completions), sum(a is not None for a in answers))
