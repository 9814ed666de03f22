"""`sciloom tokenize INPUT... --tokenizer MODEL --out OUT [--workers N]`: shards -> Megatron datasets."""

from __future__ import annotations

import argparse

from sciloom.corpus.cli.stage_args import add_stage_arguments, stage_run


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tokenize",
        help="encode shards into one Megatron .bin/.idx dataset per source",
        description="Encode documents (ids + EOD) into OUT/tokens/<source>.bin|idx, one task per shard.",
    )
    add_stage_arguments(p)
    p.add_argument(
        "--tokenizer",
        required=True,
        help="tokenizer.model (SentencePiece) or tokenizer.json (Hugging Face), or their folder",
    )
    p.add_argument(
        "--source",
        default="unknown",
        help="source name for JSONL rows without a `source` field (default unknown)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sciloom.corpus.cli.extract import print_summary
    from sciloom.corpus.inputs import resolve_inputs
    from sciloom.corpus.shards import is_shard_file
    from sciloom.tokenizer.stage import run_tokenize_stage

    inputs = resolve_inputs(args.inputs, accept=is_shard_file)
    manifest = run_tokenize_stage(
        inputs, Path(args.tokenizer), stage_run(args, "tokenize"), default_source=args.source
    )
    print_summary(manifest)
    info = manifest.extra["tokenize"]
    for source, d in info["datasets"].items():
        print(f"  {source}: {d['tokens']:,} tokens in {d['documents']:,} documents -> {d['prefix']}")
    print(f"  tokenizer sha256 {info['tokenizer_sha256']}")
    return 0
