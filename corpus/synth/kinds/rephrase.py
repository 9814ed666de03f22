"""`rephrase`: MetaMath question rephrasing (Yu et al. 2023, "MetaMath: Bootstrap Your Own
Mathematical Questions for Large Language Models", arXiv:2309.12284; meta-math/MetaMath).

The model rephrases each question (`samples` rephrasings at `temperature`; MetaMath's few-shot
"Rephrase the above question:" prompt), then answers each rephrased question with few-shot
chain of thought (`answer_samples` at `answer_temperature`). A rephrasing is kept only when the
answer equals the original problem's (MetaMath's validation): else `answer_mismatch` /
`no_answer_found`; an empty rephrasing is `empty_generation`, one equal to the original
`unchanged_question`. The record is the rephrased question with the model's verified solution.
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
from sciloom.corpus.synth.kinds.base import Kind, check_answers, clean_question, same_question

REPHRASE = (
    "You are an AI assistant to help me rephrase questions. Follow the given examples.\n\n"
    "Question: Olivia has $23. She bought five bagels for $3 each. How much money does she have left?\n"
    "Rephrase the above question: What is the amount of money that Olivia has left after purchasing five "
    "bagels for $3 each, if she initially had $23?\n\n"
    "Question: Michael had 58 golf balls. On tuesday, he lost 23 golf balls. On wednesday, he lost 2 more. "
    "How many golf balls did he have at the end of wednesday?\n"
    "Rephrase the above question: After losing 23 golf balls on Tuesday and an additional 2 on Wednesday, "
    "how many golf balls does Michael have left if he initially had 58 golf balls?\n\n"
    "Question: {question}\n"
    "Rephrase the above question:"
)
STOP = ("\n\nQuestion:", "\nQuestion:")


class RephraseKind(Kind):
    name = "rephrase"
    templates = {"rephrase": REPHRASE}

    def parameters(self, ctx: SynthContext) -> dict:
        c = ctx.config
        return {
            "samples": c.samples,
            "temperature": c.temperature,
            "answer_samples": c.answer_samples,
            "answer_temperature": c.answer_temperature,
            "shots": c.shots,
        }

    def run(self, problems: list[Problem], ctx: SynthContext) -> list[list[Candidate]]:
        sampling = ctx.sampling(stop=STOP)
        gens = ctx.sample(
            "rephrase", [(p.id, REPHRASE.format(question=p.question), sampling) for p in problems]
        )
        out: list[list[Candidate]] = []
        to_check = []
        for p, gen in zip(problems, gens, strict=True):
            calls = {"rephrase": ctx.call_record("rephrase", p.id, sampling)}
            if gen.error:
                out.append([Candidate(error=f"{GENERATION_FAILED}: {gen.error}", calls=calls)])
                continue
            row = []
            for j, text in enumerate(gen.texts):
                question = clean_question(text)
                cand = Candidate(
                    suffix=f":rephrase{j}", calls=dict(calls), metadata={"rephrased_from": p.question}
                )
                if not question:
                    cand.reason = EMPTY_GENERATION
                elif same_question(question, p.question):
                    cand.reason = UNCHANGED_QUESTION
                else:
                    cand.metadata["question"] = question
                    to_check.append((p.id, question, p.answer, ctx.task(p), cand))
                row.append(cand)
            out.append(row)
        check_answers(ctx, "answer", to_check)
        return out
