"""The synth stage: problem sets -> model-generated records, through the common stage runner.

`run_synth_stage(kind, inputs, config, run)` runs `[ProblemReader, SynthStep, writer]` with
`run_stage`, so manifests, quarantine, resume and `in + added = kept + dropped + quarantined`
work as for every stage. `SynthStep` parses each row into a `Problem` (a row that is not one is
quarantined with the reason), hands batches of `batch_problems` problems to the kind, and turns
the kind's candidates into documents: the first candidate of a problem is the problem's own
document, every further one is announced with `added(doc, "generated")`; each is then kept,
dropped with its reason, or quarantined (`generation_failed`, after the backend's retries).

If more than `max_failed_share` of a task's problems failed to generate, the task fails after
writing what it has, so a rerun of the stage redoes it; the request cache (`OUT/cache`) makes
the rerun pay only for what failed. `opro` needs the whole dev split at once and runs as one task.

Every kept record carries `provenance.synth`: backend, model, endpoint, the sampling parameters
and seed of each model call, the prompt-template hash and the parent problem id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import asdict, replace
from pathlib import Path

from datatrove.data import Document

from sciloom.corpus.errors import InputError, StageError, UsageError
from sciloom.corpus.prompts.problems import parse_problem
from sciloom.corpus.prompts.stage import MALFORMED_ROW, ROW, ProblemReader
from sciloom.corpus.record import copy_document, provenance_of
from sciloom.corpus.stage import StageRun, run_stage
from sciloom.corpus.step import SciloomStep
from sciloom.corpus.synth.config import KINDS, SynthConfig
from sciloom.corpus.synth.context import GENERATION_FAILED, Candidate, SynthContext
from sciloom.manifests.schema import StageManifest

logger = logging.getLogger(__name__)

GENERATED = "generated"
CACHE_DIR = "cache"
STATS_DIR = "logs/synth"  # under logs/: a rerun with other settings starts it afresh


def make_kind(kind: str, out_dir: str | Path | None = None):
    if kind == "rft":
        from sciloom.corpus.synth.kinds.rft import RftKind

        return RftKind()
    if kind == "rephrase":
        from sciloom.corpus.synth.kinds.rephrase import RephraseKind

        return RephraseKind()
    if kind in ("sv", "fobar"):
        from sciloom.corpus.synth.kinds.backward import BackwardKind

        return BackwardKind(kind)
    if kind == "augment":
        from sciloom.corpus.synth.kinds.augment import AugmentKind

        return AugmentKind()
    if kind == "evol":
        from sciloom.corpus.synth.kinds.evol import EvolKind

        return EvolKind()
    if kind == "opro":
        from sciloom.corpus.synth.kinds.opro import OproKind

        return OproKind(out_dir)
    raise UsageError(f"synth: unknown kind {kind!r} (known: {', '.join(KINDS)})")


def all_templates(kind_obj, config: SynthConfig) -> dict[str, str]:
    """The kind's own templates and the answer prompts it solves with (`shots` exemplars)."""
    from sciloom.corpus.synth.kinds.base import solve_templates

    return {**kind_obj.templates, **solve_templates(config.shots)}


class SynthStep(SciloomStep):
    """Problems -> the kind's candidates -> kept, dropped, quarantined or added documents."""

    name = "synth"

    def __init__(self, kind: str, config: SynthConfig, seed: int, out_dir: str) -> None:
        super().__init__()
        self.kind = kind
        self.config = config
        self.seed = seed
        self.out_dir = out_dir

    def _context(self, kind_obj) -> SynthContext:
        from sciloom.corpus.synth.backends import make_backend

        cache = self.config.backend.cache_dir or str(Path(self.out_dir) / CACHE_DIR)
        backend = make_backend(self.config.backend, cache)
        optimizer = None
        if self.config.optimizer is not None:
            optimizer = make_backend(self.config.optimizer, self.config.optimizer.cache_dir or cache)
        templates = all_templates(kind_obj, self.config)
        return SynthContext(self.kind, self.config, backend, self.seed, templates, optimizer)

    def process(self, data: Iterable[Document], rank: int, world_size: int) -> Iterator[Document]:
        kind_obj = make_kind(self.kind, self.out_dir)
        ctx = self._context(kind_obj)
        batch_size = 10**9 if getattr(kind_obj, "needs_all_problems", False) else self.config.batch_problems
        batch: list[tuple[Document, object]] = []
        problems = failed = 0
        try:
            for doc in data:
                problem = self._problem(doc)
                if problem is None:
                    continue
                batch.append((doc, problem))
                if len(batch) >= batch_size:
                    problems += len(batch)
                    failed += yield from self._batch(batch, kind_obj, ctx)
                    batch = []
            if batch:
                problems += len(batch)
                failed += yield from self._batch(batch, kind_obj, ctx)
        finally:
            self._write_stats(rank, ctx, problems, failed)
            ctx.backend.close()
            ctx.optimizer.close()
        if failed and failed > self.config.max_failed_share * problems:
            raise StageError(
                f"synth {self.kind}: generation failed for {failed} of {problems} problems in task {rank} "
                f"(more than max_failed_share={self.config.max_failed_share}); rerun the stage to retry them "
                "(finished requests come from the cache)"
            )

    def _problem(self, doc: Document):
        row = doc.metadata.pop(ROW, None)
        try:
            if row is None:
                raise InputError("missing_row", "document has no problem row (not read by ProblemReader)")
            problem = parse_problem(row, self.config.layout_for(row), default_id=str(doc.id))
        except InputError as err:
            self.quarantine_document(doc, err)
            return None
        except (TypeError, ValueError, AttributeError) as err:
            self.quarantine_document(doc, InputError(MALFORMED_ROW, f"{type(err).__name__}: {err}"))
            return None
        doc.metadata["problem_id"] = problem.id
        return problem

    def _batch(self, batch, kind_obj, ctx: SynthContext):
        """Yield the batch's documents; return the number of problems whose generation failed."""
        candidates = kind_obj.run([p for _, p in batch], ctx)
        failed = 0
        for (doc, problem), cands in zip(batch, candidates, strict=True):
            if any(c.error for c in cands):
                failed += 1
            cands = cands or [Candidate(error=f"{GENERATION_FAILED}: no candidate")]
            # copies first, from the problem's document as read: no candidate inherits another's
            # metadata (its answer, its drop reason)
            targets = [doc] + [
                copy_document(doc, f"{doc.id}{c.suffix or f':{n}'}") for n, c in enumerate(cands) if n
            ]
            for n, (cand, target) in enumerate(zip(cands, targets, strict=True)):
                if n == 0 and cand.suffix:
                    target.id = f"{doc.id}{cand.suffix}"
                if n > 0:
                    self.added(target, GENERATED)
                target.metadata.update({"prompt_kind": f"synth_{self.kind}", "parent_problem_id": problem.id})
                target.metadata.update({k: v for k, v in cand.metadata.items() if k != "question"})
                if "question" in cand.metadata:
                    target.metadata["generated_question"] = cand.metadata["question"]
                prov = provenance_of(target)
                prov["synth"] = ctx.provenance(problem, cand)
                target.metadata["provenance"] = prov
                if cand.error:
                    reason, _, detail = cand.error.partition(": ")
                    self.quarantine_document(target, InputError(reason or GENERATION_FAILED, detail))
                elif cand.text is None:
                    self.drop(target, cand.reason or "rejected")
                else:
                    target.text = cand.text
                    yield target
        return failed

    def _write_stats(self, rank: int, ctx: SynthContext, problems: int, failed: int) -> None:
        folder = Path(self.out_dir) / STATS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        backends = {"backend": ctx.backend}
        if ctx.optimizer is not ctx.backend:
            backends["optimizer"] = ctx.optimizer
        stats = {
            "problems": problems,
            "failed_problems": failed,
            **{
                name: {
                    "requests_sent": b.requests_sent,
                    "cache_hits": b.cache.hits,
                    "retries": getattr(b, "retries", 0),
                    "tokens_generated": b.tokens_generated,
                }
                for name, b in backends.items()
            },
        }
        (folder / f"{rank:05d}.json").write_text(json.dumps(stats) + "\n")


def synth_extra(kind: str, config: SynthConfig, out_dir: Path, seed: int) -> dict:
    """The manifest's `extra.synth` (and `extra.opro` for opro): parameters, templates, backend use."""
    kind_obj = make_kind(kind)
    from sciloom.corpus.synth.context import template_hash

    params_ctx = SynthContext(
        kind,
        config,
        _Identity(config.backend),
        seed,
        all_templates(kind_obj, config),
        _Identity(config.optimizer_backend),
    )
    usage: dict = {}
    for path in sorted((out_dir / STATS_DIR).glob("*.json")):
        for key, value in json.loads(path.read_text()).items():
            if isinstance(value, dict):
                slot = usage.setdefault(key, {})
                for k, v in value.items():
                    slot[k] = slot.get(k, 0) + v
            else:
                usage[key] = usage.get(key, 0) + value
    config_dict = asdict(config)
    extra = {
        "synth": {
            "kind": kind,
            "backend": config.backend.identity(),
            "parameters": kind_obj.parameters(params_ctx),
            "sampling": {
                "temperature": config.temperature,
                "top_p": config.top_p,
                "max_tokens": config.max_tokens,
            },
            "seed": seed,
            "prompt_template_sha256": template_hash(all_templates(kind_obj, config)),
            "templates": all_templates(kind_obj, config),
            "usage": usage,
            "config": config_dict,
        }
    }
    result = out_dir / "opro" / "result.json"
    if kind == "opro" and result.is_file():
        extra["opro"] = json.loads(result.read_text())
    return extra


class _Identity:
    """Stands in for a backend where only its identity is needed (manifest parameters)."""

    def __init__(self, config) -> None:
        self.identity = config.identity()


def run_synth_stage(
    kind: str, inputs: list[str], config: SynthConfig, run: StageRun, source: str | None = None
) -> StageManifest:
    """Generate records of one synthesis `kind` from problem files."""
    if kind not in KINDS:
        raise UsageError(f"synth: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    if not inputs:
        raise UsageError(f"synth {kind}: no input files")
    if config.backend.name == "vllm":
        from sciloom.corpus.synth.backends.vllm_offline import import_vllm

        import_vllm()  # a clear error before any task starts
    sandbox = None
    if kind == "rft":  # its calculation checks run in the sandbox: refuse at once without one
        from sciloom.corpus.sandbox import sandbox_isolation

        sandbox = sandbox_isolation(unsafe_no_sandbox=config.unsafe_no_sandbox)
    source = source or f"synth_{kind}"
    if kind == "opro":
        run = replace(run, tasks=1)  # the optimiser sees the whole dev split
    reader = ProblemReader(inputs, source)
    steps = [SynthStep(kind, config, run.seed, str(run.out_dir))]

    def extra(_: StageManifest) -> dict:
        out = synth_extra(kind, config, Path(run.out_dir), run.seed)
        if sandbox is not None:
            out["synth"]["sandbox"] = sandbox
        return out

    return run_stage(run, reader, steps, extra=extra)


def with_cache_under(config: SynthConfig, base_dir: Path) -> SynthConfig:
    """The config with relative cache folders resolved against `base_dir` (a recipe's folder)."""

    def fix(b):
        if b is None or b.cache_dir is None or Path(b.cache_dir).is_absolute():
            return b
        return replace(b, cache_dir=str(Path(base_dir) / b.cache_dir))

    return replace(config, backend=fix(config.backend), optimizer=fix(config.optimizer))
