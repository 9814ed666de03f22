"""`fobar` and `sv`: backward questions answered by the model and checked with `answers.py`.

- FOBAR (Jiang et al. 2023, "Forward-Backward Reasoning in Large Language Models for Mathematical
  Verification", arXiv:2308.07758), as MetaMath builds it (Yu et al. 2023, arXiv:2309.12284;
  meta-math/MetaMath): one number of the question is masked as `x` (`$X$` for MATH) and "If we know
  the answer to the above question is A, what is the value of unknown variable x?" is appended.
- Self-Verification (Weng et al. 2023, "Large Language Models are Better Reasoners with
  Self-Verification", arXiv:2212.09561; WENGSYX/Self-Verification), MetaMath's SV form: the model
  rewrites the masked question and its answer into a declarative statement, and "What is the
  value of unknown variable x?" is appended.

Which number is masked, and the variants per problem (`variants`), follow
`sciloom.corpus.prompts.fobar` (a number used once in the question and used by the solution,
picked by a seeded shuffle). The model then solves the backward question (`answer_samples` at
`answer_temperature`); a record is kept when its answer equals the masked number, else
`answer_mismatch` / `no_answer_found`. A problem without a maskable number is
`no_maskable_number`; an SV rewrite that is empty or still asks a question is `bad_statement`.
"""

from __future__ import annotations

import re

from sciloom.corpus.prompts.fobar import NO_MASKABLE_NUMBER, choose_spans, fobar_question, mask
from sciloom.corpus.prompts.formatting import FormatError, answer_text
from sciloom.corpus.prompts.problems import Problem
from sciloom.corpus.synth.context import GENERATION_FAILED, Candidate, SynthContext
from sciloom.corpus.synth.kinds.base import Kind, check_answers

BAD_STATEMENT = "bad_statement"
SV_SUFFIX = " What is the value of unknown variable {var}?"
REWRITE = (
    "Rewrite each question and its answer into one declarative statement. Keep every given fact; "
    "state the answer as a fact instead of asking for it.\n\n"
    "Question: James buys x packs of beef that are 4 pounds each. The price of beef is $5.50 per pound. "
    "How much did he pay?\nAnswer: 110\n"
    "Statement: James buys x packs of beef that are 4 pounds each. The price of beef is $5.50 per pound. "
    "He paid 110.\n\n"
    "Question: Weng earns $x an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. "
    "How much did she earn?\nAnswer: 10\n"
    "Statement: Weng earns $x an hour for babysitting. Yesterday, she just did 50 minutes of babysitting "
    "and earned $10.\n\n"
    "Question: {question}\nAnswer: {answer}\nStatement:"
)
STOP = ("\n\nQuestion:", "\nQuestion:", "\n\n")


class BackwardKind(Kind):
    def __init__(self, kind: str) -> None:
        if kind not in ("fobar", "sv"):
            raise ValueError(f"kind must be fobar or sv, not {kind!r}")
        self.name = kind
        self.templates = {}
        if kind == "sv":
            self.templates |= {"rewrite": REWRITE, "ask": SV_SUFFIX}
        else:
            self.templates |= {"ask": "sciloom.corpus.prompts.fobar:fobar_question"}

    def parameters(self, ctx: SynthContext) -> dict:
        c = ctx.config
        out = {
            "variants": c.variants,
            "answer_samples": c.answer_samples,
            "answer_temperature": c.answer_temperature,
        }
        if self.name == "sv":
            out["temperature"] = c.temperature
        return out | {"shots": c.shots}

    def run(self, problems: list[Problem], ctx: SynthContext) -> list[list[Candidate]]:
        out: list[list[Candidate]] = []
        masked: list[tuple[Problem, Candidate, str, str]] = []  # problem, candidate, masked question, var
        for p in problems:
            try:
                spans = choose_spans(p, ctx.config.variants, ctx.seed)
            except FormatError:
                out.append([Candidate(reason=NO_MASKABLE_NUMBER)])
                continue
            row = []
            for i, span in enumerate(spans):
                question, var = mask(p, span)
                value = span[2].replace(",", "")
                cand = Candidate(
                    suffix=f":{self.name}{i}",
                    metadata={"masked_number": value, "unknown": var, "original_answer": p.answer},
                )
                row.append(cand)
                masked.append((p, cand, question, var))
            out.append(row)
        if self.name == "sv":
            masked = self._statements(masked, ctx)
        to_check = []
        for p, cand, question, var in masked:
            ask = fobar_question(question, p, var) if self.name == "fobar" else question
            cand.metadata["question"] = ask
            to_check.append((p.id, ask, cand.metadata["masked_number"], ctx.task(p), cand))
        check_answers(ctx, "answer", to_check)
        return out

    def _statements(self, masked, ctx: SynthContext):
        """SV: the model's declarative rewrite of each masked question and its answer."""
        sampling = ctx.sampling(1, ctx.config.temperature, STOP)
        gens = ctx.sample(
            "rewrite",
            [
                (p.id + cand.suffix, REWRITE.format(question=q, answer=answer_text(p)), sampling)
                for p, cand, q, _ in masked
            ],
        )
        kept = []
        for (p, cand, _, var), gen in zip(masked, gens, strict=True):
            cand.calls["rewrite"] = ctx.call_record("rewrite", p.id + cand.suffix, sampling)
            if gen.error:
                cand.error = f"{GENERATION_FAILED}: {gen.error}"
                continue
            statement = gen.texts[0].strip()
            if (
                not statement
                or statement.endswith("?")
                or not re.search(rf"(?<![A-Za-z]){var}(?![A-Za-z])", statement)
            ):
                cand.reason = BAD_STATEMENT
                continue
            unknown = "x" if var == "x" else "$X$"
            kept.append((p, cand, statement + SV_SUFFIX.format(var=unknown), var))
        return kept
