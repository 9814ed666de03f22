"""`sciloom extract arxiv|web INPUT... --out OUT`: turn raw sources into a stage folder."""

from __future__ import annotations

import argparse

from sciloom.corpus.cli.stage_args import add_stage_arguments, stage_run


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="extract documents from arXiv sources or web pages")
    kinds = p.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    a = kinds.add_parser("arxiv", help="arXiv LaTeX submissions (.tar.gz, .gz, .tar, .tex, bulk tars)")
    add_stage_arguments(a)
    a.add_argument("--source", default="arxiv", help="source name recorded in each document")
    a.add_argument(
        "--drop-bibliography", action="store_true", help="drop the bibliography instead of keeping it"
    )
    a.set_defaults(func=run_arxiv)
    w = kinds.add_parser("web", help="HTML files/folders and WARC(.gz) files")
    add_stage_arguments(w)
    w.add_argument("--source", default="web", help="source name recorded in each document")
    w.add_argument(
        "--keep-non-math",
        action="store_true",
        help="extract every page; by default pages without any math markup are dropped unparsed",
    )
    w.set_defaults(func=run_web)


def run_arxiv(args: argparse.Namespace) -> int:
    from sciloom.corpus.arxiv.config import ArxivConfig
    from sciloom.corpus.arxiv.stage import run_arxiv_stage
    from sciloom.corpus.inputs import resolve_inputs

    config = ArxivConfig(keep_bibliography=not args.drop_bibliography)
    manifest = run_arxiv_stage(
        resolve_inputs(args.inputs), config, stage_run(args, "extract_arxiv"), source=args.source
    )
    print_summary(manifest)
    return 0


def run_web(args: argparse.Namespace) -> int:
    from sciloom.corpus.inputs import resolve_inputs
    from sciloom.corpus.web.config import WebConfig
    from sciloom.corpus.web.stage import run_web_stage

    manifest = run_web_stage(
        resolve_inputs(args.inputs),
        WebConfig(prefilter=not args.keep_non_math),
        stage_run(args, "extract_web"),
        source=args.source,
    )
    print_summary(manifest)
    return 0


def print_summary(manifest) -> None:
    from sciloom.manifests.render import print_stage_summary

    print_stage_summary(manifest)
