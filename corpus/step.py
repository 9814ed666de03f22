"""Base pipeline steps: keep, drop(reason) or quarantine(reason), counted in datatrove's stats.

Every sciloom step subclasses `SciloomStep` (itself a datatrove `PipelineStep`, so it runs on
datatrove's executors next to datatrove's own steps). The ledger of a stage is built from these
counters alone (manifests/ledger.py), so `in = kept + dropped + quarantined` holds by
construction when every step reports what it does with each document, and a step that loses
documents silently is caught by the invariant check.

Counter names (the manifest interface, keep them stable):
  in|SOURCE, in_bytes|SOURCE                       counted by readers
  kept|SOURCE, kept_bytes|SOURCE                   counted by the shard writer
  dropped|REASON|SOURCE, dropped_bytes|REASON|SOURCE
  quarantined|REASON|SOURCE, quarantined_bytes|REASON|SOURCE
  added|REASON|SOURCE, added_bytes|REASON|SOURCE   documents a step creates (e.g. prompt data)
Bytes are UTF-8 bytes of the text for documents, raw input bytes for quarantined inputs.
"""

from __future__ import annotations

import json
import logging
from abc import abstractmethod
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from sciloom.corpus.errors import InputError
from sciloom.corpus.progress import ReadMeter
from sciloom.corpus.quarantine import QuarantineLog
from sciloom.corpus.record import source_of

logger = logging.getLogger(__name__)

SEP = "|"
# Dropped documents kept per reason and task under OUT/samples/, so that reports can show what a
# filter removed (the manifest references them by id; it never copies text).
DROP_SAMPLES_PER_REASON = 5
SAMPLE_TEXT_CHARS = 4000


def text_bytes(doc: Document) -> int:
    return len(doc.text.encode("utf-8", errors="surrogatepass"))


class SciloomStep(PipelineStep):
    """A step that counts what it does with each document."""

    type = "sciloom"
    name = "step"

    def __init__(self) -> None:
        super().__init__()
        # Set by corpus.stage.run_stage before the pipeline runs; None when a step is used alone.
        self.quarantine_dir: str | None = None
        self.samples_dir: str | None = None
        self.progress_dir: str | None = None  # readers write their read counts there (corpus.progress)
        self._read_meter: ReadMeter | None = None
        self._quarantine_log: QuarantineLog | None = None
        self._rank = 0
        self._samples_taken: dict[str, int] = {}

    # -- counters -------------------------------------------------------------------------------
    def count(self, what: str, source: str, nbytes: int, reason: str | None = None, n: int = 1) -> None:
        # The separator cannot appear inside a name (readers quarantine such sources); guard anyway.
        source = source.replace(SEP, "/")
        reason = reason.replace(SEP, "/") if reason else reason
        key = f"{what}{SEP}{reason}{SEP}{source}" if reason else f"{what}{SEP}{source}"
        bkey = f"{what}_bytes{SEP}{reason}{SEP}{source}" if reason else f"{what}_bytes{SEP}{source}"
        self.stat_update(key, value=n)
        self.stat_update(bkey, value=nbytes)

    def count_in(self, source: str, nbytes: int) -> None:
        self.count("in", source, nbytes)
        if self.progress_dir is not None:
            if self._read_meter is None:
                self._read_meter = ReadMeter(self.progress_dir, self._rank)
            self._read_meter.tick(nbytes)

    def drop(self, doc: Document, reason: str) -> None:
        """Record that `doc` is dropped for `reason` (a snake_case constant)."""
        doc.metadata["drop_reason"] = reason
        self.count("dropped", source_of(doc), text_bytes(doc), reason)
        self._keep_sample(doc, reason)

    def _keep_sample(self, doc: Document, reason: str) -> None:
        if self.samples_dir is None or self._samples_taken.get(reason, 0) >= DROP_SAMPLES_PER_REASON:
            return
        self._samples_taken[reason] = self._samples_taken.get(reason, 0) + 1
        folder = Path(self.samples_dir)
        folder.mkdir(parents=True, exist_ok=True)
        entry = {
            "id": str(doc.id),
            "source": source_of(doc),
            "reason": reason,
            "step": self.name,
            "text": doc.text[:SAMPLE_TEXT_CHARS],
            "truncated": len(doc.text) > SAMPLE_TEXT_CHARS,
        }
        with open(folder / f"dropped-{self._rank:05d}.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def added(self, doc: Document, reason: str) -> None:
        """Record a document this step creates (it did not enter the stage through a reader)."""
        self.count("added", source_of(doc), text_bytes(doc), reason)

    def quarantine(
        self,
        *,
        input: str,
        reason: str,
        detail: str = "",
        source: str = "unknown",
        member: str | None = None,
        data: bytes | None = None,
        nbytes: int | None = None,
        count_in: bool = False,
    ) -> None:
        """Quarantine one input that cannot be processed; the stage goes on.

        Readers pass `count_in=True`: the unreadable input never became a document, so it enters
        the ledger here (in 1, quarantined 1). Later steps quarantine documents already counted in.
        """
        nbytes = len(data) if data is not None and nbytes is None else (nbytes or 0)
        if count_in:
            self.count_in(source, nbytes)
        self.count("quarantined", source, nbytes, reason)
        where = f"{input}" + (f"::{member}" if member else "")
        logger.warning("quarantined %s: %s %s", where, reason, detail)
        if self.quarantine_dir is None:
            return
        if self._quarantine_log is None:
            self._quarantine_log = QuarantineLog(self.quarantine_dir, self._rank)
        self._quarantine_log.add(
            input=input, reason=reason, detail=detail, source=source, member=member, data=data
        )

    def quarantine_document(self, doc: Document, err: InputError) -> None:
        prov = doc.metadata.get("provenance") or {}
        self.quarantine(
            input=str(prov.get("input") or doc.id),
            member=prov.get("member"),
            reason=err.reason,
            detail=err.detail,
            source=source_of(doc),
            nbytes=text_bytes(doc),
        )

    def close_quarantine(self) -> None:
        if self._quarantine_log is not None:
            self._quarantine_log.close()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self._rank = rank
        try:
            yield from self.process(data or [], rank, world_size)
        finally:
            self.close_quarantine()

    def process(self, data: Iterable[Document], rank: int, world_size: int) -> Iterable[Document]:
        """Override: take documents, yield documents, call drop/quarantine/added as appropriate."""
        yield from data


class SciloomFilter(SciloomStep):
    """A step that keeps or drops each document with a reason.

    `filter(doc)` returns True to keep, False to drop with `default_reason`, or `(False, reason)`.
    Raising `InputError` quarantines the document instead.
    """

    type = "filter"
    default_reason = "filtered"

    @abstractmethod
    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        """Keep (True), drop with the default reason (False) or drop with a reason ((False, reason))."""

    def process(self, data: Iterable[Document], rank: int, world_size: int) -> Iterable[Document]:
        for doc in data:
            with self.track_time():
                try:
                    verdict: Any = self.filter(doc)
                except InputError as err:
                    self.quarantine_document(doc, err)
                    continue
            if isinstance(verdict, tuple):
                keep, reason = verdict
            else:
                keep, reason = bool(verdict), self.default_reason
            if keep:
                yield doc
            else:
                self.drop(doc, reason)


class SciloomReader(SciloomStep):
    """A step that starts a pipeline: it reads inputs for its rank and counts them in.

    Subclasses implement `read(path)`, yielding Documents and raising/handling `InputError`s.
    Input files are split across ranks by index (file i goes to rank i % world_size), so every
    input is read by exactly one task.
    """

    type = "reader"

    def __init__(self, paths: list[str], source: str = "unknown") -> None:
        super().__init__()
        self.paths = [str(p) for p in paths]
        self.source = source

    @abstractmethod
    def read(self, path: str) -> Iterable[Document]:
        """Yield the documents of one input, counting each in (or quarantining what cannot be read)."""

    def _forget_earlier_attempt(self, rank: int) -> None:
        """A task that runs again (killed, preempted, failed) starts its append-only logs afresh.

        The quarantine log and the drop samples of a task are appended to by all its steps; a
        rerun of an unfinished task must not count its earlier attempt's entries twice. The
        reader is the first step of every stage, so it clears them before any document flows.
        """
        for folder, name in (
            (self.quarantine_dir, f"{rank:05d}.jsonl"),
            (self.samples_dir, f"dropped-{rank:05d}.jsonl"),
        ):
            if folder is not None:
                Path(folder, name).unlink(missing_ok=True)

    def process(self, data: Iterable[Document], rank: int, world_size: int) -> Iterable[Document]:
        self._forget_earlier_attempt(rank)
        if data:
            yield from data
        for i, path in enumerate(self.paths):
            if i % world_size != rank:
                continue
            yield from self.read(path)
        if self._read_meter is not None:
            self._read_meter.flush()
