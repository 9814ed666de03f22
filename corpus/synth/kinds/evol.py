"""`evol`: WizardMath's Evol-Instruct for math, upward and downward (Luo et al. 2023, "WizardMath:
Empowering Mathematical Reasoning for Large Language Models via Reinforced Evol-Instruct",
arXiv:2308.09583; Evol-Instruct: Xu et al. 2023, arXiv:2304.12244; nlpxucan/WizardLM).

Upward evolution makes a problem harder (more constraints, more reasoning steps); downward
evolution makes it easier (WizardMath added it to cover lower grades). Each of `evol_directions`
evolves every problem once per round (`evol_rounds`; a later round evolves the previous round's
kept problems). WizardLM's elimination rules drop an evolution that is empty or leaks the prompt's
scaffolding (`empty_generation`) or equals its parent (`unchanged_question`). The evolved problem
is then answered at every `vote_temperatures` value (`vote_samples` each) and dropped as
`unanswerable` when no answer is given (or the answers say it cannot be solved), or as
`no_majority` when the answers disagree; kept records carry the voted answer.
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

UPWARD = (
    "I want you to act as a Prompt Rewriter. Your objective is to rewrite a given math problem into a more "
    "complex version that is harder to solve: add one more constraint or requirement, or require more "
    "reasoning steps. The rewritten problem must be reasonable, solvable, self-contained, and have one "
    "numerical answer. Do not solve it.\n\n"
    "#Given Problem#:\n{question}\n\n#Rewritten Problem#:\n"
)
DOWNWARD = (
    "I want you to act as a Prompt Rewriter. Your objective is to rewrite a given math problem into an "
    "easier version: remove a constraint or reduce the number of reasoning steps, so that a younger "
    "student can solve it. The rewritten problem must be reasonable, solvable, self-contained, and have "
    "one numerical answer. Do not solve it.\n\n"
    "#Given Problem#:\n{question}\n\n#Rewritten Problem#:\n"
)
TEMPLATES = {"up": UPWARD, "down": DOWNWARD}
SCAFFOLD = ("#Given Problem#", "#Rewritten Problem#", "Prompt Rewriter")
STOP = ("\n#Given Problem#", "\n\n#", "\n\n\n")


class EvolKind(Kind):
    name = "evol"
    templates = {"up": UPWARD, "down": DOWNWARD}

    def parameters(self, ctx: SynthContext) -> dict:
        c = ctx.config
        return {
            "evol_directions": list(c.evol_directions),
            "evol_rounds": c.evol_rounds,
            "temperature": c.temperature,
            "vote_temperatures": list(c.vote_temperatures),
            "vote_samples": c.vote_samples,
            "min_agreement": c.min_agreement,
        }

    def run(self, problems: list[Problem], ctx: SynthContext) -> list[list[Candidate]]:
        c = ctx.config
        sampling = ctx.sampling(1, c.temperature, STOP)
        out: list[list[Candidate]] = [[] for _ in problems]
        # (problem index, question to evolve, suffix so far, ancestry)
        frontier = [(i, p.question, "", []) for i, p in enumerate(problems)]
        for round_ in range(c.evol_rounds):
            entries = []
            for direction in c.evol_directions:
                purpose = f"evol_{direction}"
                gens = ctx.sample(
                    purpose,
                    [
                        (problems[i].id + suffix, TEMPLATES[direction].format(question=q), sampling)
                        for i, q, suffix, _ in frontier
                    ],
                )
                for (i, parent_q, suffix, ancestry), gen in zip(frontier, gens, strict=True):
                    p = problems[i]
                    new_suffix = f"{suffix}:{direction}{round_}"
                    cand = Candidate(
                        suffix=new_suffix,
                        calls={purpose: ctx.call_record(purpose, p.id + suffix, sampling)},
                        metadata={
                            "evolution": [*ancestry, direction],
                            "round": round_,
                            "evolved_from": parent_q,
                        },
                    )
                    out[i].append(cand)
                    if gen.error:
                        cand.error = f"{GENERATION_FAILED}: {gen.error}"
                        continue
                    question = clean_question(gen.texts[0])
                    if not question or any(s.lower() in question.lower() for s in SCAFFOLD):
                        cand.reason = EMPTY_GENERATION
                    elif same_question(question, parent_q):
                        cand.reason = UNCHANGED_QUESTION
                    else:
                        cand.metadata["question"] = question
                        entries.append((p.id, question, ctx.task(p), cand, i, ancestry + [direction]))
            vote_answers(ctx, "vote", [(pid, q, t, cand) for pid, q, t, cand, _, _ in entries])
            frontier = [
                (i, q, cand.suffix, anc) for _, q, _, cand, i, anc in entries if cand.text is not None
            ]
            if not frontier:
                break
        return out
