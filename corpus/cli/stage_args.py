"""Arguments every stage subcommand shares (INPUT..., --out, --workers, --tasks, --seed)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sciloom.corpus.stage import StageRun


def positive_int(text: str) -> int:
    """argparse type for counts that must be at least 1 (a usage error, exit 2, otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_stage_arguments(p: argparse.ArgumentParser, inputs: bool = True) -> None:
    if inputs:
        p.add_argument(
            "inputs",
            nargs="+",
            metavar="INPUT",
            help="files, folders, globs or an earlier stage's output folder",
        )
    p.add_argument("--out", required=True, help="output stage folder (docs/, manifest.json, quarantine/)")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="worker processes that run tasks in parallel (default 1). A task reads whole input files "
        "(file i goes to task i mod TASKS), so workers beyond the number of input files sit idle: "
        "split one big file into several to use more cores",
    )
    p.add_argument(
        "--tasks",
        type=positive_int,
        default=None,
        help="number of tasks, one output shard each (default: one per input file, at most 16)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed recorded in the manifest")


def stage_run(args: argparse.Namespace, name: str) -> StageRun:
    from sciloom.corpus.inputs import is_stage_dir
    from sciloom.corpus.stage import manifest_ref

    # Earlier stage folders given as inputs are recorded, so `manifest verify` can check the chain.
    inputs = getattr(args, "inputs", None) or []
    return StageRun(
        name=name,
        out_dir=Path(args.out),
        workers=max(1, args.workers),
        tasks=args.tasks,
        seed=args.seed,
        input_manifests=[manifest_ref(p) for p in inputs if is_stage_dir(p)],
    )
