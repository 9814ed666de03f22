"""`sciloom mix INPUT... --out OUT --preset minerva`: mix sources at token shares into one stream.

Each INPUT is `NAME=PATH` (PATH a stage folder, file, folder or glob) or a PATH whose name
(folder or file stem) is the source name. Settings come from a recipe's `[mix]` table
(`--recipe`) and the options, which override its keys (`--weight NAME=W`, `--preset`, ...).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sciloom.corpus.cli.stage_args import add_stage_arguments, stage_run


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "mix", help="mix sources by token weights with epochs; shuffled; blend in the manifest"
    )
    add_stage_arguments(p)
    p.add_argument("--preset", choices=("galactica", "minerva"), help="default weights (docs/mix.md)")
    p.add_argument("--weight", action="append", default=[], metavar="NAME=W", help="token weight of a source")
    p.add_argument(
        "--max-epochs",
        action="append",
        default=[],
        metavar="NAME=E",
        help="most passes over a source (default 1)",
    )
    p.add_argument(
        "--total-tokens", type=int, help="mix size in tokens (default: largest within the epoch caps)"
    )
    p.add_argument("--prompt-fraction", type=float, help="token share of all prompt sources together")
    p.add_argument(
        "--prompt-source", action="append", default=None, metavar="NAME", help="a prompt-data source"
    )
    p.add_argument("--missing-sources", choices=("error", "renormalize"), default=None)
    p.add_argument("--docs-per-shard", type=int, default=None, help="output shard size (documents)")
    p.add_argument(
        "--recipe",
        metavar="TOML",
        help="take the [mix] table of a recipe (or of any TOML file); the options above override its keys",
    )
    p.add_argument(
        "--tokenizer-model", help="SentencePiece .model for token counts (default: bytes/4 estimate)"
    )
    p.set_defaults(func=run)


def _pairs(items: list[str], what: str) -> dict[str, float]:
    from sciloom.corpus.errors import UsageError

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out[name] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name:
            raise UsageError(f"--{what} {item!r}: expected NAME=NUMBER")
    return out


def inputs_by_source(inputs: list[str]) -> dict[str, list[str]]:
    from sciloom.corpus.inputs import resolve_inputs
    from sciloom.corpus.shards import is_shard_file

    out: dict[str, list[str]] = {}
    for item in inputs:
        name, sep, path = item.partition("=")
        if not sep:
            path = item
            p = Path(item.rstrip("/"))
            name = p.name.split(".")[0] if p.is_file() else p.name
        out.setdefault(name, []).extend(resolve_inputs([path], accept=is_shard_file))
    return out


def _recipe_mix_table(path: str) -> dict:
    import tomllib

    from sciloom.corpus.errors import UsageError

    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise UsageError(f"--recipe {path}: {err}") from err
    table = data.get("mix")
    if not isinstance(table, dict):
        raise UsageError(f"--recipe {path}: no [mix] table")
    return dict(table)


def run(args: argparse.Namespace) -> int:
    from sciloom.corpus.mix.config import MixConfig
    from sciloom.corpus.mix.stage import run_mix_stage
    from sciloom.corpus.strict_config import config_from_dict

    table = _recipe_mix_table(args.recipe) if args.recipe else {}
    overrides = {
        "preset": args.preset,
        "total_tokens": args.total_tokens,
        "prompt_fraction": args.prompt_fraction,
        "prompt_sources": args.prompt_source,
        "missing_sources": args.missing_sources,
        "docs_per_shard": args.docs_per_shard,
    }
    table.update({k: v for k, v in overrides.items() if v is not None})
    for key, items, flag in (
        ("weights", args.weight, "weight"),
        ("max_epochs", args.max_epochs, "max-epochs"),
    ):
        if items:
            table[key] = {**table.get(key, {}), **_pairs(items, flag)}
    table.setdefault("seed", args.seed)
    config = config_from_dict(MixConfig, table, "mix")
    manifest = run_mix_stage(
        inputs_by_source(args.inputs), config, stage_run(args, "mix"), args.tokenizer_model
    )
    mix = manifest.extra["mix"]
    print(f"mix: {mix['total_docs']} documents, {mix['total_tokens']} tokens ({mix['token_counter']})")
    for name, s in mix["sources"].items():
        print(
            f"  {name}: target {s['target_token_share']:.2%} realised {s['realised_token_share']:.2%} "
            f"of tokens, {s['realised_docs']}/{s['available_docs']} docs, {s['epochs']:.2f} epochs"
        )
    print(f"  blend: {manifest.extra['blend']['data_path']}")
    return 0
