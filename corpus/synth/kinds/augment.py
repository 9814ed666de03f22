"""`augment`: AugGSM8K-style query augmentation with majority-voted answers (MuggleMath; Li et al.
2023, "Query and Response Augmentation Cannot Help Out-of-domain Math Reasoning Generalization",
arXiv:2310.05506; OFA-Sys/gsm8k-ScRel).

For each problem and each of `augmentations` (AugGSM8K's five changes: other numbers, fractions or
percentages, a second concept combined in, an added condition, more complexity), the model writes
`samples` new questions (`temperature`). AugGSM8K answered them with GPT-4 at several
temperatures; here each new question is answered `vote_samples` times at every
`vote_temperatures` value and kept when a majority (`min_agreement` of all answers) agrees:
else `no_majority`, or `unanswerable` when no answer is given. Empty or unchanged questions are
`empty_generation` / `unchanged_question`. The record is the new question with one agreeing
solution; its answer is the voted one (the new question has no reference).
"""

from __future__ import annotations

from sciloom.corpus.prompts.problems import Problem
from sciloom.corpus.synth.context import (
    EMPTY_GENERATION,
    GENERATION_FAILED,
    UNCHANGED_QUESTION,
    Candidate,
    SynthContext,
)
from sciloom.corpus.synth.kinds.base import Kind, clean_question, same_question, vote_answers

CHANGES = {
    "numbers": "changing the specific numbers",
    "fraction": "introducing fractions or percentages",
    "combine": "combining it with another mathematical concept",
    "condition": "adding a conditional statement",
    "complexity": "increasing the complexity of the problem",
}
AUGMENT = (
    "Act as a professional math teacher. Your goal is to create high-quality math word problems that help "
    "students learn math. Given an original question, create a new question by {change}. The new question "
    "must be solvable and must have one numerical answer. Write only the new question.\n\n"
    "Original question: {question}\n"
    "New question:"
)
STOP = ("\nOriginal question:", "\nAnswer:", "\nSolution:", "\n\n\n")


class AugmentKind(Kind):
    name = "augment"
    templates = {"augment": AUGMENT, **{f"change_{k}": v for k, v in CHANGES.items()}}

    def parameters(self, ctx: SynthContext) -> dict:
        c = ctx.config
        return {
            "augmentations": list(c.augmentations),
            "samples": c.samples,
            "temperature": c.temperature,
            "vote_temperatures": list(c.vote_temperatures),
            "vote_samples": c.vote_samples,
            "min_agreement": c.min_agreement,
        }

    def run(self, problems: list[Problem], ctx: SynthContext) -> list[list[Candidate]]:
        c = ctx.config
        sampling = ctx.sampling(stop=STOP)
        out: list[list[Candidate]] = [[] for _ in problems]
        to_vote = []
        for change in c.augmentations:
            purpose = f"augment_{change}"
            gens = ctx.sample(
                purpose,
                [
                    (p.id, AUGMENT.format(change=CHANGES[change], question=p.question), sampling)
                    for p in problems
                ],
            )
            for i, (p, gen) in enumerate(zip(problems, gens, strict=True)):
                calls = {purpose: ctx.call_record(purpose, p.id, sampling)}
                if gen.error:
                    out[i].append(
                        Candidate(error=f"{GENERATION_FAILED}: {gen.error}", calls=calls, suffix=f":{change}")
                    )
                    continue
                for j, text in enumerate(gen.texts):
                    question = clean_question(text)
                    cand = Candidate(
                        suffix=f":{change}{j}",
                        calls=dict(calls),
                        metadata={"augmentation": change, "augmented_from": p.question},
                    )
                    if not question:
                        cand.reason = EMPTY_GENERATION
                    elif same_question(question, p.question):
                        cand.reason = UNCHANGED_QUESTION
                    else:
                        cand.metadata["question"] = question
                        to_vote.append((p.id, question, ctx.task(p), cand))
                    out[i].append(cand)
        vote_answers(ctx, "vote", to_vote)
        return out
