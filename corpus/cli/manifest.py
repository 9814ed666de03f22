"""`sciloom manifest show|diff|report|verify`: inspect what a build kept and dropped."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("manifest", help="inspect, compare, plot and verify build manifests")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    show = verbs.add_parser("show", help="per-stage, per-source table of counts and drop reasons")
    show.add_argument("dir", help="build folder or stage folder")
    show.add_argument("--json", action="store_true", help="print the same data as JSON")
    show.set_defaults(func=run_show)
    d = verbs.add_parser("diff", help="what changed between two builds")
    d.add_argument("a")
    d.add_argument("b")
    d.add_argument("--json", action="store_true", help="print the diff as JSON")
    d.set_defaults(func=run_diff)
    r = verbs.add_parser("report", help="self-contained HTML report with plots and sample documents")
    r.add_argument("dir")
    r.add_argument("--out", required=True, dest="report_out", help="HTML file to write")
    r.set_defaults(func=run_report)
    v = verbs.add_parser("verify", help="re-hash shards and re-check every stage's ledger and inputs")
    v.add_argument("dir")
    v.set_defaults(func=run_verify)


def run_show(args: argparse.Namespace) -> int:
    from sciloom.manifests.render import render_show, summary

    data = summary(args.dir)
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        render_show(data)
    return 0


def run_diff(args: argparse.Namespace) -> int:
    from sciloom.manifests.compare import diff, render_diff

    d = diff(args.a, args.b)
    if args.json:
        print(json.dumps(d, indent=2, default=str))
    else:
        render_diff(d)
    return 0


def run_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sciloom.corpus.errors import UsageError
    from sciloom.manifests.report import write_report

    if Path(args.report_out).is_dir():
        raise UsageError(
            f"--out {args.report_out} is a folder; give the HTML file to write, e.g. report.html"
        )
    path = write_report(args.dir, args.report_out)
    print(f"report written to {path}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from sciloom.manifests.verify import verify

    problems = verify(args.dir)
    for p in problems:
        print(f"FAIL {p}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found in {args.dir}", file=sys.stderr)
        return 1
    print(f"verified {args.dir}: shards, ledgers and stage inputs are consistent")
    return 0
