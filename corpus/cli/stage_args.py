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
    add_output_guard_arguments(p)
    p.add_argument(
        "--max-document-mb",
        type=positive_float,
        default=None,
        help="size cap of one document's text in MiB (default 10, or $SCILOOM_MAX_DOCUMENT_MB); larger "
        "documents are quarantined as document_too_large",
    )


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {value}")
    return value


def add_output_guard_arguments(p: argparse.ArgumentParser, force_help: str | None = None) -> None:
    """--force, and the mark that `main` claims and locks --out before the command runs."""
    p.add_argument(
        "--force",
        action="store_true",
        help=force_help
        or "write into an existing --out folder that sciloom did not make: its entries are moved "
        "aside into .sciloom-kept-<time>/ (nothing is deleted)",
    )
    p.set_defaults(guard_out=True)


def hold_output(args: argparse.Namespace, argv: list[str] | None = None):
    """Claim and lock `args.out` for the run of a command that writes a stage or build folder.

    Returns a `HeldOutput` (the caller releases it), or None for commands without such a folder.
    Called before anything is written into --out (the CLI log included), so a refused folder is
    left exactly as it was. `--max-document-mb` goes into the environment, so that every reader,
    in worker processes and Slurm tasks too, applies the same cap.
    """
    if not getattr(args, "guard_out", False) or not getattr(args, "out", None):
        return None
    import shlex
    import sys

    from sciloom.corpus.jsonl_reader import ENV_MAX_DOCUMENT_MB
    from sciloom.corpus.output_folder import hold_output_folder

    _refuse_out_holding_an_input(args)  # before --force could move the inputs aside
    command = shlex.join(["sciloom", *(argv if argv is not None else sys.argv[1:])])
    held = HeldOutput(hold_output_folder(args.out, command, force=getattr(args, "force", False)))
    if getattr(args, "max_document_mb", None) is not None:
        held.set_env(ENV_MAX_DOCUMENT_MB, repr(args.max_document_mb))
    return held


def _refuse_out_holding_an_input(args: argparse.Namespace) -> None:
    from sciloom.corpus.errors import UsageError

    out = Path(args.out).resolve()
    for item in [*(getattr(args, "inputs", None) or []), getattr(args, "recipe", None) or ""]:
        name, sep, rest = str(item).partition("=")
        candidates = [item] + ([rest] if sep and "/" not in name else [])  # mix's NAME=PATH
        for candidate in candidates:
            path = Path(candidate)
            if not candidate or not path.exists():
                continue
            resolved = path.resolve()
            if resolved == out or out in resolved.parents:
                raise UsageError(
                    f"--out {args.out} holds an input of this command ({item}); choose another folder"
                )


class HeldOutput:
    """The output lock of one command, and the environment it set for its run (restored after:
    tests and tools call `main` many times in one process)."""

    def __init__(self, lock) -> None:
        self.lock = lock
        self._saved: dict[str, str | None] = {}

    def set_env(self, name: str, value: str) -> None:
        import os

        self._saved.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def release(self) -> None:
        import os

        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()
        self.lock.release()


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
        force=getattr(args, "force", False),
        input_manifests=[manifest_ref(p) for p in inputs if is_stage_dir(p)],
    )
