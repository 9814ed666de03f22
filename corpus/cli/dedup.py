"""`sciloom dedup INPUT... --out OUT [--mode local|datatrove|incremental --index DIR]`."""

from __future__ import annotations

import argparse

from sciloom.corpus.cli.stage_args import add_stage_arguments, stage_run


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dedup", help="remove exact and MinHash near-duplicate documents")
    add_stage_arguments(p)
    p.add_argument(
        "--mode",
        choices=("local", "datatrove", "incremental"),
        default="local",
        help="local: numpy on this machine (default); datatrove: its 4-stage MinHash pipeline; "
        "incremental: datasketch LSH against --index",
    )
    p.add_argument("--index", metavar="DIR", help="incremental mode: an earlier dedup stage folder")
    p.add_argument("--bands", type=int, default=16, help="LSH bands (default 16)")
    p.add_argument("--rows", type=int, default=8, help="rows per band (default 8; bands x rows hashes)")
    p.add_argument("--threshold", type=float, default=0.7, help="verification: min signature similarity")
    p.add_argument("--no-exact", action="store_true", help="skip the exact-duplicate pass")
    p.add_argument("--paragraphs", action="store_true", help="also remove boilerplate paragraphs")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sciloom.corpus.cli.extract import print_summary
    from sciloom.corpus.inputs import resolve_inputs
    from sciloom.filters.config import DedupConfig
    from sciloom.filters.stage import run_dedup_stage

    config = DedupConfig(
        mode=args.mode,
        index=args.index,
        num_bands=args.bands,
        rows_per_band=args.rows,
        threshold=args.threshold,
        exact=not args.no_exact,
        paragraph_dedup=args.paragraphs,
        seed=1,
    )
    manifest = run_dedup_stage(resolve_inputs(args.inputs), config, stage_run(args, "dedup"))
    print_summary(manifest)
    return 0
