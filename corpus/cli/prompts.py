"""`sciloom prompts KIND INPUT... --out OUT`: problem sets -> prompt documents (a stage folder).

KIND is one of cot, pot, work, fobar, sv, rft, ingest; `sciloom prompts arith --count N --seed S
--out OUT` generates step-by-step arithmetic instead of reading inputs.
"""

from __future__ import annotations

import argparse

from sciloom.corpus.cli.stage_args import add_stage_arguments, stage_run

HELP = {
    "cot": "chain-of-thought records (question, rationale, answer)",
    "pot": "program-of-thought records; every program runs in the sandbox and must match",
    "work": "Galactica <work> traces with executed Python; kept only when the result matches",
    "fobar": "FOBAR backward questions (MetaMath): a number masked as x, the answer given",
    "sv": "self-verification questions (MetaMath): the answer stated, solve for x",
    "rft": "rejection-sampled completions: correct ones with distinct equation lists",
    "ingest": "MetaMathQA, MathInstruct (CoT+PoT) or PRM800K-style rows as prompt records",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prompts", help="build prompt data: CoT, PoT, <work> traces, FOBAR, RFT, arithmetic")
    kinds = p.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    for kind, text in HELP.items():
        k = kinds.add_parser(kind, help=text)
        add_stage_arguments(k)
        _common(k)
        k.add_argument("--layout", default="auto", help="problem layout: gsm8k, math or auto (default)")
        k.add_argument("--question-field", help="field holding the question (overrides the layout)")
        k.add_argument("--solution-field", help="field holding the worked solution")
        k.add_argument("--answer-field", help="field holding the final answer")
        k.add_argument("--variants", type=int, default=1, help="fobar/sv: masked-number variants per problem")
        k.add_argument("--timeout", type=float, default=5.0, help="sandbox time limit per program (s)")
        k.add_argument("--memory-mb", type=int, default=512, help="sandbox memory limit per program (MiB)")
        k.add_argument(
            "--unsafe-no-sandbox",
            action="store_true",
            help="pot/work/ingest: where no OS sandbox (bubblewrap + seccomp) exists, run programs with "
            "Python-level guards only instead of refusing (docs/sandbox.md)",
        )
        k.add_argument("--format", default="auto", help="ingest: metamathqa, mathinstruct, prm800k or auto")
        k.add_argument(
            "--completion-field", default="completion", help="rft: field holding the sampled completion(s)"
        )
        k.add_argument(
            "--task", choices=("gsm8k", "math"), default="gsm8k", help="rft: how answers are compared"
        )
        k.set_defaults(func=run)
    a = kinds.add_parser("arith", help="generate MathGLM-style step-by-step arithmetic")
    add_stage_arguments(a, inputs=False)
    _common(a)
    a.add_argument("--count", type=int, default=1000, help="number of items (default 1000)")
    a.add_argument("--difficulty", choices=("easy", "medium", "hard"), default="medium")
    a.set_defaults(func=run, inputs=[])


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source", default=None, help="source name recorded in each document (default prompts_KIND)"
    )


def run(args: argparse.Namespace) -> int:
    from sciloom.corpus.inputs import resolve_inputs
    from sciloom.corpus.prompts.config import PromptsConfig
    from sciloom.corpus.prompts.problems import is_problem_file
    from sciloom.corpus.prompts.stage import run_prompts_stage

    if args.kind == "arith":
        config = PromptsConfig(count=args.count, difficulty=args.difficulty)
        files: list[str] = []
    elif args.kind == "rft":
        config = PromptsConfig(
            rft_question_field=args.question_field or "question",
            rft_completion_field=args.completion_field,
            rft_answer_field=args.answer_field or "answer",
            rft_task=args.task,
        )
        files = resolve_inputs(args.inputs, accept=is_problem_file)
    else:
        config = PromptsConfig(
            layout=args.layout,
            question_field=args.question_field,
            solution_field=args.solution_field,
            answer_field=args.answer_field,
            variants=args.variants,
            timeout_s=args.timeout,
            memory_mb=args.memory_mb,
            ingest_format=args.format,
            unsafe_no_sandbox=args.unsafe_no_sandbox,
        )
        files = resolve_inputs(args.inputs, accept=is_problem_file)
    manifest = run_prompts_stage(
        args.kind, files, config, stage_run(args, f"prompts_{args.kind}"), source=args.source
    )
    _summary(manifest)
    return 0


def _summary(manifest) -> None:
    t = manifest.totals
    print(
        f"{manifest.stage}: in {t.docs['in']} added {t.docs['added']} kept {t.docs['kept']} "
        f"dropped {t.docs['dropped']} quarantined {t.docs['quarantined']}"
    )
    for reason, n in sorted(t.dropped_reasons.items(), key=lambda kv: -kv[1]):
        print(f"  dropped {reason}: {n}")
    for reason, n in sorted(t.quarantined_reasons.items(), key=lambda kv: -kv[1]):
        print(f"  quarantined {reason}: {n}")
