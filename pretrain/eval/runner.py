"""The evaluation runner: few-shot generation on GSM8K/MATH, scoring, resumable JSONL results.

`run_eval(checkpoint, config, out_dir)` writes, per task, `OUT/<task>.jsonl` (one record per item,
see `metrics.score_item`) and `OUT/summary.json`; items already in a results file are skipped, so
an interrupted run continues where it stopped (a torn last line is dropped and redone). The
settings of a run are saved in `OUT/eval_config.json`, and resuming with different settings is
refused rather than mixing two runs in one file.

`score_completions(task, completions_file)` scores recorded completions (JSONL lines with `id`
and `completion`; several lines per id for maj@k) against the benchmark without a model.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sciloom.corpus.errors import InputError, RecipeError, UsageError
from sciloom.pretrain.eval.benchmarks import BenchmarkItem, load_benchmark
from sciloom.pretrain.eval.generation import SamplingConfig
from sciloom.pretrain.eval.metrics import score_items, summarize
from sciloom.pretrain.eval.prompts import MODES, build_prompt, default_shots, max_shots, stop_sequences

logger = logging.getLogger(__name__)

SUMMARY_NAME = "summary.json"
CONFIG_NAME = "eval_config.json"


@dataclass
class EvalConfig:
    """Settings of one evaluation run (`sciloom eval CHECKPOINT ...`)."""

    tasks: list[str] = field(default_factory=lambda: ["gsm8k", "math500"])
    """benchmarks to run: gsm8k, math500, math"""
    mode: str = "cot"
    """cot (chain of thought, answer extracted) or pot (program executed in the sandbox)"""
    shots: int | None = None
    """few-shot exemplars; None = the standard count (8 GSM8K, Wei et al.; 4 MATH, Minerva)"""
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    """decoding: samples per item (k), temperature, top-p, max new tokens, batch size, seed"""
    limit: int | None = None
    """evaluate only the first N items of each benchmark (smoke tests)"""
    benchmark_files: dict[str, str] = field(default_factory=dict)
    """task -> test file, overriding `benchmarks.default_benchmark_source`"""
    pot_timeout_s: float = 5.0
    """wall-clock limit per PoT program (sandbox)"""
    unsafe_no_sandbox: bool = False
    """PoT: where no OS sandbox (bubblewrap + seccomp) exists, run programs under the Python guards
    only instead of refusing (docs/sandbox.md)"""
    device: str | None = None
    """torch device; None = cuda when available, else cpu"""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise RecipeError(f"eval.mode: {self.mode!r} is not one of {', '.join(MODES)}")
        if not self.tasks:
            raise RecipeError("eval.tasks: at least one task is needed")
        for task in self.tasks:
            if task not in ("gsm8k", "math500", "math"):
                raise RecipeError(f"eval.tasks: unknown task {task!r} (known: gsm8k, math500, math)")
            if self.shots is not None and not 0 <= self.shots <= max_shots(task, self.mode):
                raise RecipeError(
                    f"eval.shots: {self.shots} is out of range for {task} {self.mode} (0..{max_shots(task, self.mode)})"
                )
        if self.limit is not None and self.limit < 1:
            raise RecipeError(f"eval.limit: must be >= 1, got {self.limit}")

    def shots_for(self, task: str) -> int:
        return default_shots(task) if self.shots is None else self.shots

    def identity(self, task: str) -> dict:
        """The settings that must match for results to be resumed."""
        s = self.sampling
        return {
            "task": task,
            "mode": self.mode,
            "shots": self.shots_for(task),
            "num_samples": s.num_samples,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_new_tokens": s.max_new_tokens,
            "seed": s.seed,
        }


def run_eval(
    checkpoint: str | os.PathLike,
    config: EvalConfig,
    out_dir: str | os.PathLike,
    *,
    generator=None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, dict]:
    """Evaluate `checkpoint` on `config.tasks`; returns {task: summary} and writes OUT/."""
    from sciloom.pretrain.eval.generation import Generator

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _check_resume_config(out, checkpoint, config)
    sandbox = _sandbox(config.mode, config.unsafe_no_sandbox)  # refuses before the model loads
    if generator is None:
        generator = Generator(checkpoint, device=config.device)
    summaries = {}
    for task in config.tasks:
        items = load_benchmark(task, config.benchmark_files.get(task))
        if config.limit is not None:
            items = items[: config.limit]
        results_path = out / f"{task}.jsonl"
        done = read_results(results_path)
        todo = [item for item in items if item.id not in done]
        logger.info("%s: %d items, %d already done", task, len(items), len(items) - len(todo))
        _evaluate_items(generator, task, todo, config, results_path, progress, total=len(items))
        records = read_results(results_path)
        wanted = {item.id for item in items}
        summaries[task] = (
            summarize([r for r in records.values() if r["id"] in wanted], task, mode=config.mode) | sandbox
        )
    _write_summary(out, summaries)
    return summaries


def _evaluate_items(generator, task, items, config, results_path, progress, total) -> None:
    shots = config.shots_for(task)
    stop = stop_sequences(task, config.mode)
    chunk = max(1, config.sampling.batch_size // config.sampling.num_samples)
    done = total - len(items)
    with open(results_path, "a", encoding="utf-8") as fh:
        for start in range(0, len(items), chunk):
            batch = items[start : start + chunk]
            prompts = [build_prompt(task, item.question, shots, config.mode) for item in batch]
            # the seed follows the item's position so a resumed run samples what a full run would
            sampling = _reseeded(config.sampling, done + start)
            completions = generator.generate(prompts, sampling, stop)
            records = score_items(
                task,
                list(zip(batch, completions)),
                mode=config.mode,
                pot_timeout_s=config.pot_timeout_s,
                unsafe_no_sandbox=config.unsafe_no_sandbox,
            )
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            fh.flush()
            if progress:
                progress(task, done + start + len(batch), total)


def _reseeded(sampling: SamplingConfig, offset: int) -> SamplingConfig:
    return SamplingConfig(**{**asdict(sampling), "seed": sampling.seed + offset})


def read_results(path: str | os.PathLike) -> dict[str, dict]:
    """Records of a results file by id; a torn last line (interrupted write) is removed from the file."""
    path = Path(path)
    if not path.is_file():
        return {}
    records: dict[str, dict] = {}
    good_bytes = 0
    with open(path, "rb") as fh:
        for raw in fh:
            try:
                record = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                break
            if not raw.endswith(b"\n"):
                break
            records[str(record["id"])] = record
            good_bytes += len(raw)
    if good_bytes != path.stat().st_size:
        logger.warning("%s: dropping a torn record at byte %d", path, good_bytes)
        with open(path, "r+b") as fh:
            fh.truncate(good_bytes)
    return records


def _check_resume_config(out: Path, checkpoint, config: EvalConfig) -> None:
    path = out / CONFIG_NAME
    current = {task: config.identity(task) for task in config.tasks}
    saved = json.loads(path.read_text()) if path.is_file() else {"tasks": {}}
    for task, identity in current.items():
        old = saved["tasks"].get(task)
        if old is not None and old != identity and (out / f"{task}.jsonl").is_file():
            diff = sorted(k for k in identity if old.get(k) != identity[k])
            raise RecipeError(
                f"{out / f'{task}.jsonl'} was made with different settings ({', '.join(diff)}); "
                "use another --out or remove the file"
            )
    saved["tasks"].update(current)
    saved["checkpoint"] = str(checkpoint)
    path.write_text(json.dumps(saved, indent=2) + "\n")


def _sandbox(mode: str, unsafe_no_sandbox: bool) -> dict:
    """{"sandbox": isolation} for PoT summaries (programs run), {} for CoT; refuses without a sandbox
    unless `unsafe_no_sandbox`."""
    if mode != "pot":
        return {}
    from sciloom.corpus.sandbox import sandbox_isolation

    return {"sandbox": sandbox_isolation(unsafe_no_sandbox=unsafe_no_sandbox)}


def _write_summary(out: Path, summaries: dict[str, dict]) -> None:
    path = out / SUMMARY_NAME
    existing = json.loads(path.read_text()) if path.is_file() else {}
    existing.update(summaries)
    path.write_text(json.dumps(existing, indent=2) + "\n")


# ---------------------------------------------------------------------------------------------
# Recorded completions


def read_completions(path: str | os.PathLike) -> dict[str, list[str]]:
    """id -> completions in file order, from JSONL lines with `id` and `completion`."""
    grouped: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError("bad_json_line", f"line {lineno}: {err}", path=str(path)) from err
            if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("completion"), str):
                raise InputError(
                    "bad_completion_line",
                    f"line {lineno}: needs 'id' and a string 'completion'",
                    path=str(path),
                )
            grouped.setdefault(str(row["id"]), []).append(row["completion"])
    return grouped


def score_completions(
    task: str,
    completions_path: str | os.PathLike,
    *,
    benchmark_file: str | os.PathLike | None = None,
    mode: str = "cot",
    out_dir: str | os.PathLike | None = None,
    pot_timeout_s: float = 5.0,
    unsafe_no_sandbox: bool = False,
) -> dict:
    """Score recorded completions of `task`; returns the summary (and writes OUT/ when given).

    Only the items that have completions are scored (n = their number); an id that is not in the
    benchmark is a usage error naming it.
    """
    if not Path(completions_path).is_file():
        raise UsageError(f"{completions_path}: completions file not found")
    items: dict[str, BenchmarkItem] = {item.id: item for item in load_benchmark(task, benchmark_file)}
    grouped = read_completions(completions_path)
    unknown = [i for i in grouped if i not in items]
    if unknown:
        raise UsageError(
            f"{completions_path}: {len(unknown)} ids are not in the {task} benchmark (first: {unknown[0]!r}); "
            "ids are the item's unique_id, else its 0-based line number"
        )
    sandbox = _sandbox(mode, unsafe_no_sandbox)
    records = score_items(
        task,
        [(items[i], samples) for i, samples in grouped.items()],
        mode=mode,
        pot_timeout_s=pot_timeout_s,
        unsafe_no_sandbox=unsafe_no_sandbox,
    )
    summary = summarize(records, task, mode=mode) | sandbox
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / f"{task}.jsonl", "w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        _write_summary(out, {task: summary})
    return summary
