"""`sciloom status DIR`: per stage of a build (or one stage folder), tasks done/running/failed.

Read from the files the executors leave in each stage folder (datatrove's `logs/completions/`,
`logs/logs/task_*.log`, our `logs/slurm_jobs.json` and Slurm's `logs/slurm_logs/*.out`) and, for
Slurm stages, from `squeue`. For each failed task it prints the last lines of its logs, so the
reason a build stopped is on screen without hunting through folders. Exit status: 0, or 1 when
a task failed (for scripts), 2 when DIR holds no stage folder.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="tasks done / running / failed per stage of a build folder")
    p.add_argument("dir", help="a build folder (from sciloom build) or one stage folder")
    p.add_argument("--lines", type=int, default=15, help="log lines shown per failed task (default 15)")
    p.add_argument("--max-failed", type=int, default=5, help="failed tasks shown with their logs (default 5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sciloom.corpus.errors import UsageError
    from sciloom.corpus.executors import find_stage_dirs, stage_status, tail

    root = Path(args.dir)
    if not root.is_dir():
        raise UsageError(f"{root}: no such folder")
    stage_dirs = find_stage_dirs(root)
    if not stage_dirs:
        raise UsageError(f"{root}: no stage folders (nothing has run here yet)")
    statuses = [stage_status(d) for d in stage_dirs]
    out = sys.stdout
    states = ["done", "running", "pending", "failed", "not_started"]
    if any(st.count("unknown") for st in statuses):
        states.append("unknown")
    header = ("stage", "executor", "tasks", *(s.replace("_", " ") for s in states), "state")
    rows = []
    for st in statuses:
        name = str(st.dir.relative_to(root)) if st.dir != root else st.name
        rows.append((name, st.executor, st.tasks, *(st.count(s) for s in states), _state(st)))
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    left = {0, 1, len(header) - 1}
    for row in (header, *rows):
        cells = [
            str(c).ljust(w) if i in left else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))
        ]
        print("  ".join(cells).rstrip(), file=out)
    for note in dict.fromkeys(st.note for st in statuses if st.note):
        print(f"note: {note}", file=out)
    failed = [(st, t) for st in statuses for t in st.task_states if t.state == "failed"]
    for st, task in failed[: args.max_failed]:
        job = f" (slurm job {task.job})" if task.job else ""
        print(f"\nFAILED {st.name} task {task.rank}{job}", file=out)
        if not task.logs:
            print("  no log: the task never started (cancelled while pending?)", file=out)
        for log in task.logs:
            print(f"  {log}:", file=out)
            for line in tail(Path(log), args.lines):
                print(f"    {line}", file=out)
    if len(failed) > args.max_failed:
        print(f"\n... and {len(failed) - args.max_failed} more failed task(s)", file=out)
    unfinished = _unfinished_build(root, stage_dirs, statuses)
    if unfinished:
        print(f"\n{unfinished}", file=out)
    if failed or unfinished:
        print("\nrerun the same build command to redo only the unfinished tasks", file=out)
    return 1 if failed or unfinished else 0


def _unfinished_build(root, stage_dirs, statuses) -> str:
    """For a build folder: planned stages that never started, and a build that did not finish."""
    import json

    plan_file = root / "stages.json"
    if not plan_file.is_file():
        return ""
    planned = json.loads(plan_file.read_text())
    present = {d.name for d in stage_dirs}
    missing = [name for name in planned if name not in present and not (root / name).is_dir()]
    running = any(st.count("running") or st.count("pending") for st in statuses)
    try:
        finished = json.loads((root / "manifest.json").read_text()).get("kind") == "build"
    except (OSError, ValueError):
        finished = False
    if finished or running:
        return ""
    lines = ["BUILD NOT FINISHED: no build manifest (the build stopped before its last stage)"]
    if missing:
        lines.append("never started: " + ", ".join(missing))
    return "\n".join(lines)


def _state(st) -> str:
    if (st.dir / "manifest.json").is_file() and st.count("done") == st.tasks:
        return "complete"
    if st.count("running") or st.count("pending"):
        return "running"
    if st.count("failed"):
        return "failed"
    if st.count("done") == st.tasks:
        return "no manifest"  # being collected now, or the driver stopped before writing it
    return "incomplete"
