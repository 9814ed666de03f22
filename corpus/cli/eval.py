"""`sciloom eval`: math benchmarks for a checkpoint, scoring of recorded completions, perplexity.

sciloom eval CHECKPOINT --tasks gsm8k,math500 [--shots N] [--samples K] [--mode cot|pot] --out DIR
sciloom eval --task gsm8k --completions FILE.jsonl [--benchmark-file F] [--json] [--out DIR]
sciloom eval CHECKPOINT --perplexity STAGE_DIR... [--max-docs N] [--seq-len L] [--out DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="GSM8K/MATH accuracy (CoT, PoT, maj@k) of a checkpoint or of recorded completions; perplexity",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", nargs="?", metavar="CHECKPOINT", help="Hugging Face-format model folder")
    p.add_argument(
        "--tasks",
        default=None,
        help="comma-separated benchmarks: gsm8k, math500, math (default gsm8k,math500)",
    )
    p.add_argument(
        "--task", default=None, help="the benchmark of --completions (same as --tasks with one task)"
    )
    p.add_argument(
        "--mode",
        choices=["cot", "pot"],
        default="cot",
        help="chain of thought, or program of thought run in the sandbox",
    )
    p.add_argument(
        "--shots", type=int, default=None, help="few-shot exemplars (default 8 for GSM8K, 4 for MATH)"
    )
    p.add_argument(
        "--samples", type=int, default=1, help="samples per item, k of maj@k and pass@k (default 1)"
    )
    p.add_argument(
        "--temperature", type=float, default=None, help="default 0 (greedy) for 1 sample, else 0.6"
    )
    p.add_argument("--top-p", type=float, default=None, help="default 1.0 for greedy, else 0.95")
    p.add_argument("--max-new-tokens", type=int, default=512)
    p.add_argument("--batch-size", type=int, default=8, help="sequences per forward pass")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="only the first N items of each benchmark")
    p.add_argument("--device", default=None, help="torch device (default cuda when available)")
    p.add_argument("--pot-timeout", type=float, default=5.0, help="seconds per PoT program")
    p.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="PoT: where no OS sandbox (bubblewrap + seccomp) exists, run programs with Python-level "
        "guards only instead of refusing (docs/sandbox.md)",
    )
    p.add_argument("--out", default=None, help="results folder: <task>.jsonl per task, summary.json")
    p.add_argument(
        "--completions",
        metavar="FILE.jsonl",
        default=None,
        help="score recorded completions (lines with id, completion)",
    )
    p.add_argument(
        "--benchmark-file",
        default=None,
        help="test file of the task (default: shipped or ../shared/data copy)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument(
        "--perplexity", nargs="+", metavar="STAGE_DIR", default=None, help="held-out shards: loss per source"
    )
    p.add_argument("--max-docs", type=int, default=200, help="perplexity: documents per source (default 200)")
    p.add_argument(
        "--seq-len", type=int, default=1024, help="perplexity: window length in tokens (default 1024)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sciloom.corpus.errors import UsageError

    if args.completions:
        if args.checkpoint or args.perplexity:
            raise UsageError("--completions scores recorded text: give no CHECKPOINT or --perplexity")
        return run_completions(args)
    if not args.checkpoint:
        raise UsageError("give a CHECKPOINT to evaluate, or --completions FILE.jsonl with --task")
    if args.perplexity:
        return run_perplexity(args)
    return run_generation(args)


def _tasks(args: argparse.Namespace) -> list[str]:
    from sciloom.corpus.answers import TASK_FAMILIES
    from sciloom.corpus.errors import UsageError

    raw = args.tasks or args.task or "gsm8k,math500"
    tasks = [t.strip() for t in raw.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASK_FAMILIES]
    if unknown:
        raise UsageError(f"unknown task {unknown[0]!r} (known: {', '.join(sorted(TASK_FAMILIES))})")
    return tasks


def run_completions(args: argparse.Namespace) -> int:
    from sciloom.corpus.errors import UsageError
    from sciloom.pretrain.eval.metrics import format_summary
    from sciloom.pretrain.eval.runner import score_completions

    tasks = _tasks(args) if (args.task or args.tasks) else []
    if len(tasks) != 1:
        raise UsageError("--completions needs exactly one --task (gsm8k, math500 or math)")
    summary = score_completions(
        tasks[0],
        args.completions,
        benchmark_file=args.benchmark_file,
        mode=args.mode,
        out_dir=args.out,
        pot_timeout_s=args.pot_timeout,
        unsafe_no_sandbox=args.unsafe_no_sandbox,
    )
    print(json.dumps(summary) if args.json else format_summary([summary]))
    return 0


def run_generation(args: argparse.Namespace) -> int:
    from sciloom.corpus.errors import RecipeError, UsageError
    from sciloom.pretrain.eval.generation import SamplingConfig
    from sciloom.pretrain.eval.metrics import format_summary
    from sciloom.pretrain.eval.runner import EvalConfig, run_eval

    if not args.out:
        raise UsageError("--out DIR is needed for the per-item results")
    tasks = _tasks(args)
    if args.benchmark_file and len(tasks) != 1:
        raise UsageError("--benchmark-file applies to a single task")
    greedy = args.samples == 1
    try:
        sampling = SamplingConfig(
            num_samples=args.samples,
            temperature=args.temperature if args.temperature is not None else (0.0 if greedy else 0.6),
            top_p=args.top_p if args.top_p is not None else (1.0 if greedy else 0.95),
            max_new_tokens=args.max_new_tokens,
            batch_size=args.batch_size,
            seed=args.seed,
        )
    except ValueError as err:
        raise RecipeError(str(err)) from err
    config = EvalConfig(
        tasks=tasks,
        mode=args.mode,
        shots=args.shots,
        sampling=sampling,
        limit=args.limit,
        benchmark_files={tasks[0]: args.benchmark_file} if args.benchmark_file else {},
        pot_timeout_s=args.pot_timeout,
        unsafe_no_sandbox=args.unsafe_no_sandbox,
        device=args.device,
    )
    summaries = run_eval(args.checkpoint, config, args.out, progress=_progress_printer())
    print(json.dumps(summaries) if args.json else format_summary(list(summaries.values())))
    return 0


def _progress_printer():
    def progress(task: str, done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{task}: {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    return progress


def run_perplexity(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sciloom.corpus.inputs import resolve_inputs
    from sciloom.pretrain.eval.perplexity import perplexity_by_source

    paths = resolve_inputs(
        args.perplexity, accept=lambda p: p.name.endswith((".parquet", ".jsonl", ".jsonl.gz"))
    )
    results = perplexity_by_source(
        args.checkpoint,
        paths,
        max_docs_per_source=args.max_docs,
        seq_len=args.seq_len,
        batch_size=args.batch_size,
        device=args.device,
    )
    rows = [r.to_dict() for r in results]
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "perplexity.json").write_text(json.dumps(rows, indent=2) + "\n")
    if args.json:
        print(json.dumps(rows))
    else:
        print(f"{'source':<20} {'docs':>6} {'tokens':>10} {'loss':>8} {'ppl':>10} {'bpb':>7}")
        for r in rows:
            print(
                f"{r['source']:<20} {r['documents']:>6} {r['tokens']:>10} {r['loss']:>8.4f} {r['perplexity']:>10.2f} {r['bits_per_byte']:>7.4f}"
            )
    return 0
