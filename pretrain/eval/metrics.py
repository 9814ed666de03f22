"""Scoring: one record per item from its sampled completions, and the summary of a results file.

An item record (one JSONL line) holds every sample with its extracted answer and correctness, the
majority answer over all samples and whether it is correct. The summary reports, over items:

- `accuracy`: the first sample of each item is correct (greedy accuracy when sampling is off);
- `maj@k`: the majority answer of the first k samples is correct (self-consistency, Wang et al.
  2023; ties broken as in `sciloom.corpus.answers.majority_vote`);
- `pass@k`: the unbiased estimator of Chen et al. 2021 (`1 - C(n-c, k) / C(n, k)`) from the n
  samples of each item, c of them correct;

with k the smallest number of samples any item has; both are reported only when k > 1, under
`maj@k`/`pass@k` and under their numbered names (`maj@4`). MATH summaries also break accuracy
down by subject and level (`by_subject`, `by_level`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from sciloom.corpus.answers import extract_answer, is_equivalent, majority_vote
from sciloom.pretrain.eval.benchmarks import BenchmarkItem
from sciloom.pretrain.eval.pot import ProgramRun, run_programs
from sciloom.pretrain.eval.prompts import POT

# item fields copied into records and broken down in summaries (MATH: subject and level 1-5)
BREAKDOWN_FIELDS = ("subject", "level")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn from n (c correct) is correct."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod((n - c - i) / (n - i) for i in range(k))


def score_item(
    task: str,
    item_id: str,
    reference: str,
    completions: Sequence[str],
    *,
    mode: str = "cot",
    pot_timeout_s: float = 5.0,
    runs: Sequence[ProgramRun] | None = None,
    extra: dict | None = None,
    unsafe_no_sandbox: bool = False,
) -> dict:
    """The results record of one item. PoT completions are executed in the sandbox (or their
    `runs` are given, see `score_items`); `extra` (subject, level) is copied into the record."""
    if mode == POT and runs is None:
        runs = run_programs(completions, timeout_s=pot_timeout_s, unsafe_no_sandbox=unsafe_no_sandbox)
    samples = []
    for i, completion in enumerate(completions):
        sample: dict = {"completion": completion}
        if mode == POT:
            sample["stdout"] = runs[i].stdout
            sample["program_error"] = runs[i].error
            answer = runs[i].answer
        else:
            answer = extract_answer(completion, task)
        sample["answer"] = answer
        sample["correct"] = is_equivalent(answer, reference, task)
        samples.append(sample)
    majority = majority_vote([s["answer"] for s in samples], task)
    record = {
        "task": task,
        "id": str(item_id),
        "reference": reference,
        "num_samples": len(samples),
        "num_correct": sum(s["correct"] for s in samples),
        "majority": majority,
        "majority_correct": is_equivalent(majority, reference, task),
        "samples": samples,
    }
    if extra:
        record.update(extra)
    return record


def score_items(
    task: str,
    entries: Sequence[tuple[BenchmarkItem, Sequence[str]]],
    *,
    mode: str = "cot",
    pot_timeout_s: float = 5.0,
    unsafe_no_sandbox: bool = False,
) -> list[dict]:
    """Records for (item, completions) pairs; PoT programs of all of them run concurrently."""
    runs_by_entry: list[Sequence[ProgramRun] | None] = [None] * len(entries)
    if mode == POT:
        flat = [c for _, completions in entries for c in completions]
        runs = iter(run_programs(flat, timeout_s=pot_timeout_s, unsafe_no_sandbox=unsafe_no_sandbox))
        runs_by_entry = [[next(runs) for _ in completions] for _, completions in entries]
    return [
        score_item(
            task,
            item.id,
            item.answer,
            completions,
            mode=mode,
            pot_timeout_s=pot_timeout_s,
            runs=runs,
            extra={k: item.meta[k] for k in BREAKDOWN_FIELDS if k in item.meta},
        )
        for (item, completions), runs in zip(entries, runs_by_entry)
    ]


def summarize(records: Sequence[dict], task: str, *, mode: str = "cot") -> dict:
    """Summary of item records (see the module docstring); `n` = number of items."""
    n = len(records)
    summary: dict = {"task": task, "mode": mode, "n": n}
    if n == 0:
        summary.update(accuracy=0.0, k=0, answered=0.0)
        return summary
    k = min(r["num_samples"] for r in records)
    summary["k"] = k
    summary["accuracy"] = _mean(records, lambda r: r["samples"][0]["correct"])
    summary["answered"] = _mean(records, lambda r: r["samples"][0]["answer"] is not None)
    if k > 1:
        maj = _mean(records, lambda r: _majority_correct(r, task, k))
        pak = sum(pass_at_k(r["num_samples"], r["num_correct"], k) for r in records) / n
        summary.update({"maj@k": maj, "pass@k": pak, f"maj@{k}": maj, f"pass@{k}": pak})
    for name in BREAKDOWN_FIELDS:
        groups: dict[str, list[dict]] = {}
        for r in records:
            if name in r:
                groups.setdefault(str(r[name]), []).append(r)
        if groups:
            summary[f"by_{name}"] = {
                value: {"n": len(rs), "accuracy": _mean(rs, lambda r: r["samples"][0]["correct"])}
                for value, rs in sorted(groups.items())
            }
    return summary


def _majority_correct(record: dict, task: str, k: int) -> bool:
    if record["num_samples"] == k:
        return bool(record["majority_correct"])
    vote = majority_vote([s["answer"] for s in record["samples"][:k]], task)
    return is_equivalent(vote, record["reference"], task)


def _mean(records: Sequence[dict], value: Callable[[dict], bool]) -> float:
    return sum(bool(value(r)) for r in records) / len(records)


def format_summary(summaries: Sequence[dict]) -> str:
    """A plain-text table, one row per task."""
    header = ["task", "mode", "n", "k", "accuracy", "maj@k", "pass@k", "answered"]
    rows = [header]
    for s in summaries:
        rows.append(
            [
                s["task"],
                s.get("mode", ""),
                str(s["n"]),
                str(s.get("k", "")),
                _pct(s.get("accuracy")),
                _pct(s.get("maj@k")),
                _pct(s.get("pass@k")),
                _pct(s.get("answered")),
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"
