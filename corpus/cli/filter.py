"""`sciloom filter INPUT... --out OUT`: language id and math-aware quality rules."""

from __future__ import annotations

import argparse

from sciloom.corpus.cli.stage_args import add_stage_arguments, stage_run


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "filter", help="keep documents in the recipe's languages that pass math-aware quality rules"
    )
    add_stage_arguments(p)
    p.add_argument(
        "--language",
        action="append",
        dest="languages",
        metavar="CODE",
        help="language to keep (ISO 639-1, repeatable; default: en)",
    )
    p.add_argument(
        "--arxiv-source",
        action="append",
        dest="arxiv_sources",
        metavar="NAME",
        help="source name (or prefix) that gets the light arXiv rules (repeatable; default: arxiv)",
    )
    p.add_argument("--no-require-math", action="store_true", help="keep web pages without any math")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sciloom.corpus.cli.extract import print_summary
    from sciloom.corpus.inputs import resolve_inputs
    from sciloom.filters.config import FilterConfig
    from sciloom.filters.stage import run_filter_stage

    kwargs = {}
    if args.languages:
        kwargs["languages"] = args.languages
    if args.arxiv_sources:
        kwargs["arxiv_sources"] = args.arxiv_sources
    if args.no_require_math:
        kwargs["require_math_web"] = False
    manifest = run_filter_stage(
        resolve_inputs(args.inputs), FilterConfig(**kwargs), stage_run(args, "filter")
    )
    print_summary(manifest)
    return 0
