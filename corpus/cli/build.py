"""`sciloom build [RECIPE] --out OUT`: run a whole recipe (the embedded sample when none is given)."""

from __future__ import annotations

import argparse
import os
import sys

from sciloom.corpus.cli.stage_args import add_output_guard_arguments, positive_int


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="run every stage of a recipe into a build folder")
    p.add_argument(
        "recipe", nargs="?", default=None, help="recipe TOML (default: the embedded sample recipe)"
    )
    p.add_argument("--out", required=True, help="build folder (one sub-folder per stage + manifest.json)")
    p.add_argument(
        "--workers", type=positive_int, default=None, help="worker processes (default: the recipe's)"
    )
    add_output_guard_arguments(
        p,
        "rebuild even if OUT was built from another recipe (removing only what sciloom wrote), and write "
        "into an existing OUT that sciloom did not make (its entries are moved aside into "
        ".sciloom-kept-<time>/, nothing is deleted)",
    )
    p.add_argument("--executor", choices=("local", "slurm", "ray"), default="local", help="where tasks run")
    p.add_argument("--partition", default=None, help="Slurm partition")
    p.add_argument("--tasks", type=int, default=None, help="Slurm array size cap per stage")
    p.add_argument("--time", default=None, help="Slurm time limit per task, e.g. 2:00:00")
    p.add_argument("--cpus-per-task", type=int, default=1, help="Slurm CPUs per task")
    p.add_argument("--mem", default=None, help="Slurm memory per task, e.g. 4G")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from sciloom.corpus.build import BuildEvent, run_build
    from sciloom.corpus.recipe import load_recipe
    from sciloom.manifests.render import stage_line

    recipe = load_recipe(args.recipe)
    console = Console(stderr=True, quiet=args.no_progress)
    if args.no_progress:
        os.environ["SCILOOM_NO_PROGRESS"] = "1"  # no live task bars in the stages either

    def progress(event: BuildEvent) -> None:
        # One line per stage start and end; the running stage draws its own task bar (terminal only).
        if not event.finished:
            console.print(f"[{event.index}/{event.total}] {event.stage} ...", style="dim")
            return
        summary = stage_line(event.manifest) if event.manifest is not None else "done"
        console.print(
            f"[green]✓[/green] [{event.index}/{event.total}] {event.stage}: {summary} ({event.seconds:.1f} s)"
        )

    executor_factory = None
    if args.executor != "local":
        from sciloom.corpus.executors import make_executor_factory

        executor_factory = make_executor_factory(
            args.executor,
            partition=args.partition,
            time=args.time,
            cpus_per_task=args.cpus_per_task,
            mem=args.mem,
            max_array_size=args.tasks,
            job_name=f"sciloom-{recipe.build.name}",
        )
    build = run_build(
        recipe,
        args.out,
        workers=args.workers,
        executor_factory=executor_factory,
        force=args.force,
        progress=progress,
    )
    print(f"build {recipe.build.name!r} done in {build.wall_time_s:.1f} s: {args.out}", file=sys.stdout)
    return 0
