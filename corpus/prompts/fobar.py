"""Backward reasoning records: FOBAR and self-verification (MetaMath, Yu et al. 2023).

Both mask one number of the question as an unknown, state the original answer, and ask for the
unknown; the target is the masked number (meta-math/MetaMath@fe667b1,
`code_for_generating_data/configs/{fobar,sv}_cot_*.txt`):

- FOBAR appends "If we know the answer to the above question is A, what is the value of unknown
  variable x?" (GSM8K, `x`) or, for MATH, "### If we know ... variable $X$?" with the number
  written `$X$` in prose and `X` inside a formula;
- self-verification (SV) states the answer as a fact and asks "What is the value of unknown
  variable x?". MetaMath has GPT-3.5 rewrite the question into a statement; we use a fixed
  rewrite that needs no model: `The answer to "<the question sentence>" is A.`

Which number is masked: a number that occurs exactly once in the question and is used by the
solution (for GSM8K, in a calculator expression; for MATH, anywhere in the solution), so the
unknown really determines the answer. Variants pick different numbers, chosen by a seeded
shuffle per problem id. The answer is a short verification: the original solution with the
masked value in place, the stated answer it gives, then MetaMath's `The value of x is N.`
"""

from __future__ import annotations

import hashlib
import random
import re

from sciloom.corpus.prompts.calculations import calculations, strip_annotations
from sciloom.corpus.prompts.formatting import (
    ANSWER,
    Draft,
    FormatError,
    Formatter,
    answer_text,
    question_block,
)
from sciloom.corpus.prompts.problems import Problem, strip_hash_line

NO_MASKABLE_NUMBER = "no_maskable_number"
NUMBER = re.compile(r"(?<![\w.,\\])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\w]|\.\d|,\d{3})")
MATH_SPAN = re.compile(r"\$\$.*?\$\$|\$.*?\$|\\\(.*?\\\)|\\\[.*?\\\]", re.S)
QUESTION_SENTENCE = re.compile(r"([^.?!]*\?)\s*$")


def _math_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in MATH_SPAN.finditer(text)]


def maskable_numbers(problem: Problem) -> list[tuple[int, int, str]]:
    """(start, end, number) of each number that occurs once in the question and is used."""
    found = [(m.start(), m.end(), m.group(1)) for m in NUMBER.finditer(problem.question)]
    counts: dict[str, int] = {}
    for _, _, n in found:
        counts[n] = counts.get(n, 0) + 1
    if problem.task == "gsm8k":
        used_text = " ".join(c.expression for c in calculations(problem.solution))
    else:
        used_text = problem.solution
    used = {m.group(1).replace(",", "") for m in NUMBER.finditer(used_text)}
    return [(s, e, n) for s, e, n in found if counts[n] == 1 and n.replace(",", "") in used]


def mask(problem: Problem, span: tuple[int, int, str]) -> tuple[str, str]:
    """(question with the number replaced by the unknown, the unknown's name)."""
    start, end, _ = span
    q = problem.question
    if problem.task == "gsm8k":
        return q[:start] + "x" + q[end:], "x"
    inside = any(a < start and end <= b for a, b in _math_spans(q))
    return q[:start] + ("X" if inside else "$X$") + q[end:], "X"


def choose_spans(problem: Problem, variants: int, seed: int) -> list[tuple[int, int, str]]:
    spans = maskable_numbers(problem)
    if not spans:
        raise FormatError(NO_MASKABLE_NUMBER)
    digest = hashlib.sha256(f"{seed}:{problem.id}".encode()).digest()
    random.Random(digest).shuffle(spans)
    return spans[:variants]


def verification(problem: Problem, var: str, value: str) -> str:
    steps = strip_annotations(strip_hash_line(problem.solution)).strip()
    return (
        f"Let's check the value {var} = {value}: with it, the question is solved as follows.\n{steps}\n"
        f"This gives {answer_text(problem)}, the stated answer.\nThe value of {var} is {value}."
    )


def fobar_question(masked: str, problem: Problem, var: str) -> str:
    stated = answer_text(problem)
    if problem.task == "gsm8k":
        return f"{masked}\nIf we know the answer to the above question is {stated}, what is the value of unknown variable x?"
    return (
        f"{masked}\n### If we know the answer to the above question is {stated}, "
        f"what is the value of unknown variable $X$?"
    )


def sv_question(masked: str, problem: Problem, var: str) -> str:
    m = QUESTION_SENTENCE.search(masked)
    context, asked = (masked[: m.start()].rstrip(), m.group(1).strip()) if m else (masked, "")
    statement = (
        f'The answer to "{asked}" is {problem.answer}.' if asked else f"The answer is {problem.answer}."
    )
    unknown = "x" if var == "x" else "$X$"
    return f"{context} {statement} What is the value of unknown variable {unknown}?".strip()


class BackwardFormatter(Formatter):
    """FOBAR (`kind="fobar"`) or self-verification (`kind="sv"`) records, `variants` per problem."""

    def __init__(self, kind: str = "fobar", variants: int = 1, seed: int = 0) -> None:
        if kind not in ("fobar", "sv"):
            raise ValueError(f"kind must be 'fobar' or 'sv', not {kind!r}")
        self.kind = kind
        self.variants = variants
        self.seed = seed

    def drafts(self, problem: Problem) -> list[Draft]:
        out = []
        for i, span in enumerate(choose_spans(problem, self.variants, self.seed)):
            masked, var = mask(problem, span)
            value = span[2].replace(",", "")
            ask = fobar_question if self.kind == "fobar" else sv_question
            text = f"{question_block(ask(masked, problem, var))}{ANSWER}{verification(problem, var, value)}"
            meta = {
                "answer": value,
                "masked_number": value,
                "original_answer": problem.answer,
                "unknown": var,
            }
            out.append(Draft(text, meta, suffix=f":{self.kind}{i}"))
        return out
