"""`opro`: OPRO prompt optimisation (Yang et al. 2023, "Large Language Models as Optimizers",
arXiv:2309.03409; google-deepmind/opro).

The optimiser model (`optimizer`, default the backend) reads a meta-prompt holding the best
instructions so far with their scores, in ascending order (`opro_history` of them), and a few dev
problems (`opro_exemplars`) showing where the instruction goes; it proposes `opro_proposals`
new instructions per step (`opro_temperature`, the paper's 1.0), for `opro_steps` steps; the
exemplars are drawn afresh for each step, as in the paper. The
scorer (the backend) answers every dev problem with each new instruction at the start of the
answer (OPRO's `A_begin` position for pretrained scorers), greedily and zero-shot; the score is
`sciloom eval`'s accuracy (`pretrain.eval.metrics.score_item` / `summarize`) in percent.
Instructions already scored are not scored again (OPRO skips duplicates too).

Before any scoring the dev split is checked against the benchmark test sets with the
decontamination index (`sciloom.filters.decontamination.NgramIndex`, the `[decontam]` defaults):
a contaminated dev problem would select a prompt for the test set; it is dropped as
`contaminated_<benchmark>`. Dev problems beyond `dev_size` are `outside_dev_split`.

Outputs: the trajectory (step, instruction, score) and the best instruction go to the manifest
(`extra.opro`) and to `OUT/opro/{trajectory.jsonl,best_prompt.txt}`; the report plots the
trajectory. The records are the dev problems solved by the scorer with the best instruction,
kept when correct (else `answer_mismatch`), so the stage is a prompt source like any other.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from sciloom.corpus.prompts.formatting import ANSWER, question_block
from sciloom.corpus.prompts.problems import Problem
from sciloom.corpus.synth.context import ANSWER_MISMATCH, GENERATION_FAILED, Candidate, SynthContext
from sciloom.corpus.synth.kinds.base import Kind, solve_stop
from sciloom.pretrain.eval.metrics import score_item

OUTSIDE_DEV = "outside_dev_split"
OPRO_DIR = "opro"
MAX_INSTRUCTION_CHARS = 500
META_HEAD = (
    "I have some texts along with their corresponding scores. The texts are arranged in ascending order "
    "based on their scores, where higher scores indicate better quality.\n\n"
)
META_ENTRY = "text:\n{instruction}\nscore:\n{score}\n\n"
META_EXEMPLARS = (
    "The following exemplars show how to apply your text: you replace <INS> in each input with your text, "
    "then read the input and give an output. We say your output is wrong if your output is different from "
    "the given output, and we say your output is correct if they are the same.\n\n"
)
META_EXEMPLAR = "input:\nQ: {question}\nA: <INS>\noutput:\n{answer}\n\n"
META_TAIL = (
    "Write your new text that is different from the old ones and has a score as high as possible. "
    "Write the text in square brackets."
)
SCORER = "Q: {question}\nA: {instruction}"
BRACKETS = re.compile(r"\[([^\[\]]+)\]")


def extract_instruction(text: str) -> str | None:
    """The instruction in the last [...] of an optimiser reply (else its first line), or None."""
    found = BRACKETS.findall(text)
    candidate = found[-1] if found else text.strip().split("\n", 1)[0]
    candidate = candidate.strip().strip('"').strip()
    if not candidate or len(candidate) > MAX_INSTRUCTION_CHARS or "<INS>" in candidate:
        return None
    return candidate


def meta_prompt(history: list[tuple[str, float]], exemplars: list[Problem], limit: int) -> str:
    best = sorted(history, key=lambda h: h[1])[-limit:]  # ascending: the best last, as in OPRO
    parts = [META_HEAD, *(META_ENTRY.format(instruction=i, score=round(s)) for i, s in best), META_EXEMPLARS]
    parts += [META_EXEMPLAR.format(question=p.question, answer=p.answer) for p in exemplars]
    return "".join(parts) + META_TAIL


class OproKind(Kind):
    name = "opro"
    templates = {
        "meta_head": META_HEAD,
        "meta_entry": META_ENTRY,
        "meta_exemplars": META_EXEMPLARS,
        "meta_exemplar": META_EXEMPLAR,
        "meta_tail": META_TAIL,
        "scorer": SCORER,
    }
    needs_all_problems = True

    def __init__(self, out_dir: str | Path | None = None) -> None:
        self.out_dir = Path(out_dir) if out_dir is not None else None

    def parameters(self, ctx: SynthContext) -> dict:
        c = ctx.config
        return {
            "opro_steps": c.opro_steps,
            "opro_proposals": c.opro_proposals,
            "opro_temperature": c.opro_temperature,
            "opro_history": c.opro_history,
            "opro_exemplars": c.opro_exemplars,
            "opro_initial": list(c.opro_initial),
            "dev_size": c.dev_size,
            "position": "A_begin",
            "optimizer": ctx.optimizer.identity,
            "scorer": ctx.backend.identity,
        }

    def run(self, problems: list[Problem], ctx: SynthContext) -> list[list[Candidate]]:
        c = ctx.config
        out: list[list[Candidate]] = [[] for _ in problems]
        contaminated = contamination(problems)
        dev: list[int] = []
        for i, _ in enumerate(problems):
            if i in contaminated:
                out[i].append(Candidate(reason=contaminated[i]))
            elif c.dev_size and len(dev) >= c.dev_size:
                out[i].append(Candidate(reason=OUTSIDE_DEV))
            else:
                dev.append(i)
        dev_problems = [problems[i] for i in dev]
        scored: dict[str, tuple[float, list]] = {}  # instruction -> (score, per-dev generations)
        trajectory: list[dict] = []
        if dev_problems:
            for instruction in c.opro_initial:
                self._score(instruction, 0, dev_problems, ctx, scored, trajectory)
            for step in range(1, c.opro_steps + 1):
                # OPRO draws the exemplars of each meta-prompt afresh (seeded here, so reproducible)
                rng = random.Random(ctx.seed_for("opro", f"exemplars{step}"))
                exemplars = rng.sample(dev_problems, min(c.opro_exemplars, len(dev_problems)))
                history = [(i, s) for i, (s, _) in scored.items()]
                prompt = meta_prompt(history, exemplars, c.opro_history)
                sampling = ctx.sampling(c.opro_proposals, c.opro_temperature, (), max_tokens=200)
                gen = ctx.sample(f"optimize{step}", [("opro", prompt, sampling)], optimizer=True)[0]
                if gen.error:
                    continue
                for text in gen.texts:
                    instruction = extract_instruction(text)
                    if instruction is not None and instruction not in scored:
                        self._score(instruction, step, dev_problems, ctx, scored, trajectory)
        best = max(trajectory, key=lambda t: t["score"], default=None)  # max keeps the earliest tie
        self.result = {
            "trajectory": trajectory,
            "best": best,
            "dev_problems": len(dev_problems),
            "contaminated": len(contaminated),
        }
        self._write(best, trajectory)
        if best is not None:
            _, results = scored[best["instruction"]]
            for i, (p, (completion, correct, calls)) in zip(
                dev, zip(dev_problems, results, strict=True), strict=True
            ):
                cand = Candidate(
                    calls=calls, metadata={"instruction": best["instruction"], "answer": p.answer}
                )
                if completion is None:
                    cand.error = f"{GENERATION_FAILED}: scorer"
                elif not correct:
                    cand.reason = ANSWER_MISMATCH
                else:
                    cand.text = (
                        f"{question_block(p.question)}{ANSWER}{best['instruction']} {completion.strip()}"
                    )
                out[i].append(cand)
        else:
            for i in dev:
                out[i].append(Candidate(error=f"{GENERATION_FAILED}: no instruction could be scored"))
        return out

    def _score(self, instruction, step, dev, ctx: SynthContext, scored, trajectory) -> None:
        purpose = f"score:{instruction}"
        results = []
        records = []
        items = []
        for p in dev:
            sampling = ctx.sampling(1, 0.0, solve_stop(ctx.task(p)))
            items.append((p.id, SCORER.format(question=p.question, instruction=instruction), sampling))
        gens = ctx.sample(purpose, items)
        for p, gen, (_, _, sampling) in zip(dev, gens, items, strict=True):
            calls = {"score": ctx.call_record(purpose, p.id, sampling)}
            if gen.error:
                results.append((None, False, calls))
                records.append({"samples": [{"correct": False}]})
                continue
            record = score_item(ctx.task(p), p.id, p.answer, gen.texts)
            records.append(record)
            results.append((gen.texts[0], record["samples"][0]["correct"], calls))
        score = 100.0 * sum(r["samples"][0]["correct"] for r in records) / len(records)
        scored[instruction] = (score, results)
        trajectory.append({"step": step, "instruction": instruction, "score": round(score, 2)})

    def _write(self, best, trajectory) -> None:
        if self.out_dir is None:
            return
        folder = self.out_dir / OPRO_DIR
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "trajectory.jsonl", "w", encoding="utf-8") as fh:
            for t in trajectory:
                fh.write(json.dumps(t, ensure_ascii=False) + "\n")
        (folder / "best_prompt.txt").write_text((best or {}).get("instruction", "") + "\n", encoding="utf-8")
        (folder / "result.json").write_text(json.dumps(self.result, indent=1, ensure_ascii=False) + "\n")


def contamination(problems: list[Problem]) -> dict[int, str]:
    """Problem index -> `contaminated_<benchmark>` for dev problems found in a benchmark test set."""
    from sciloom.filters.benchmarks import load_benchmarks
    from sciloom.filters.config import DecontamConfig
    from sciloom.filters.decontamination import CONTAMINATED_PREFIX, index_for

    config = DecontamConfig()
    items = load_benchmarks(config.benchmarks, config.builtin)
    index = index_for(items, config)
    out = {}
    texts = [f"{p.question}\n{p.solution}" for p in problems]
    for i, match in enumerate(index.lookup_batch(texts)):
        hit = match.items
        if hit:
            out[i] = CONTAMINATED_PREFIX + items[min(hit)].benchmark
    return out
