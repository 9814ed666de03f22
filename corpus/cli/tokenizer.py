"""`sciloom tokenizer train|extend|inspect`: build the corpus tokenizer and look at how it splits."""

from __future__ import annotations

import argparse

from sciloom.corpus.cli.stage_args import add_output_guard_arguments


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tokenizer", help="train, extend or inspect the SentencePiece tokenizer")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    t = actions.add_parser("train", help="train a SentencePiece model on a sample of shards")
    t.add_argument("inputs", nargs="+", metavar="INPUT", help="shards, folders or stage folders")
    t.add_argument("--out", required=True, help="output folder (tokenizer.model, tokenizer.meta.json)")
    t.add_argument("--vocab-size", type=int, default=32000, help="pieces (default 32000; soft limit)")
    t.add_argument("--model-type", choices=("bpe", "unigram"), default="bpe", help="default bpe")
    t.add_argument("--sample-bytes", type=int, default=256 * 1024 * 1024, help="text bytes to train on")
    t.add_argument("--seed", type=int, default=0, help="seed of the sample and the trainer")
    t.add_argument("--threads", type=int, default=0, help="trainer threads (default: all cores)")
    t.add_argument("--math-boundary-tokens", action="store_true", help="also reserve formula-boundary tokens")
    add_output_guard_arguments(t)  # --out is the tokenizer stage's folder: claimed and locked
    t.set_defaults(func=run_train)

    e = actions.add_parser("extend", help="add the markup tokens to an existing model, keeping old ids")
    e.add_argument("base", metavar="BASE", help="SentencePiece .model or Hugging Face tokenizer.json")
    e.add_argument("--out", required=True, help="output folder")
    e.add_argument(
        "--token", action="append", default=None, help="a token to add (repeatable; default: registry)"
    )
    e.add_argument("--math-boundary-tokens", action="store_true", help="also add formula-boundary tokens")
    e.set_defaults(func=run_extend)

    i = actions.add_parser("inspect", help="show how a text splits, and fertility per source")
    i.add_argument("model", metavar="MODEL", help="tokenizer.model")
    i.add_argument("text", nargs="?", default=None, help="text to split (default: a LaTeX/markup sample)")
    i.add_argument("--stage", default=None, help="stage folder or shards: fertility per source")
    i.add_argument("--max-docs", type=int, default=1000, help="documents per source for fertility")
    i.add_argument("--json", action="store_true", help="print JSON instead of tables")
    i.set_defaults(func=run_inspect)


def run_train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sciloom.corpus.inputs import resolve_inputs
    from sciloom.corpus.shards import is_shard_file
    from sciloom.tokenizer.config import TokenizerConfig
    from sciloom.tokenizer.metadata import read_metadata
    from sciloom.tokenizer.train import train_tokenizer

    config = TokenizerConfig(
        vocab_size=args.vocab_size,
        model_type=args.model_type,
        sample_bytes=args.sample_bytes,
        seed=args.seed,
        num_threads=args.threads,
        math_boundary_tokens=args.math_boundary_tokens,
    )
    model = train_tokenizer(resolve_inputs(args.inputs, accept=is_shard_file), config, Path(args.out))
    meta = read_metadata(model) or {}
    sample = meta.get("sample", {})
    print(
        f"{model}: {meta.get('vocab_size')} pieces (asked {config.vocab_size}), trained on "
        f"{sample.get('bytes', 0):,} bytes of {sample.get('documents', 0):,} documents; sha256 {meta.get('sha256')}"
    )
    return 0


def run_extend(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sciloom.tokenizer.extend import extend_tokenizer
    from sciloom.tokenizer.metadata import read_metadata
    from sciloom.tokenizer.symbols import markup_symbols

    tokens = args.token if args.token else markup_symbols(args.math_boundary_tokens)
    model = extend_tokenizer(Path(args.base), Path(args.out), tokens=tokens)
    meta = read_metadata(model) or {}
    added = meta.get("added_ids", {})
    print(
        f"{model}: {meta.get('base', {}).get('vocab_size')} -> {meta.get('vocab_size')} ids, {len(added)} added"
    )
    for tok, i in added.items():
        print(f"  {i:>8}  {tok}")
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console
    from rich.table import Table

    from sciloom.corpus.inputs import resolve_inputs
    from sciloom.corpus.shards import is_shard_file
    from sciloom.tokenizer.encode import load_encoder
    from sciloom.tokenizer.inspection import SAMPLE_TEXT, fertility_of_files, split_text

    encoder = load_encoder(args.model)
    text = SAMPLE_TEXT if args.text is None else args.text
    pieces = split_text(encoder, text)
    per_source = {}
    if args.stage:
        files = resolve_inputs([args.stage], accept=is_shard_file)
        per_source = fertility_of_files(args.model, files, args.max_docs)
    if args.json:
        report = {
            "text": text,
            "pieces": [{"id": i, "piece": p} for i, p in pieces],
            "round_trip": encoder.decode([i for i, _ in pieces]) == text,
            "fertility": {s: f.to_dict() for s, f in per_source.items()},
        }
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    console = Console()
    console.print(f"{len(pieces)} tokens for {len(text.encode())} bytes, {len(text.split())} words:")
    # One piece per cell, whitespace made visible, so splits of LaTeX, digits and markup show.
    visible = {"\n": "\\n", "\t": "\\t"}
    shown = " ".join("[" + "".join(visible.get(c, c) for c in p) + "]" for _, p in pieces)
    console.print(shown, markup=False, highlight=False)
    if per_source:
        table = Table(title="fertility per source")
        for col in ("source", "documents", "words", "bytes", "tokens", "tokens/word", "tokens/byte"):
            table.add_column(col, justify="left" if col == "source" else "right")
        for source, f in per_source.items():
            table.add_row(
                source,
                f"{f.documents:,}",
                f"{f.words:,}",
                f"{f.bytes:,}",
                f"{f.tokens:,}",
                f"{f.tokens_per_word:.3f}",
                f"{f.tokens_per_byte:.3f}",
            )
        console.print(table)
    return 0
