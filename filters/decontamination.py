"""Benchmark decontamination: word 13-gram overlap with test questions and solutions.

A corpus that trains on GSM8K/MATH test problems reports fake gains. We index every word
13-gram (Galactica, FineMath, MegaMath: 13) of each benchmark item's question, solution and the
two joined, on `normalize.py` tokens folded by `decontam_fold.py`: case, whitespace, punctuation,
typographic characters and LaTeX spacing/sizing (`\\,` `\\!` `\\left` `\\dfrac`) are folded, but
digits are kept (no digit normalisation: a train problem with other numbers is another problem),
so a problem planted verbatim, re-spaced, re-cased, re-typeset or embedded in a longer page is
found. A question too short for one 13-gram is matched by containment of its whole folded token
sequence (hit kind `containment`, against `ngram`), unless it is below the containment minimum.

A document with any indexed gram is contaminated. Web documents are dropped with the reason
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
import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple, TextIO

import numpy as np
from datatrove.data import Document

from sciloom.corpus.record import source_of
from sciloom.corpus.shards import ShardReader
from sciloom.corpus.stage import StageRun, run_stage
from sciloom.corpus.step import SciloomStep
from sciloom.filters.benchmarks import BenchmarkItem, iter_summary, load_benchmarks
from sciloom.filters.config import DecontamConfig
from sciloom.filters.decontam_fold import fold_tokens, folded_tokens, split_command_digits
from sciloom.filters.exact_dedup import split_paragraphs
from sciloom.filters.langid import matches
from sciloom.filters.normalize import (
    COMBINE,
    ngram_hashes,
    splitmix64,
    token_hashes,
    token_hashes_and_letters,
    token_hashes_and_sizes,
)
from sciloom.manifests.schema import StageManifest

logger = logging.getLogger(__name__)

HITS_DIR = "decontam/hits"
CONTAMINATED_PREFIX = "contaminated_"
MASKED = "decontam_masked_paragraphs"
NORMALISATION = (
    "normalize.py tokens (lower-cased, whitespace and punctuation but operators dropped, typographic "
    "punctuation folded, digits kept) folded by decontam_fold.py (LaTeX spacing, sizing, \\dfrac)"
)
MIN_WORD_TOKENS = 4
MIN_WORD_BYTES = 3  # a word, not a variable: `ax^3 + bx^2 + cx + d = 0` is a formula of any page
BATCH_DOCS = 256


QUESTION, SOLUTION, CONTAINED = 0, 1, 2
NGRAM, CONTAINMENT = "ngram", "containment"  # hit kinds, as the manifest reports them
BITMAP_BITS = 26  # 2^26 bits = 8 MiB prefilter of the index keys
MAX_WHOLE_TOKENS = 64  # longest sequence `ngram_hashes` can hash as one gram


class Match(NamedTuple):
    """What one text shares with the benchmark items."""

    count: int
    """Indexed grams of the text that count towards its items (0: the text is clean)."""
    items: set[int]
    """The items the text contains (indices into the index's item list)."""
    contained: set[int]
    """Those of `items` found by whole-question containment (the others by n-grams)."""


def window_hashes(hashes: np.ndarray, starts: np.ndarray, k: int) -> np.ndarray:
    """The k-gram hash (as `normalize.ngram_hashes` computes it) of the tokens at each of `starts`."""
    acc = np.zeros(len(starts), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i in range(k):
            acc += hashes[starts + i] * COMBINE[i]
    return splitmix64(acc)


class NgramIndex:
    """Sorted 64-bit n-gram hashes of the benchmark items, each with its item and kind.

    Items and documents are both tokenised by `normalize.py` and folded by `decontam_fold.py`
    (case, whitespace, punctuation, LaTeX spacing and sizing). A document contains an item when
    - (`ngram`) it shares one n-gram of the item's question, or at least `min_solution_ngrams`
      n-grams and `min_solution_share` of the n-grams of its solution: single solution sentences
      ("... to find the total number of students", "there are 60 seconds in a minute and 60
      minutes in an hour") recur in unrelated problems (on GSM8K train, every solution-only hit
      against GSM8K/MATH test was such a sentence), while a copied solution shares most of them;
      an n-gram needs `MIN_WORD_TOKENS` words (a letter and `MIN_WORD_BYTES` bytes): pure
      arithmetic (`12 * 2 = 24 ...`) and bare formulas (`ax^3 + bx^2 + cx + d = 0`) are shared by
      countless unrelated problems and pages;
    - (`containment`) its folded tokens contain the item's whole folded question, for a question
      that has no such n-gram (shorter than n tokens: 430 of the 5000 MATH test problems, or all
      formula: "Evaluate $531^2 - 2\\cdot 531\\cdot 530 + 530^2$."), when the question has at
      least `containment_min_tokens` tokens and `containment_min_chars` characters in them;
      shorter ones ("What is 2+2?") are common phrases of unrelated text and are not matched.
    """

    def __init__(
        self,
        items: list[BenchmarkItem],
        n: int,
        containment_min_tokens: int | None = None,
        min_solution_ngrams: int = 1,
        min_solution_share: float = 0.0,
        containment_min_chars: int = 0,
    ) -> None:
        self.n = n
        self.min_solution_ngrams = min_solution_ngrams
        self.min_solution_share = min_solution_share
        questions = self._grams([it.question for it in items], list(range(len(items))), n, QUESTION)
        parts = [
            questions[:3],
            self._grams(
                [it.clean_solution() for it in items if it.solution],
                [i for i, it in enumerate(items) if it.solution],
                n,
                SOLUTION,
            )[:3],
        ]
        self.short_lengths: list[int] = []
        self.unmatchable: list[int] = []  # items too short for containment (reported, not matched)
        has_ngram = np.bincount(questions[1], minlength=len(items)) > 0
        by_len: dict[int, list[int]] = {}
        for i in np.flatnonzero(~has_ngram).tolist():
            k = int(questions[3][i])
            chars = sum(len(t) for t in folded_tokens(items[i].question))
            if containment_min_tokens is None or k > MAX_WHOLE_TOKENS:
                self.unmatchable.append(i)
            elif k >= max(containment_min_tokens, 1) and chars >= containment_min_chars:
                by_len.setdefault(k, []).append(i)
            else:
                self.unmatchable.append(i)
        # Whole questions: one window hash each; documents are only hashed at the positions
        # where a whole question's first two tokens start (`_contained`), not once per length.
        whole = sorted(i for group in by_len.values() for i in group)
        self.short_lengths = sorted(by_len)
        self.prefixes = np.zeros(0, dtype=np.uint64)
        if whole:
            texts = split_command_digits([items[i].question for i in whole])
            hashes, offsets, _ = fold_tokens(*token_hashes(texts))
            starts = offsets[:-1]
            lengths = np.diff(offsets)
            wh = np.zeros(len(whole), dtype=np.uint64)
            for k in self.short_lengths:
                sel = lengths == k
                wh[sel] = window_hashes(hashes, starts[sel], k)
            parts.append(
                (wh, np.asarray(whole, dtype=np.int64), np.full(len(whole), CONTAINED, dtype=np.int8))
            )
            self.prefixes = np.unique(window_hashes(hashes, starts, 2))
        grams = np.concatenate([p[0] for p in parts])
        owner = np.concatenate([p[1] for p in parts])
        kind = np.concatenate([p[2] for p in parts])
        order = np.argsort(grams, kind="stable")
        self.keys = grams[order]
        self.owner = owner[order]
        self.kind = kind[order]
        self.solution_total = np.bincount(owner[kind == SOLUTION], minlength=len(items))
        # A bitmap of the keys' top bits: almost every n-gram of a document is in no benchmark, and
        # one bit test per n-gram (8 MiB, mostly cache-resident) is ~5x cheaper than a binary
        # search of the 1.5M keys, which then runs only for the ~2% of n-grams that pass.
        self.bitmap = np.zeros(1 << (BITMAP_BITS - 3), dtype=np.uint8)
        slots = self.keys >> np.uint64(64 - BITMAP_BITS)
        np.bitwise_or.at(self.bitmap, slots >> np.uint64(3), (1 << (slots & np.uint64(7))).astype(np.uint8))

    @classmethod
    def _grams(
        cls, texts: list[str], owners: list[int], n: int, kind: int, min_words: int = MIN_WORD_TOKENS
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(n-gram hashes, owning item, kind) of `texts`, n-grams with fewer than `min_words`
        tokens with a letter left out; then each text's number of folded tokens."""
        chunk = 2048  # bounded memory: the arrays are per byte of text
        if len(texts) > chunk:
            parts = [
                cls._grams(texts[i : i + chunk], owners[i : i + chunk], n, kind, min_words)
                for i in range(0, len(texts), chunk)
            ]
            return tuple(np.concatenate([p[j] for p in parts]) for j in range(4))  # type: ignore[return-value]
        texts = split_command_digits(texts)
        hashes, offsets, letters = token_hashes_and_letters(texts)
        _, _, sizes = token_hashes_and_sizes(texts)
        hashes, offsets, (letters, sizes) = fold_tokens(hashes, offsets, letters, sizes)
        words = letters & (sizes >= MIN_WORD_BYTES)
        grams, goff = ngram_hashes(hashes, offsets, n, short=False)
        owner = np.repeat(np.asarray(owners, dtype=np.int64), np.diff(goff))
        # Tokens with a letter per n-gram window (running sum over the windows' start positions,
        # which are exactly the starts `ngram_hashes` keeps when `short` is off).
        csum = np.concatenate(([0], np.cumsum(words)))
        m = len(hashes)
        doc_end = np.repeat(offsets[1:], np.diff(offsets))
        starts = np.flatnonzero(np.arange(m) + n <= doc_end)
        keep = (csum[starts + n] - csum[starts]) >= min(min_words, n)
        return (
            grams[keep],
            owner[keep],
            np.full(int(keep.sum()), kind, dtype=np.int8),
            np.diff(offsets),
        )

    def __len__(self) -> int:
        return len(self.keys)

    def _contained(self, hashes: np.ndarray, offsets: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """(window hashes, their document) at the positions where a whole question could start:
        its first two tokens are there (a few percent of positions), for each question length."""
        if len(self.prefixes) == 0 or len(hashes) < 2:
            return []
        doc_end = np.repeat(offsets[1:], np.diff(offsets))
        doc_of = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
        starts = np.flatnonzero(np.arange(len(hashes)) + 2 <= doc_end)
        bigrams = window_hashes(hashes, starts, 2)
        pos = np.searchsorted(self.prefixes, bigrams)
        pos[pos == len(self.prefixes)] = 0
        starts = starts[self.prefixes[pos] == bigrams]
        out = []
        for k in self.short_lengths:
            s = starts[starts + k <= doc_end[starts]]
            if len(s):
                out.append((window_hashes(hashes, s, k), doc_of[s]))
        return out

    def lookup(self, text: str) -> Match:
        """The items `text` contains (see `Match`)."""
        return self.lookup_batch([text])[0]

    def lookup_batch(self, texts: list[str]) -> list[Match]:
        """`lookup` for a batch of documents in one vectorised pass (most documents hit nothing)."""
        out: list[Match] = [Match(0, set(), set()) for _ in texts]
        if len(self.keys) == 0 or not texts:
            return out
        hashes, offsets, _ = fold_tokens(*token_hashes(split_command_digits(texts)))
        docs, positions = [], []
        grams, goff = ngram_hashes(hashes, offsets, self.n, short=False)
        queries = [(grams, np.repeat(np.arange(len(texts)), np.diff(goff)))]
        queries += self._contained(hashes, offsets)
        for grams, doc_of in queries:
            slots = grams >> np.uint64(64 - BITMAP_BITS)
            maybe = (self.bitmap[slots >> np.uint64(3)] >> (slots & np.uint64(7)).astype(np.uint8)) & 1
            grams, doc_of = grams[maybe.astype(bool)], doc_of[maybe.astype(bool)]
            if len(grams) == 0:
                continue
            lo = np.searchsorted(self.keys, grams, "left")
            found = lo < len(self.keys)
            found[found] = self.keys[lo[found]] == grams[found]
            if not found.any():
                continue
            doc_of = doc_of[found]
            lo = lo[found]
            hi = np.searchsorted(self.keys, grams[found], "right")
            counts = hi - lo
            docs.append(np.repeat(doc_of, counts))
            positions.append(
                np.repeat(lo, counts)
                + np.arange(counts.sum())
                - np.repeat(np.cumsum(counts) - counts, counts)
            )
        if not docs:
            return out
        # one entry per (document, index entry): an n-gram repeated in a document counts once
        pairs = np.unique(np.stack((np.concatenate(docs), np.concatenate(positions)), axis=1), axis=0)
        for d in np.unique(pairs[:, 0]):
            pos = pairs[pairs[:, 0] == d, 1]
            owner, kind = self.owner[pos], self.kind[pos]
            contained = set(np.unique(owner[kind == CONTAINED]).tolist())
            items = set(np.unique(owner[kind == QUESTION]).tolist()) | contained
            sol_owners, sol_counts = np.unique(owner[kind == SOLUTION], return_counts=True)
            enough = (sol_counts >= self.min_solution_ngrams) & (
                sol_counts >= self.min_solution_share * self.solution_total[sol_owners]
            )
            items |= set(sol_owners[enough].tolist())
            if items:
                counted = np.isin(owner, np.fromiter(items, dtype=np.int64))
                out[int(d)] = Match(int(counted.sum()), items, contained)
        return out


def index_for(items: list[BenchmarkItem], config: DecontamConfig) -> NgramIndex:
    """The decontamination index of `items` with the thresholds of `config`."""
    return NgramIndex(
        items,
        config.ngram,
        config.containment_min_tokens,
        config.min_solution_ngrams,
        config.min_solution_share,
        config.containment_min_chars,
    )


# Per process: the benchmark items and indexes of a config. datatrove runs each task on its own
# copy of the steps, so without this every task of a worker rebuilt the same index (~1 s each).
_LOADED: dict[tuple, tuple[list[BenchmarkItem], NgramIndex]] = {}


def _config_key(config: DecontamConfig, n: int) -> tuple:
    files = tuple((str(p), os.path.getmtime(p) if os.path.exists(p) else None) for p in config.benchmarks)
    return (
        files,
        config.builtin,
        n,
        config.containment_min_tokens,
        config.containment_min_chars,
        config.min_solution_ngrams,
        config.min_solution_share,
    )


def loaded_index(config: DecontamConfig, audit: bool = False) -> tuple[list[BenchmarkItem], NgramIndex]:
    """The items of `config` and their index (the audit n-gram's with `audit`), built once per process."""
    key = _config_key(config, config.audit_ngram if audit else config.ngram) + (audit,)
    if key not in _LOADED:
        items = load_benchmarks(config.benchmarks, config.builtin)
        if audit:
            index = NgramIndex(items, config.audit_ngram, None, config.min_solution_ngrams)
        else:
            index = index_for(items, config)
        _LOADED[key] = (items, index)
    return _LOADED[key]


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
            self._items, self._index = loaded_index(self.config)

    def check(self, text: str) -> Match:
        assert self._index is not None
        return self._index.lookup(text)

    def process(self, data: Iterable[Document], rank: int, world_size: int) -> Iterable[Document]:
        self.load()
        hits_fh = None
        if self.hits_dir:
            Path(self.hits_dir).mkdir(parents=True, exist_ok=True)
            hits_fh = open(Path(self.hits_dir) / f"{rank:05d}.jsonl", "w", encoding="utf-8")
        try:
            batch: list[Document] = []
            for doc in data:
                batch.append(doc)
                if len(batch) >= BATCH_DOCS:
                    yield from self._process_batch(batch, hits_fh)
                    batch = []
            yield from self._process_batch(batch, hits_fh)
        finally:
            if hits_fh is not None:
                hits_fh.close()

    def _process_batch(self, batch: list[Document], hits_fh: TextIO | None) -> Iterable[Document]:
        assert self._items is not None and self._index is not None
        if not batch:
            return
        with self.track_time():
            verdicts = self._index.lookup_batch([d.text for d in batch])
        for doc, (matched, items, contained) in zip(batch, verdicts):
            if not matched:
                yield doc
                continue
            if self._audit is None:  # built on the first hit: most tasks never need it
                self._audit = loaded_index(self.config, audit=True)[1]
            audit = self._audit.lookup(doc.text).count
            mask = self.config.action == "mask" or matches(source_of(doc), self.config.mask_sources)
            action, masked = "dropped", 0
            if mask:
                text, masked = self.mask(doc.text)
                if masked and not self.check(text).count:
                    action = "masked"
                    doc.text = text
                    doc.metadata[MASKED] = masked
            keys = sorted(self._items[i].key for i in items)
            if hits_fh is not None:
                record = {
                    "doc": str(doc.id),
                    "source": source_of(doc),
                    "items": keys,
                    "containment_items": sorted(self._items[i].key for i in contained),
                    "math500_items": sorted(
                        self._items[i].key for i in items if "math500" in self._items[i].tags
                    ),
                    "matched_ngrams": matched,
                    "audit_ngrams": audit,
                    "action": action,
                    "masked_paragraphs": masked,
                }
                hits_fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.stat_update("decontam_hit_docs")
            if audit:
                self.stat_update("decontam_audit_docs")
            if action == "masked":
                yield doc
                continue
            doc.metadata["contamination"] = keys[:20]
            self.drop(doc, CONTAMINATED_PREFIX + min(self._items[i].benchmark for i in items))

    def mask(self, text: str) -> tuple[str, int]:
        """`text` without the paragraphs that contain a benchmark n-gram, and how many went."""
        kept, masked = [], 0
        for paragraph in split_paragraphs(text):
            if self.check(paragraph).count:
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


def decontam_extra(
    out_dir: Path, config: DecontamConfig, items_by_benchmark: dict[str, int], unmatched: list[str]
) -> dict:
    hits = read_hits(out_dir)
    by_item: dict[str, list[str]] = {}
    item_kinds: dict[str, set[str]] = {}
    by_source: dict[str, dict[str, int]] = {}
    by_kind = {NGRAM: 0, CONTAINMENT: 0}
    for h in hits:
        contained = set(h.get("containment_items", []))
        for key in h["items"]:
            by_item.setdefault(key, []).append(h["doc"])
            item_kinds.setdefault(key, set()).add(CONTAINMENT if key in contained else NGRAM)
        if contained:
            by_kind[CONTAINMENT] += 1
        if set(h["items"]) - contained:
            by_kind[NGRAM] += 1
        row = by_source.setdefault(h["source"], {"documents_hit": 0, "dropped": 0, "masked": 0})
        row["documents_hit"] += 1
        row["dropped" if h["action"] == "dropped" else "masked"] += 1
    per_benchmark: dict[str, int] = {}
    for key in by_item:
        bench = key.split("/", 1)[0]
        per_benchmark[bench] = per_benchmark.get(bench, 0) + 1
    listed = sorted(by_item.items())[: config.max_hits_reported]
    return {
        "decontam": {
            "ngram": config.ngram,
            "audit_ngram": config.audit_ngram,
            "containment_min_tokens": config.containment_min_tokens,
            "containment_min_chars": config.containment_min_chars,
            "action": config.action,
            "mask_sources": config.mask_sources,
            "normalisation": NORMALISATION,
            "benchmarks": items_by_benchmark,
            "unmatched_short_items": unmatched,
            "documents_hit": len(hits),
            "documents_dropped": sum(h["action"] == "dropped" for h in hits),
            "documents_masked": sum(h["action"] == "masked" for h in hits),
            "documents_hit_by_kind": by_kind,
            "hits_by_source": dict(sorted(by_source.items())),
            "audit_documents": sum(1 for h in hits if h["audit_ngrams"] > 0),
            "items_hit": per_benchmark,
            "math500_items_hit": len({k for h in hits for k in h.get("math500_items", [])}),
            "hits": [
                {"item": k, "docs": sorted(set(v)), "kind": "+".join(sorted(item_kinds[k]))}
                for k, v in listed
            ],
            "hits_truncated": len(by_item) > len(listed),
        }
    }


def run_decontam(inputs: list[str], config: DecontamConfig, run: StageRun) -> StageManifest:
    items, index = loaded_index(config)  # fails early on a bad benchmark file
    summary = dict(iter_summary(items))
    unmatched = sorted(items[i].key for i in index.unmatchable)
    step = DecontaminationFilter(config, hits_dir=str(Path(run.out_dir) / HITS_DIR))
    return run_stage(
        run,
        ShardReader(list(inputs)),
        [step],
        extra=lambda m: decontam_extra(Path(run.out_dir), config, summary, unmatched),
    )
