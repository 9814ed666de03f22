"""The prompts stage: problem sets (or the arithmetic generator) -> prompt documents.

`run_prompts_stage(kind, inputs, config, run)` runs `[ProblemReader, PromptStep, writer]`
through `run_stage`. The reader turns each JSONL line into a document carrying the row (a line
that is not a JSON object is quarantined); `PromptStep` formats it with the kind's formatter,
runs any program in the sandbox, and keeps, drops (with the formatter's reason) or quarantines
it (a row that is not a problem). Extra records of one problem (FOBAR variants, several sampled
completions in one row) are announced with `added(doc, "variant")`.

`kind="arith"` has no inputs: `ArithmeticReader` generates `config.count` items, announced with
`added(doc, "generated")`, split into tasks of `config.items_per_task` items.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from datatrove.data import Document

from sciloom.corpus.errors import InputError, UsageError
from sciloom.corpus.jsonl_reader import iter_jsonl_values
from sciloom.corpus.prompts.arithmetic import ArithmeticGenerator
from sciloom.corpus.prompts.config import KINDS, PromptsConfig
from sciloom.corpus.prompts.execution import EXECUTING_KINDS, ExecutionLimits, run_programs
from sciloom.corpus.prompts.formatting import Draft, FormatError, Formatter
from sciloom.corpus.prompts.problems import parse_problem
from sciloom.corpus.record import copy_document, make_document
from sciloom.corpus.sandbox import sandbox_isolation
from sciloom.corpus.shards import quarantine_problem
from sciloom.corpus.stage import StageRun, run_stage
from sciloom.corpus.step import SciloomReader, SciloomStep
from sciloom.manifests.schema import StageManifest

if TYPE_CHECKING:
    from sciloom.corpus.prompts.rft import RftSelector

logger = logging.getLogger(__name__)

ROW = "problem_row"
BATCH = 64
# Reasons (manifest interface).
BAD_JSON_LINE = "bad_json_line"
UNREADABLE_FILE = "unreadable_file"
MALFORMED_ROW = "malformed_row"
VARIANT = "variant"
GENERATED = "generated"


class ProblemReader(SciloomReader):
    """JSONL rows -> documents whose `problem_row` metadata holds the row (text: the raw line)."""

    name = "problem_reader"

    def read(self, path: str) -> Iterable[Document]:
        stem = Path(path).name
        # The shared reader: a bad line (or the unreadable rest of a file) is quarantined alone.
        for lineno, row, problem, raw in iter_jsonl_values(path):
            if problem is not None:
                quarantine_problem(self, problem, self.source)
                continue
            text = raw.decode("utf-8")
            doc = make_document(
                f"{self.source}/{stem}:{lineno}",
                text.rstrip("\n"),
                self.source,
                url=path,
                metadata={ROW: row},
                provenance={"input": path, "member": f"line {lineno}"},
            )
            self.count_in(self.source, len(raw))
            yield doc


class ArithmeticReader(SciloomReader):
    """Generates arithmetic items; each pseudo-path `arith:START-END` is one task's range."""

    name = "arithmetic_generator"

    def __init__(self, config: PromptsConfig, seed: int, source: str) -> None:
        per = config.items_per_task
        paths = [f"arith:{s}-{min(s + per, config.count)}" for s in range(0, config.count, per)] or [
            "arith:0-0"
        ]
        super().__init__(paths, source)
        self.config = config
        self.seed = seed

    def read(self, path: str) -> Iterable[Document]:
        start, end = (int(x) for x in path.split(":", 1)[1].split("-"))
        gen = ArithmeticGenerator(self.config.arithmetic, self.seed)
        for i in range(start, end):
            item = gen.item(i)
            doc = make_document(
                f"arith/{self.seed}/{i}",
                item.text,
                self.source,
                metadata={"prompt_kind": "arith", "number_system": item.system, "num_steps": len(item.steps)},
                provenance={"generator": "mathglm_arithmetic", "seed": self.seed, "index": i},
            )
            self.added(doc, GENERATED)
            yield doc


def make_formatter(kind: str, config: PromptsConfig, seed: int) -> Formatter | None:
    """The formatter of a kind (None for rft, which `PromptStep` selects itself)."""
    if kind == "cot":
        from sciloom.corpus.prompts.cot import CotFormatter

        return CotFormatter()
    if kind == "pot":
        from sciloom.corpus.prompts.pot import PotFormatter

        return PotFormatter(config.program_field)
    if kind == "work":
        from sciloom.corpus.prompts.work_traces import WorkTraceFormatter

        return WorkTraceFormatter(config.program_field)
    if kind in ("fobar", "sv"):
        from sciloom.corpus.prompts.fobar import BackwardFormatter

        return BackwardFormatter(kind, config.variants, seed)
    if kind == "ingest":
        from sciloom.corpus.prompts.ingest import IngestFormatter

        return IngestFormatter(config.ingest_format)
    return None


class PromptStep(SciloomStep):
    """Format each problem row; run programs in the sandbox; keep, drop or quarantine."""

    name = "prompt_formatter"

    def __init__(self, kind: str, config: PromptsConfig, seed: int = 0) -> None:
        super().__init__()
        self.kind = kind
        self.config = config
        self.seed = seed
        self.limits = ExecutionLimits(
            config.timeout_s, config.memory_mb, config.parallel, config.unsafe_no_sandbox
        )

    def process(self, data: Iterable[Document], rank: int, world_size: int) -> Iterable[Document]:
        formatter = make_formatter(self.kind, self.config, self.seed)
        selector = None
        if self.kind == "rft":
            from sciloom.corpus.prompts.rft import RftSelector

            selector = RftSelector(self.config.rft_task, self.config.rft_max_per_question)
        batch: list[Document] = []
        for doc in data:
            batch.append(doc)
            if len(batch) >= BATCH:
                yield from self._batch(batch, formatter, selector)
                batch = []
        if batch:
            yield from self._batch(batch, formatter, selector)

    # -- one batch -------------------------------------------------------------------------------
    def _batch(
        self, docs: list[Document], formatter: Formatter | None, selector: RftSelector | None
    ) -> Iterator[Document]:
        pending: list[tuple[Document, Draft | None]] = []  # kept-so-far docs in output order
        for doc in docs:
            row = doc.metadata.pop(ROW, None)
            if selector is not None:
                pending.extend(self._rft(doc, row, selector))
                continue
            try:
                drafts = self._drafts(doc, row, formatter)
            except InputError as err:
                self.quarantine_document(doc, err)
                continue
            except FormatError as err:
                self.drop(doc, err.reason)
                continue
            except (KeyError, IndexError, TypeError, AttributeError, ValueError) as err:
                # a row of the right kind but the wrong shape (a step index out of range, a number
                # where a table should be): the input's fault, so quarantined with what went wrong
                self.quarantine_document(doc, InputError(MALFORMED_ROW, f"{type(err).__name__}: {err}"))
                continue
            pending.extend(self._attach(doc, drafts))
        to_run = [(i, d) for i, (_, d) in enumerate(pending) if d is not None and d.code is not None]
        results = run_programs([d.code for _, d in to_run], self.limits)  # type: ignore[misc]
        done = {i: r for (i, _), r in zip(to_run, results, strict=True)}
        for i, (doc, draft) in enumerate(pending):
            if draft is not None and draft.code is not None:
                try:
                    doc.text = formatter.complete(draft, done[i])  # type: ignore[union-attr]
                except FormatError as err:
                    self.drop(doc, err.reason)
                    continue
            yield doc

    def _drafts(self, doc: Document, row: dict | None, formatter: Formatter | None) -> list[Draft]:
        if row is None:
            raise InputError("missing_row", "document has no problem row (not read by ProblemReader)")
        if self.kind == "ingest":
            return formatter.row_drafts(row)  # type: ignore[union-attr]
        layout = self.config.layout_for(row)
        problem = parse_problem(row, layout, default_id=str(doc.id))
        doc.metadata["problem_id"] = problem.id
        return formatter.drafts(problem)  # type: ignore[union-attr]

    def _attach(self, doc: Document, drafts: list[Draft]) -> list[tuple[Document, Draft]]:
        """Draft 0 becomes `doc`; further drafts become new documents announced as variants."""
        out = []
        base_id = str(doc.id)
        for n, draft in enumerate(drafts):
            target = doc if n == 0 else copy_document(doc, f"{base_id}{draft.suffix}")
            if n == 0 and draft.suffix:
                target.id = f"{base_id}{draft.suffix}"
            target.text = draft.text
            target.metadata.update({"prompt_kind": self.kind, **draft.metadata})
            if draft.code is not None:
                target.metadata["program"] = draft.code
            if n > 0:
                self.added(target, VARIANT)
            out.append((target, draft))
        return out

    def _rft(self, doc: Document, row: dict | None, selector: RftSelector) -> list[tuple[Document, None]]:
        cfg = self.config
        if row is None or not isinstance(row.get(cfg.rft_question_field), str):
            self.quarantine_document(doc, InputError("missing_field", f"no {cfg.rft_question_field!r}"))
            return []
        question = row[cfg.rft_question_field]
        reference = row.get(cfg.rft_answer_field)
        completions = row.get(cfg.rft_completion_field)
        if isinstance(completions, str):
            completions = [completions]
        if reference is None or not isinstance(completions, list) or not completions:
            self.quarantine_document(doc, InputError("missing_field", "no completion or reference answer"))
            return []
        # Copies are taken before `doc` is touched: a copy made later would inherit the first
        # completion's text, answer or drop reason.
        targets = [doc] + [copy_document(doc, f"{doc.id}:{n}") for n in range(1, len(completions))]
        out = []
        for n, (target, completion) in enumerate(zip(targets, completions, strict=True)):
            if n > 0:
                target.text = str(completion)
                self.added(target, VARIANT)
            try:
                target.text = selector.select(question, str(completion), str(reference))
            except FormatError as err:
                self.drop(target, err.reason)
                continue
            target.metadata.update({"prompt_kind": "rft", "answer": str(reference)})
            out.append((target, None))
        return out


def run_prompts_stage(
    kind: str, inputs: list[str], config: PromptsConfig, run: StageRun, source: str | None = None
) -> StageManifest:
    """Build prompt documents of one `kind` from problem files (none for `arith`)."""
    config = config if config is not None else PromptsConfig()
    if kind not in KINDS:
        raise UsageError(f"prompts: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    source = source or f"prompts_{kind}"
    if kind == "arith":
        reader: SciloomReader = ArithmeticReader(config, run.seed, source)
        steps: list = []
    else:
        if not inputs:
            raise UsageError(f"prompts {kind}: no input files")
        reader = ProblemReader(inputs, source)
        steps = [PromptStep(kind, config, run.seed)]

    # refused here, before any work, when programs would run without an OS sandbox
    sandbox = (
        sandbox_isolation(unsafe_no_sandbox=config.unsafe_no_sandbox) if kind in EXECUTING_KINDS else None
    )

    def extra(_: StageManifest) -> dict:
        prompts = {"kind": kind, "source": source, "config": asdict(config)}
        return {"prompts": prompts | ({"sandbox": sandbox} if sandbox else {})}

    return run_stage(run, reader, steps, extra=extra)
