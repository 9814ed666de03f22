"""The one `sciloom` entry point: a table of subcommands, errors mapped to exit codes.

Each subcommand lives in its own module `sciloom.corpus.cli.<module>` with two functions:
`add_parser(subparsers)` (argparse; keep imports light, import heavy libraries inside `run`) and
`run(args) -> int`. Library code raises `SciloomError`s; here they become one line on stderr and
an exit code: 0 success, 2 bad usage or recipe, 1 failure. The traceback goes to the log file
of the command's output folder (`OUT/logs/sciloom.log`) when there is one.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

# datatrove logs through loguru and re-adds a default stderr sink after every task; loguru reads
# its default level from the environment once, at import, so set it before datatrove is imported.
# Task logs still go in full to OUT/logs/logs/task_*.log.
os.environ.setdefault("LOGURU_LEVEL", "WARNING")

from sciloom.corpus.errors import SciloomError  # noqa: E402 (after LOGURU_LEVEL)
from sciloom.manifests.errors import ManifestError  # noqa: E402

# subcommand -> module under sciloom.corpus.cli
COMMANDS: dict[str, str] = {
    "build": "build",
    "status": "status",
    "extract": "extract",
    "filter": "filter",
    "dedup": "dedup",
    "decontam": "decontam",
    "prompts": "prompts",
    "synth": "synth",
    "mix": "mix",
    "tokenizer": "tokenizer",
    "tokenize": "tokenize",
    "pretrain": "pretrain",
    "eval": "eval",
    "manifest": "manifest",
}

logger = logging.getLogger("sciloom")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sciloom",
        description="Science and math pretraining corpora: extract, filter, mix, tokenize, pretrain.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMANDS.values():
        name = f"sciloom.corpus.cli.{module}"
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as err:
            # A subcommand whose module is absent from this installation is left out; any other
            # missing import inside a present module is a real error and propagates.
            if err.name != name:
                raise
            continue
        mod.add_parser(sub)
    return parser


def setup_logging(verbose: bool, out_dir: str | None) -> None:
    """Our loggers to stderr (warnings unless -v) and to OUT/logs/sciloom.log; datatrove's quiet."""
    root = logging.getLogger()
    # Close what an earlier call (tests call main() many times in one process) left open: a dropped
    # FileHandler keeps its file descriptor until garbage collection, one per call.
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if getattr(handler, "sciloom_owned", False):
            handler.close()
    root.setLevel(logging.DEBUG)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(console)
    if out_dir:
        log_dir = Path(out_dir) / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(log_dir / "sciloom.log")
        fh.sciloom_owned = True
        fh.setLevel(logging.DEBUG)
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(fh)
    quiet_datatrove(verbose)


def quiet_datatrove(verbose: bool) -> None:
    # datatrove logs through loguru at INFO to stderr for every task; keep only its warnings.
    try:
        from loguru import logger as loguru_logger

        loguru_logger.remove()
        loguru_logger.add(sys.stderr, level="DEBUG" if verbose else "WARNING")
    except ImportError:  # pragma: no cover - loguru comes with datatrove
        pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out_dir = getattr(args, "out", None)
    if out_dir and os.path.exists(out_dir) and not os.path.isdir(out_dir):
        print(f"sciloom {args.command}: error: --out {out_dir} is a file, not a folder", file=sys.stderr)
        return 2
    try:  # a stage or build folder is claimed and locked before anything is written into it
        from sciloom.corpus.cli.stage_args import hold_output

        lock = hold_output(args, list(argv) if argv is not None else None)
    except SciloomError as err:
        print(f"sciloom {args.command}: error: {err}", file=sys.stderr)
        return getattr(err, "exit_code", 1)
    setup_logging(args.verbose, out_dir)
    try:
        code = args.func(args)
        return int(code or 0)
    except (SciloomError, ManifestError) as err:
        logger.debug("%s", traceback.format_exc())
        print(f"sciloom {args.command}: error: {err}", file=sys.stderr)
        return getattr(err, "exit_code", 1)
    except KeyboardInterrupt:
        print(f"sciloom {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug or an unforeseen failure: one line here, the traceback in the log
        logger.debug("%s", traceback.format_exc())
        where = (
            f" (traceback in {Path(out_dir) / 'logs' / 'sciloom.log'})"
            if out_dir
            else " (run with -v for the traceback)"
        )
        if args.verbose:
            traceback.print_exc()
        print(f"sciloom {args.command}: error: {type(err).__name__}: {err}{where}", file=sys.stderr)
        return 1
    finally:
        if lock is not None:
            lock.release()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
