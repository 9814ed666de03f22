"""Benchmark decontamination: word 13-gram overlap with test questions and solutions.

A corpus that trains on GSM8K/MATH test problems reports fake gains. We index every word
13-gram (Galactica, FineMath, MegaMath: 13) of each benchmark item's question, solution and the
two joined, on `normalize.py` tokens: case, whitespace and typographic punctuation are folded, but
digits are kept (no digit normalisation: a train problem with other numbers is another problem),
so a problem planted verbatim, re-spaced, re-cased or embedded in a longer page is found.

A document with any indexed 13-gram is contaminated. Web documents are dropped with the reason
`contaminated_<benchmark>`; documents of `mask_sources` (arXiv by default), or every document
with `action = "mask"`, lose only the paragraphs that match (a paper quoting one problem keeps
the rest) and are dropped only if a match survives the masking (an n-gram across paragraphs).
Every hit (benchmark item -> documents) is written per task to `OUT/decontam/hits/` and
summarised in the manifest, with an audit count of documents sharing a 30-gram (Llemma's
overlap analysis) so the 13-gram rule's false-positive share can be judged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from datatrove.data import Document

from sciloom.corpus.record import source_of
from sciloom.corpus.shards import ShardReader
from sciloom.corpus.stage import StageRun, run_stage
from sciloom.corpus.step import SciloomStep
from sciloom.filters.benchmarks import BenchmarkItem, iter_summary, load_benchmarks
from sciloom.filters.config import DecontamConfig
from sciloom.filters.exact_dedup import split_paragraphs
from sciloom.filters.langid import matches
from sciloom.filters.normalize import ngram_hashes, token_hashes, token_hashes_and_letters, tokens
from sciloom.manifests.schema import StageManifest

logger = logging.getLogger(__name__)

HITS_DIR = "decontam/hits"
CONTAMINATED_PREFIX = "contaminated_"
MASKED = "decontam_masked_paragraphs"
MIN_WORD_TOKENS = 4


class NgramIndex:
    """Sorted 64-bit n-gram hashes of the benchmark items, each with the item it came from.

    Two guards keep the 13-gram rule from matching what is not the benchmark:
    - an n-gram needs at least `MIN_WORD_TOKENS` tokens with a letter: pure arithmetic
      (`12 * 2 = 24 ...`, GSM8K's calculator lines) is shared by countless unrelated problems;
    - a question shorter than n tokens (430 of the 5000 MATH test problems) is indexed whole, as
      one k-gram, when it has at least `short_min` tokens, so "How many positive whole-number
      divisors does 196 have?" is still found; shorter ones are too generic to match on.
    """

    def __init__(self, items: list[BenchmarkItem], n: int, short_min: int | None = None) -> None:
        self.n = n
        texts, owners = [], []
        for i, item in enumerate(items):
            for t in item.texts():
                texts.append(t)
                owners.append(i)
        keys, owner = [self._grams(texts, owners, n, short=False)], []
        self.short_lengths: list[int] = []
        if short_min is not None:
            short = [
                (i, item.question)
                for i, item in enumerate(items)
                if short_min <= len(tokens(item.question)) < n
            ]
            by_len: dict[int, list[tuple[int, str]]] = {}
            for i, q in short:
                by_len.setdefault(len(tokens(q)), []).append((i, q))
            for k, group in sorted(by_len.items()):
                keys.append(self._grams([q for _, q in group], [i for i, _ in group], k, short=False))
                self.short_lengths.append(k)
        grams = np.concatenate([g for g, _ in keys])
        owner = np.concatenate([o for _, o in keys])
        order = np.argsort(grams, kind="stable")
        self.keys = grams[order]
        self.owner = owner[order]

    @classmethod
    def _grams(
        cls, texts: list[str], owners: list[int], n: int, short: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        chunk = 2048  # bounded memory: the arrays are per byte of text
        if len(texts) > chunk:
            parts = [
                cls._grams(texts[i : i + chunk], owners[i : i + chunk], n, short)
                for i in range(0, len(texts), chunk)
            ]
            return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        hashes, offsets, letters = token_hashes_and_letters(texts)
        grams, goff = ngram_hashes(hashes, offsets, n, short=short)
        owner = np.repeat(np.asarray(owners, dtype=np.int64), np.diff(goff))
        # Tokens with a letter per n-gram window (running sum over the windows' start positions,
        # which are exactly the starts `ngram_hashes` keeps when `short` is off).
        csum = np.concatenate(([0], np.cumsum(letters)))
        m = len(hashes)
        doc_end = np.repeat(offsets[1:], np.diff(offsets))
        starts = np.flatnonzero(np.arange(m) + n <= doc_end)
        keep = (csum[starts + n] - csum[starts]) >= min(MIN_WORD_TOKENS, n)
        return grams[keep], owner[keep]

    def __len__(self) -> int:
        return len(self.keys)

    def lookup(self, text: str) -> tuple[int, set[int]]:
        """(number of indexed n-grams in `text`, the items they belong to)."""
        if len(self.keys) == 0:
            return 0, set()
        hashes, offsets = token_hashes([text])
        total, items = 0, set()
        for k in (self.n, *self.short_lengths):
            grams, _ = ngram_hashes(hashes, offsets, k, short=False)
            found, hit = self._find(grams)
            total += found
            items |= hit
        return total, items

    def _find(self, grams: np.ndarray) -> tuple[int, set[int]]:
        if len(grams) == 0:
            return 0, set()
        pos = np.searchsorted(self.keys, grams)
        pos[pos == len(self.keys)] = 0
        found = self.keys[pos] == grams
        if not found.any():
            return 0, set()
        items: set[int] = set()
        for g in np.unique(grams[found]):
            lo, hi = np.searchsorted(self.keys, g, "left"), np.searchsorted(self.keys, g, "right")
            items.update(int(x) for x in self.owner[lo:hi])
        return int(found.sum()), items


class DecontaminationFilter(SciloomStep):
    name = "decontamination"
    type = "filter"

    def __init__(self, config: DecontamConfig, hits_dir: str | None = None) -> None:
        super().__init__()
        self.config = config
        self.hits_dir = hits_dir
        self._items: list[BenchmarkItem] | None = None
        self._index: NgramIndex | None = None
        self._audit: NgramIndex | None = None

    def load(self) -> None:
        if self._items is None:
            self._items = load_benchmarks(self.config.benchmarks, self.config.builtin)
            self._index = NgramIndex(self._items, self.config.ngram, self.config.short_question_min_tokens)

    def check(self, text: str) -> tuple[int, set[int]]:
        assert self._index is not None
        return self._index.lookup(text)

    def process(self, data: Iterable[Document], rank: int, world_size: int) -> Iterable[Document]:
        self.load()
        assert self._items is not None
        hits_fh = None
        if self.hits_dir:
            Path(self.hits_dir).mkdir(parents=True, exist_ok=True)
            hits_fh = open(Path(self.hits_dir) / f"{rank:05d}.jsonl", "w", encoding="utf-8")
        try:
            for doc in data:
                with self.track_time():
                    matched, items = self.check(doc.text)
                    if not matched:
                        yield doc
                        continue
                    if self._audit is None:  # built on the first hit: most tasks never need it
                        self._audit = NgramIndex(self._items, self.config.audit_ngram)
                    audit, _ = self._audit.lookup(doc.text)
                    mask = self.config.action == "mask" or matches(source_of(doc), self.config.mask_sources)
                    action, masked = "dropped", 0
                    if mask:
                        text, masked = self.mask(doc.text)
                        if masked and not self.check(text)[0]:
                            action = "masked"
                            doc.text = text
                            doc.metadata[MASKED] = masked
                    keys = sorted(self._items[i].key for i in items)
                    if hits_fh is not None:
                        hits_fh.write(
                            json.dumps(
                                {
                                    "doc": str(doc.id),
                                    "source": source_of(doc),
                                    "items": keys,
                                    "math500_items": sorted(
                                        self._items[i].key for i in items if "math500" in self._items[i].tags
                                    ),
                                    "matched_ngrams": matched,
                                    "audit_ngrams": audit,
                                    "action": action,
                                    "masked_paragraphs": masked,
                                },
                                ensure_ascii=False,
                            )
                            + "\n"
                        )
                    self.stat_update("decontam_hit_docs")
                    if audit:
                        self.stat_update("decontam_audit_docs")
                    if action == "masked":
                        yield doc
                        continue
                    doc.metadata["contamination"] = keys[:20]
                    self.drop(doc, CONTAMINATED_PREFIX + min(self._items[i].benchmark for i in items))
        finally:
            if hits_fh is not None:
                hits_fh.close()

    def mask(self, text: str) -> tuple[str, int]:
        """`text` without the paragraphs that contain a benchmark n-gram, and how many went."""
        kept, masked = [], 0
        for paragraph in split_paragraphs(text):
            if self.check(paragraph)[0]:
                masked += 1
            else:
                kept.append(paragraph)
        return "".join(kept), masked


def read_hits(out_dir: str | Path) -> list[dict]:
    hits = []
    for path in sorted((Path(out_dir) / HITS_DIR).glob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            hits.extend(json.loads(line) for line in fh if line.strip())
    return hits


def decontam_extra(out_dir: Path, config: DecontamConfig, items_by_benchmark: dict[str, int]) -> dict:
    hits = read_hits(out_dir)
    by_item: dict[str, list[str]] = {}
    for h in hits:
        for key in h["items"]:
            by_item.setdefault(key, []).append(h["doc"])
    per_benchmark: dict[str, int] = {}
    for key in by_item:
        bench = key.split("/", 1)[0]
        per_benchmark[bench] = per_benchmark.get(bench, 0) + 1
    listed = sorted(by_item.items())[: config.max_hits_reported]
    return {
        "decontam": {
            "ngram": config.ngram,
            "audit_ngram": config.audit_ngram,
            "action": config.action,
            "mask_sources": config.mask_sources,
            "normalisation": "normalize.py tokens: lower-cased, typographic punctuation folded, digits kept",
            "benchmarks": items_by_benchmark,
            "documents_hit": len(hits),
            "documents_dropped": sum(h["action"] == "dropped" for h in hits),
            "documents_masked": sum(h["action"] == "masked" for h in hits),
            "audit_documents": sum(1 for h in hits if h["audit_ngrams"] > 0),
            "items_hit": per_benchmark,
            "math500_items_hit": len({k for h in hits for k in h.get("math500_items", [])}),
            "hits": [{"item": k, "docs": sorted(set(v))} for k, v in listed],
            "hits_truncated": len(by_item) > len(listed),
        }
    }


def run_decontam(inputs: list[str], config: DecontamConfig, run: StageRun) -> StageManifest:
    items = load_benchmarks(config.benchmarks, config.builtin)  # fail early on a bad benchmark file
    summary = dict(iter_summary(items))
    step = DecontaminationFilter(config, hits_dir=str(Path(run.out_dir) / HITS_DIR))
    return run_stage(
        run,
        ShardReader(list(inputs)),
        [step],
        extra=lambda m: decontam_extra(Path(run.out_dir), config, summary),
    )
