"""The kind interface and the one solving call every kind makes.

`Kind.run(problems, ctx)` returns one list of `Candidate`s per problem. Solving uses `sciloom
eval`'s few-shot chain-of-thought prompts (Wei et al. 2022 for GSM8K, Minerva for MATH) and stop
strings, so a generated answer is judged exactly as an evaluation would judge it. A kept record is
shaped like every prompt record: `Question: ...\\n\\nAnswer: <the completion>` (Galactica's
prompt form), with GSM8K calculator annotations removed from the reading text.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod

from sciloom.corpus.prompts.calculations import strip_annotations
from sciloom.corpus.prompts.formatting import ANSWER, question_block
from sciloom.corpus.prompts.problems import Problem
from sciloom.corpus.synth.context import Candidate, SynthContext
from sciloom.pretrain.eval.prompts import build_prompt, max_shots, stop_sequences


class Kind(ABC):
    name = "base"
    templates: dict[str, str] = {}

    @abstractmethod
    def run(self, problems: list[Problem], ctx: SynthContext) -> list[list[Candidate]]:
        """Candidates per problem (at least one each)."""

    def parameters(self, ctx: SynthContext) -> dict:
        """The config fields this kind uses (recorded in the manifest)."""
        return {}


def solve_prompt(task: str, question: str, shots: int) -> str:
    return build_prompt(task, question, min(shots, max_shots(task, "cot")), "cot")


def solve_templates(shots: int) -> dict[str, str]:
    """The answer prompts as sent (with a `{question}` slot), so their hash changes with the exemplars."""
    return {f"solve_{task}": solve_prompt(task, "{question}", shots) for task in ("gsm8k", "math")}


def solve_stop(task: str) -> tuple[str, ...]:
    return stop_sequences(task, "cot")


def record_text(question: str, completion: str) -> str:
    return f"{question_block(question)}{ANSWER}{strip_annotations(completion).strip()}"


LABEL = re.compile(
    r"^\s*(?:#*\s*)?(?:new question|rewritten (?:prompt|question)|rephrased question|question)\s*[:#]*\s*",
    re.I,
)


def clean_question(text: str) -> str:
    """A generated question without a leading label, surrounding quotes or a trailing blank part."""
    text = LABEL.sub("", text.strip(), count=1).strip()
    text = re.split(r"\n\s*\n\s*(?:answer|solution|#)", text, maxsplit=1, flags=re.I)[0].strip()
    if len(text) > 1 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    return text


def same_question(a: str, b: str) -> bool:
    norm = lambda s: re.sub(r"\W+", " ", s.lower()).strip()  # noqa: E731
    return norm(a) == norm(b)


def check_answers(
    ctx: SynthContext, purpose: str, entries: list[tuple[str, str, str, str, Candidate]]
) -> None:
    """Answer each generated question; keep its candidate with the first answer equal to the reference.

    `entries`: (problem id, question, reference answer, task, candidate). A candidate without an
    equal answer is dropped with the first answer's reason (`answer_mismatch`, `no_answer_found`).
    """
    from sciloom.corpus.synth.checks import answer_verdict
    from sciloom.corpus.synth.context import GENERATION_FAILED

    c = ctx.config
    samplings = {
        t: ctx.sampling(c.answer_samples, c.answer_temperature, solve_stop(t)) for *_, t, _ in entries
    }
    gens = ctx.sample(
        purpose,
        [(pid + cand.suffix, solve_prompt(t, q, c.shots), samplings[t]) for pid, q, _, t, cand in entries],
    )
    for (pid, question, reference, task, cand), gen in zip(entries, gens, strict=True):
        cand.calls[purpose] = ctx.call_record(purpose, pid + cand.suffix, samplings[task])
        if gen.error:
            cand.error = f"{GENERATION_FAILED}: {gen.error}"
            continue
        verdicts = [answer_verdict(t, reference, task) for t in gen.texts]
        good = [t for t, v in zip(gen.texts, verdicts, strict=True) if v is None]
        if not good:
            cand.reason = verdicts[0]
            continue
        cand.text = record_text(question, good[0])
        cand.metadata["answer"] = reference


def vote_answers(ctx: SynthContext, purpose: str, entries: list[tuple[str, str, str, Candidate]]) -> None:
    """Sample answers at each of `vote_temperatures`; keep a candidate whose majority answer holds.

    `entries`: (problem id, question, task, candidate). Dropped `unanswerable` when no sample gives
    an answer (or they say it cannot be solved), `no_majority` when the most common answer has fewer
    than `min_agreement` of all samples (or fewer than two). The record's answer is the first
    completion that agrees with the majority (AugGSM8K / MuggleMath and WizardMath keep one path).
    """
    from sciloom.corpus.synth.checks import vote
    from sciloom.corpus.synth.context import GENERATION_FAILED, NO_MAJORITY, UNANSWERABLE

    c = ctx.config
    texts: list[list[str]] = [[] for _ in entries]
    for t_index, temperature in enumerate(c.vote_temperatures):
        call = f"{purpose}@t{t_index}"
        samplings = {
            task: ctx.sampling(c.vote_samples, temperature, solve_stop(task)) for *_, task, _ in entries
        }
        gens = ctx.sample(
            call,
            [
                (pid + cand.suffix, solve_prompt(task, q, c.shots), samplings[task])
                for pid, q, task, cand in entries
            ],
        )
        for k, ((pid, _, task, cand), gen) in enumerate(zip(entries, gens, strict=True)):
            cand.calls[call] = ctx.call_record(call, pid + cand.suffix, samplings[task])
            if gen.error:
                cand.error = f"{GENERATION_FAILED}: {gen.error}"
            texts[k].extend(gen.texts)
    for (_, question, task, cand), completions in zip(entries, texts, strict=True):
        if cand.error:
            continue
        v = vote(completions, task)
        cand.metadata["vote"] = {
            "answer": v.answer,
            "agreeing": len(v.agreeing),
            "total": v.total,
            "answered": v.answered,
        }
        if v.answer is None:
            cand.reason = UNANSWERABLE
        elif len(v.agreeing) < 2 or len(v.agreeing) < c.min_agreement * v.total:
            cand.reason = NO_MAJORITY
        else:
            cand.text = record_text(question, completions[v.agreeing[0]])
            cand.metadata["answer"] = v.answer
