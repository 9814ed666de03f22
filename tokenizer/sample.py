"""The training sample: a seeded share of the documents, cut into lines SentencePiece can use.

SentencePiece trains on "sentences", one line each, held in memory. Documents are chosen by a
seeded hash of their id (so the same inputs and seed give the same sample, whatever the file
order inside a shard), at the rate that makes the expected sample `sample_bytes` long, and the
sample stops at `sample_bytes`. Each chosen document is split at newlines (newlines themselves are
a reserved symbol) and any line longer than `max_sentence_length` bytes is split at whitespace:
the trainer would otherwise skip it silently (FIELD-NOTES 7), and LaTeX paragraphs are often long.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow.parquet as pq

from sciloom.corpus.record import source_of
from sciloom.corpus.shards import iter_checked_rows, row_to_document

logger = logging.getLogger(__name__)

# A gzip'd JSONL shard holds roughly this many text bytes per file byte (enough for a sampling rate).
GZIP_RATIO = 4


@dataclass
class SampleStats:
    """What went into the trainer; recorded in the tokenizer metadata."""

    documents: int = 0
    bytes: int = 0
    lines: int = 0
    long_lines_split: int = 0
    rate: float = 1.0
    bytes_by_source: dict[str, int] = field(default_factory=dict)
    skipped_inputs: list[dict[str, str]] = field(default_factory=list)  # unreadable files, with reasons

    def to_dict(self) -> dict:
        return {
            "skipped_inputs": list(self.skipped_inputs),
            "documents": self.documents,
            "bytes": self.bytes,
            "lines": self.lines,
            "long_lines_split": self.long_lines_split,
            "rate": round(self.rate, 6),
            "bytes_by_source": dict(sorted(self.bytes_by_source.items())),
        }


def estimate_text_bytes(path: str | os.PathLike) -> int:
    """Roughly the UTF-8 text bytes in a shard, without reading it (sets the sampling rate)."""
    path = str(path)
    if path.endswith(".parquet"):
        meta = pq.ParquetFile(path).metadata
        total = 0
        for rg in range(meta.num_row_groups):
            group = meta.row_group(rg)
            for c in range(group.num_columns):
                col = group.column(c)
                if col.path_in_schema == "text":
                    total += col.total_uncompressed_size
        return total
    size = os.path.getsize(path)
    return size * GZIP_RATIO if path.endswith(".gz") else size


def keep_score(seed: int, doc_id: str) -> float:
    """A uniform number in [0, 1) fixed by seed and document id."""
    digest = hashlib.blake2b(f"{seed}\x00{doc_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2**64


def split_line(line: str, max_bytes: int) -> list[str]:
    """Cut `line` into pieces of at most `max_bytes` UTF-8 bytes, at a space when there is one."""
    data = line.encode("utf-8", errors="surrogatepass")
    if len(data) <= max_bytes:
        return [line]
    out = []
    start = 0
    while len(data) - start > max_bytes:
        cut = start + max_bytes
        while data[cut] & 0xC0 == 0x80:  # never cut inside a UTF-8 sequence
            cut -= 1
        space = data.rfind(b" ", start + max_bytes // 2, cut)
        if space > start:
            cut = space  # the space starts the next piece, as SentencePiece pieces begin with "▁"
        out.append(data[start:cut].decode("utf-8", errors="surrogatepass"))
        start = cut
    out.append(data[start:].decode("utf-8", errors="surrogatepass"))
    return out


def sample_lines(
    inputs: Sequence[str], sample_bytes: int, seed: int, max_sentence_length: int, stats: SampleStats
) -> Iterator[str]:
    """Training lines from `inputs`; fills `stats` as the trainer consumes them."""
    estimate = sum(estimate_text_bytes(p) for p in inputs)
    stats.rate = min(1.0, sample_bytes / estimate) if estimate else 1.0
    # Pass 0 takes the documents whose score is under the rate; when that falls short of
    # sample_bytes (a few large documents, a poor size estimate), pass 1 tops it up in input order.
    for top_up in (False, True):
        if top_up and stats.rate >= 1.0:
            return
        for doc in _readable_documents(inputs, stats, warn=not top_up):
            if (keep_score(seed, str(doc.id)) < stats.rate) == top_up:
                continue
            yield from _document_lines(doc, max_sentence_length, stats)
            if stats.bytes >= sample_bytes:
                return


def _readable_documents(inputs: Sequence[str], stats: SampleStats, warn: bool) -> Iterator:
    """Documents of every input through the shared reader; a bad line or the unreadable rest of
    a file (truncated gzip) is skipped and recorded, since a tokenizer sample needs no
    completeness, only good text."""
    for path in inputs:
        for _, row, problem in iter_checked_rows(path):
            if problem is None:
                yield row_to_document(row, "unknown")
            elif warn:
                stats.skipped_inputs.append(
                    {"input": str(path), "member": problem.member, "reason": problem.reason}
                )
                logger.warning("tokenizer sample: skipped %s %s: %s", path, problem.member, problem.reason)


def _document_lines(doc, max_sentence_length: int, stats: SampleStats) -> Iterator[str]:
    nbytes = len(doc.text.encode("utf-8", errors="surrogatepass"))
    stats.documents += 1
    stats.bytes += nbytes
    source = source_of(doc)
    stats.bytes_by_source[source] = stats.bytes_by_source.get(source, 0) + nbytes
    for line in doc.text.split("\n"):
        if not line:
            continue
        pieces = split_line(line, max_sentence_length)
        if len(pieces) > 1:
            stats.long_lines_split += 1
        stats.lines += len(pieces)
        yield from pieces
