"""`sciloom decontam INPUT... --out OUT [--benchmark FILE.jsonl ...]`: remove benchmark test text."""

from __future__ import annotations

import argparse

from sciloom.corpus.cli.stage_args import add_stage_arguments, stage_run


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "decontam", help="drop/mask documents sharing 13-grams with GSM8K/MATH test (and --benchmark) items"
    )
    add_stage_arguments(p)
    p.add_argument(
        "--benchmark",
        action="append",
        default=[],
        metavar="FILE.jsonl",
        help="extra benchmark JSONL (question/problem/query + answer/solution/response), repeatable",
    )
    p.add_argument("--no-builtin", action="store_true", help="do not check the shipped GSM8K/MATH test sets")
    p.add_argument(
        "--mask", action="store_true", help="mask matching paragraphs in every document, never drop"
    )
    p.add_argument("--ngram", type=int, default=13, help="n-gram size in normalised words (default 13)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sciloom.corpus.cli.extract import print_summary
    from sciloom.corpus.inputs import resolve_inputs
    from sciloom.filters.config import DecontamConfig
    from sciloom.filters.stage import run_decontam_stage

    config = DecontamConfig(
        benchmarks=list(args.benchmark),
        builtin=not args.no_builtin,
        action="mask" if args.mask else "drop",
        ngram=args.ngram,
    )
    manifest = run_decontam_stage(resolve_inputs(args.inputs), config, stage_run(args, "decontam"))
    print_summary(manifest)
    return 0
