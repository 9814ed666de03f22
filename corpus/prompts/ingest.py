"""Converters for public augmented math sets, so they mix in without hand-written scripts.

- **MetaMathQA** (meta-math/MetaMathQA): `query`, `response` (ends `The answer is: N`), `type`
  (GSM_FOBAR, MATH_SV, ...). Written as a CoT record, the type kept in metadata.
- **MathInstruct** (TIGER-Lab/MAmmoTH): `instruction`, `output`, `source`. Rows whose source
  path says PoT (`data/PoT/...`) or whose output is a Python program are program-of-thought:
  the program runs in the sandbox, runs that fail are dropped, the real output is appended.
  Others are CoT.
- **PRM800K-style step labels** (openai/prm800k): `question.problem` and `label.steps[]`, each
  with rated `completions` (+1 good, 0 neutral, -1 wrong) and a `chosen_completion` or a
  `human_completion`; or flat rows `problem`/`question`, `steps` (list of str) and `labels`
  (list of ratings). A solution is kept when it finished (`finish_reason == "solution"` where
  given) and no chosen step is rated -1; the ratings go to metadata.
"""

from __future__ import annotations

import re
from typing import Any

from sciloom.corpus.prompts.execution import failure_reason
from sciloom.corpus.prompts.formatting import ANSWER, Draft, FormatError, Formatter, question_block
from sciloom.corpus.prompts.problems import Problem
from sciloom.corpus.sandbox import SandboxResult

UNKNOWN_FORMAT = "unknown_format"
EMPTY_RESPONSE = "empty_response"
NEGATIVE_STEP = "negative_step"
UNFINISHED = "unfinished_solution"
CODE_HINT = re.compile(r"^\s*(def |import |from \w+ import |print\()", re.M)


def detect_format(row: dict[str, Any]) -> str:
    if "query" in row and "response" in row:
        return "metamathqa"
    if "instruction" in row and "output" in row:
        return "mathinstruct"
    if isinstance(row.get("label"), dict) or ("steps" in row and ("labels" in row or "ratings" in row)):
        return "prm800k"
    raise FormatError(UNKNOWN_FORMAT, f"fields {sorted(row)[:8]}")


def is_program(row: dict[str, Any]) -> bool:
    source = str(row.get("source", ""))
    if "PoT" in source or "pot" in source.lower().split("/"):
        return True
    return "CoT" not in source and bool(CODE_HINT.search(str(row.get("output", ""))))


def prm_steps(row: dict[str, Any]) -> tuple[str, list[str], list[int | None]]:
    """(problem, chosen step texts, their ratings) of a PRM800K-style row."""
    if isinstance(row.get("label"), dict):
        question = row.get("question") or {}
        problem = question.get("problem", "") if isinstance(question, dict) else str(question)
        label = row["label"]
        if label.get("finish_reason") not in (None, "solution"):
            raise FormatError(UNFINISHED, str(label.get("finish_reason")))
        texts, ratings = [], []
        for step in label.get("steps") or []:
            chosen = step.get("chosen_completion")
            if chosen is not None and step.get("completions"):
                completion = step["completions"][chosen]
                texts.append(completion.get("text", ""))
                ratings.append(completion.get("rating"))
            elif step.get("human_completion"):
                human = step["human_completion"]
                texts.append(human.get("text", "") if isinstance(human, dict) else str(human))
                ratings.append(1)
            else:  # no usable completion: the labeller stopped here
                raise FormatError(UNFINISHED, "a step without a chosen completion")
        return problem, texts, ratings
    problem = str(row.get("problem") or row.get("question") or "")
    ratings = list(row.get("labels") or row.get("ratings") or [])
    return problem, [str(s) for s in row.get("steps") or []], ratings


class IngestFormatter(Formatter):
    kind = "ingest"

    def __init__(self, fmt: str = "auto") -> None:
        self.fmt = fmt

    def drafts(self, problem: Problem) -> list[Draft]:
        # Public augmented sets are converted row by row (their fields are not a Problem's): the
        # prompt stage calls row_drafts for kind "ingest".
        raise TypeError("IngestFormatter converts dataset rows: call row_drafts(row)")

    def row_drafts(self, row: dict[str, Any]) -> list[Draft]:
        fmt = detect_format(row) if self.fmt == "auto" else self.fmt
        if fmt == "metamathqa":
            response = str(row.get("response", "")).strip()
            if not response:
                raise FormatError(EMPTY_RESPONSE)
            meta = {"ingest_format": fmt, "augmentation": row.get("type")}
            return [Draft(f"{question_block(str(row['query']))}{ANSWER}{response}", meta)]
        if fmt == "mathinstruct":
            output = str(row.get("output", "")).strip()
            if not output:
                raise FormatError(EMPTY_RESPONSE)
            meta = {"ingest_format": fmt, "mathinstruct_source": row.get("source")}
            head = question_block(str(row["instruction"]))
            if is_program(row):
                meta["style"] = "pot"
                text = f"{head}{ANSWER}Let's write a program.\n```python\n{output}\n```\n"
                return [Draft(text, meta, code=output + "\n")]
            meta["style"] = "cot"
            return [Draft(f"{head}{ANSWER}{output}", meta)]
        problem, steps, ratings = prm_steps(row)
        if not problem or not steps:
            raise FormatError(EMPTY_RESPONSE)
        if any(r is not None and r < 0 for r in ratings):
            raise FormatError(NEGATIVE_STEP)
        meta = {"ingest_format": "prm800k", "step_ratings": ratings}
        return [Draft(f"{question_block(problem)}{ANSWER}" + "\n".join(s.strip() for s in steps), meta)]

    def complete(self, draft: Draft, result: SandboxResult) -> str:
        reason = failure_reason(result)
        if reason is not None:
            raise FormatError(reason, (result.stderr or "")[-300:])
        return f"{draft.text}Output: {result.stdout.strip()}"
