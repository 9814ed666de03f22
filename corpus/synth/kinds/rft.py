"""`rft`: rejection-sampling fine-tuning data (RFT; Yuan et al. 2023, "Scaling Relationship on
Learning Mathematical Reasoning with Large Language Models", arXiv:2308.01825; OFA-Sys/gsm8k-ScRel).

For each training problem, `samples` reasoning paths are sampled (few-shot CoT, `temperature`;
RFT used 0.7 and k up to 100). A path is kept when (in this order)
1. its final answer equals the reference (`sciloom.corpus.answers`): else `answer_mismatch` /
   `no_answer_found`;
2. every calculation it states (`<<a*b=c>>` or `a * b = c`) is right when re-computed in the
   sandbox: else `calculation_wrong` (`unsafe_calculation` for an expression that is not plain
   arithmetic) — a right answer reached through wrong arithmetic teaches the wrong thing;
3. its list of equations differs from every path already kept for the problem (RFT counts
   distinct reasoning paths by their equations): else `duplicate_equations`.
"""

from __future__ import annotations

from sciloom.corpus.prompts.execution import ExecutionLimits
from sciloom.corpus.prompts.problems import Problem
from sciloom.corpus.prompts.rft import equation_list
from sciloom.corpus.synth.checks import answer_verdict, calculation_verdicts
from sciloom.corpus.synth.context import GENERATION_FAILED, Candidate, SynthContext
from sciloom.corpus.synth.kinds.base import Kind, record_text, solve_prompt, solve_stop

DUPLICATE_EQUATIONS = "duplicate_equations"


class RftKind(Kind):
    name = "rft"
    templates: dict[str, str] = {}  # the solve prompts only (added for every kind by the stage)

    def parameters(self, ctx: SynthContext) -> dict:
        c = ctx.config
        return {"samples": c.samples, "temperature": c.temperature, "top_p": c.top_p, "shots": c.shots}

    def run(self, problems: list[Problem], ctx: SynthContext) -> list[list[Candidate]]:
        c = ctx.config
        out: list[list[Candidate]] = []
        pending: list[tuple[int, int, str]] = []  # (problem, sample, completion) past the answer check
        samplings = {}
        for task in {ctx.task(p) for p in problems}:
            samplings[task] = ctx.sampling(stop=solve_stop(task))
        gens = ctx.sample(
            "solve",
            [
                (p.id, solve_prompt(ctx.task(p), p.question, c.shots), samplings[ctx.task(p)])
                for p in problems
            ],
        )
        for i, (p, gen) in enumerate(zip(problems, gens, strict=True)):
            task = ctx.task(p)
            calls = {"solve": ctx.call_record("solve", p.id, samplings[task])}
            if gen.error:
                out.append([Candidate(error=f"{GENERATION_FAILED}: {gen.error}", calls=calls)])
                continue
            row = []
            for j, completion in enumerate(gen.texts):
                reason = answer_verdict(completion, p.answer, task)
                cand = Candidate(
                    reason=reason,
                    suffix=f":rft{j}",
                    calls=calls,
                    metadata={"answer": p.answer, "sample_index": j},
                )
                row.append(cand)
                if reason is None:
                    pending.append((i, j, completion))
            out.append(row)
        verdicts = calculation_verdicts(
            [t for _, _, t in pending],
            ExecutionLimits(c.sandbox_timeout_s, 512, c.parallel, unsafe_no_sandbox=c.unsafe_no_sandbox),
        )
        kept: dict[int, set[tuple[str, ...]]] = {}
        for (i, j, completion), verdict in zip(pending, verdicts, strict=True):
            cand = out[i][j]
            if verdict is not None:
                cand.reason = verdict
                continue
            equations = equation_list(completion)
            seen = kept.setdefault(i, set())
            if equations in seen:
                cand.reason = DUPLICATE_EQUATIONS
                continue
            seen.add(equations)
            cand.text = record_text(problems[i].question, completion)
            cand.metadata["equations"] = list(equations)
        return out
