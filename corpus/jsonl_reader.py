"""The one reader of document rows (JSONL, JSONL.gz, Parquet) for every stage: a bad line costs that line.

Every stage that reads documents (filter, dedup, decontam, prompts, mix, tokenizer train, tokenize)
goes through `iter_row_results`, which yields, for each line or row, either the row or a
`RowProblem` naming the file, the line and the reason:

- a line that is not valid UTF-8 (`invalid_utf8`), not a JSON object (`bad_json_line`), or longer
  than the document-size cap allows (`document_too_large`) is one problem; reading goes on at the
  next line;
- a row whose `text` is over the cap is `document_too_large`;
- a file that turns unreadable part-way (truncated gzip, corrupt Parquet) gives every row read
  before the break, then one problem for the rest (`truncated_gzip`, `unreadable_parquet`, ...);
- a compressed file that expands past its budget (`ReadLimits.expanded_budget`) stops there with
  one `decompression_too_large` problem: a gzip bomb costs a bounded amount of time and disk.

Lines are read from the (decompressed) byte stream with a length limit, so a 1 GB line is never
held in memory: it is skipped chunk by chunk to its newline. datatrove's `JsonlReader` (the peer)
decodes the stream as text, so one stray byte ends the file, and only logs bad lines
(STYLE.md section 5.5); hence this module rather than the library reader.

The caps live in `ReadLimits`; its defaults can be changed for a whole run, workers included, by
the environment (`SCILOOM_MAX_DOCUMENT_MB`, `SCILOOM_MAX_EXPANSION_RATIO`), which the `--max-document-mb`
option of the stage commands sets.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from sciloom.corpus.errors import UsageError

BAD_JSON_LINE = "bad_json_line"  # not valid JSON, or not a JSON object
INVALID_UTF8 = "invalid_utf8"
DOCUMENT_TOO_LARGE = "document_too_large"
TRUNCATED_GZIP = "truncated_gzip"
CORRUPT_GZIP = "corrupt_gzip"
DECOMPRESSION_TOO_LARGE = "decompression_too_large"
UNREADABLE_JSONL = "unreadable_jsonl"
UNREADABLE_PARQUET = "unreadable_parquet"
MISSING_TEXT = "missing_text_field"
TEXT_NOT_STRING = "text_not_string"

MIB = 1024 * 1024
ENV_MAX_DOCUMENT_MB = "SCILOOM_MAX_DOCUMENT_MB"
ENV_MAX_EXPANSION_RATIO = "SCILOOM_MAX_EXPANSION_RATIO"
# A JSON line may hold its text escaped (\uXXXX for non-ASCII takes up to 2x the UTF-8 bytes of
# CJK, more for control characters) plus metadata; a line longer than this many times the cap
# cannot hold a document under the cap in any usual escaping, so it is refused unparsed.
LINE_SLACK = 4
SKIP_CHUNK = 4 * MIB
SHOWN_BYTES = 200
PARQUET_BATCH_ROWS = 2048
# Decompression is cut at `max_expansion_ratio` x the file's size on disk, but never below this
# floor (small real files compress well: 1 KB of JSON can be 40x).
MIN_EXPANDED_BUDGET = 256 * MIB
GZIP_SUFFIXES = (".gz",)
COMPRESSED_CHUNK = 256 * 1024
READ_BUFFER = 1024 * 1024
UTF8_BOM = b"\xef\xbb\xbf"


def _env_number(name: str, default: float) -> float:
    text = os.environ.get(name)
    if text is None or text == "":
        return default
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{name}={text!r} is not a number") from None
    if value <= 0:
        raise UsageError(f"{name} must be above 0, got {text}")
    return value


@dataclass(frozen=True)
class ReadLimits:
    """Caps applied to every document and compressed input at read time."""

    max_document_bytes: int = 10 * MIB
    """UTF-8 bytes of one document's text (default 10 MiB, far above any arXiv paper or web page:
    the largest arXiv source papers run a few MB of TeX; beyond this, dedup and tokenization cost
    GBs of memory per document)."""
    max_expansion_ratio: float = 100.0
    """Expanded / on-disk size at which reading a compressed input stops (gzip on text gives
    3-10x; 100x leaves room for repetitive JSON, while a bomb of zeros expands ~1000x)."""

    min_expanded_bytes: int = MIN_EXPANDED_BUDGET
    """The expansion budget is never below this (small real files can expand 40x and more)."""

    def __post_init__(self) -> None:
        if self.max_document_bytes < 1:
            raise UsageError(f"max_document_bytes must be at least 1, got {self.max_document_bytes}")
        if self.max_expansion_ratio <= 1:
            raise UsageError(f"max_expansion_ratio must be above 1, got {self.max_expansion_ratio}")

    @classmethod
    def from_env(cls) -> ReadLimits:
        """The defaults, or the values of SCILOOM_MAX_DOCUMENT_MB / SCILOOM_MAX_EXPANSION_RATIO."""
        return cls(
            max_document_bytes=int(_env_number(ENV_MAX_DOCUMENT_MB, 10) * MIB),
            max_expansion_ratio=_env_number(ENV_MAX_EXPANSION_RATIO, 100.0),
        )

    @property
    def max_line_bytes(self) -> int:
        return self.max_document_bytes * LINE_SLACK + MIB

    def expanded_budget(self, compressed_size: int) -> int:
        """Decompressed bytes one compressed input of `compressed_size` bytes may expand to."""
        return max(self.min_expanded_bytes, int(compressed_size * self.max_expansion_ratio))


@dataclass(frozen=True)
class RowProblem:
    """Why one line / row (or, with `rest=True`, the rest of a file) cannot be a document."""

    path: str
    line: int
    reason: str
    detail: str
    raw: bytes | None = None  # the start of the bad line, for the quarantine copy
    nbytes: int = 0  # bytes the problem covers (the line's length, or what is left of the file)
    rest: bool = False
    row: bool = False  # a Parquet row rather than a text line

    @property
    def member(self) -> str:
        where = "row" if self.row else "line"
        return f"{where} {self.line}" + (" onwards" if self.rest else "")


def _check_row(
    path: str, line: int, row: dict[str, Any], limits: ReadLimits, nbytes: int
) -> RowProblem | None:
    if "text" not in row:
        return RowProblem(path, line, MISSING_TEXT, "no `text` field", nbytes=nbytes)
    text = row["text"]
    if not isinstance(text, str):
        return RowProblem(path, line, TEXT_NOT_STRING, f"text is {type(text).__name__}", nbytes=nbytes)
    # len() counts code points: a cheap lower bound of the UTF-8 size, exact for ASCII.
    if len(text) > limits.max_document_bytes or (
        len(text) * 4 > limits.max_document_bytes
        and len(text.encode("utf-8", errors="surrogatepass")) > limits.max_document_bytes
    ):
        return RowProblem(
            path,
            line,
            DOCUMENT_TOO_LARGE,
            f"text of {len(text.encode('utf-8', errors='surrogatepass'))} bytes is over the "
            f"{limits.max_document_bytes}-byte cap",
            nbytes=nbytes,
        )
    return None


def _parse_line(line: bytes) -> tuple[Any, str | None]:
    """The JSON value of a line, or (None, reason)."""
    try:
        return orjson.loads(line), None
    except orjson.JSONDecodeError:
        pass
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as err:
        return None, INVALID_UTF8 + f":byte {err.start}"
    try:  # orjson refuses what json accepts (NaN, lone surrogate escapes, huge ints): keep those
        return json.loads(text), None
    except (json.JSONDecodeError, RecursionError) as err:
        return None, BAD_JSON_LINE + f":{err}"


class _GunzipRaw(io.RawIOBase):
    """Raw stream of a gzip file's decompressed bytes, multi-member, output in bounded pieces.

    `gzip.GzipFile` loses the complete lines decoded in the same buffer as a truncation (its read
    raises before returning them); under an `io.BufferedReader` this stream gives every line
    that ends before the break, and only the line cut by it is lost with the error.
    """

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self.inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
        self.pending = b""
        self.started = False
        self.out = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.out:
            if not self.pending:
                self.pending = self.fh.read(COMPRESSED_CHUNK)
                if not self.pending:
                    if self.started and not self.inflate.eof:
                        raise EOFError("compressed file ended before the end-of-stream marker")
                    return 0
            if self.inflate.eof:  # the next member of a concatenated gzip
                if not self.pending.strip(b"\0"):  # zero padding after the last member
                    self.pending = b""
                    continue
                self.inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
            self.started = True
            self.out = self.inflate.decompress(self.pending, len(buffer))
            self.pending = self.inflate.unused_data if self.inflate.eof else self.inflate.unconsumed_tail
        n = min(len(buffer), len(self.out))
        buffer[:n] = self.out[:n]
        self.out = self.out[n:]
        return n


class _CountingReader:
    """Line reads with a length limit, counting the (decompressed) bytes read."""

    def __init__(self, fh: Any, budget: int | None) -> None:
        self.fh = fh
        self.budget = budget
        self.read_bytes = 0

    def readline(self, limit: int) -> bytes:
        line = self.fh.readline(limit)
        self.read_bytes += len(line)
        return line

    @property
    def over_budget(self) -> bool:
        return self.budget is not None and self.read_bytes > self.budget


class _Stop(Exception):
    def __init__(self, problem: RowProblem) -> None:
        self.problem = problem


def iter_jsonl_values(
    path: str, limits: ReadLimits | None = None
) -> Iterator[tuple[int, dict[str, Any] | None, RowProblem | None, bytes | None]]:
    """(line number, JSON object or None, problem or None, the raw line) of a JSONL(.gz) file.

    Blank lines are skipped; no field is checked (for readers of other row shapes: problem sets).
    """
    path = str(path)
    limits = limits or ReadLimits.from_env()
    compressed = path.endswith(GZIP_SUFFIXES)
    try:
        size = os.path.getsize(path)
        raw_fh = open(path, "rb")
    except OSError as err:
        yield 0, None, RowProblem(path, 0, UNREADABLE_JSONL, str(err), rest=True), None
        return
    with raw_fh:
        fh: Any = io.BufferedReader(_GunzipRaw(raw_fh), READ_BUFFER) if compressed else raw_fh
        reader = _CountingReader(fh, limits.expanded_budget(size) if compressed else None)
        lineno = 0
        limit = limits.max_line_bytes
        while True:
            try:
                line = reader.readline(limit + 1)
                if not line:
                    return
                lineno += 1
                too_long = len(line) > limit
                if too_long:  # skip the rest of the line without holding it
                    head, total = line[:SHOWN_BYTES], len(line)
                    while not line.endswith(b"\n"):
                        line = reader.readline(SKIP_CHUNK)
                        if not line:
                            break
                        total += len(line)
                        if reader.over_budget:
                            break
                if reader.over_budget:
                    raise _Stop(
                        RowProblem(
                            path,
                            lineno,
                            DECOMPRESSION_TOO_LARGE,
                            f"expanded past {reader.budget} bytes ({limits.max_expansion_ratio:g}x the "
                            f"{size} bytes on disk); the rest of the file is not read",
                            nbytes=max(0, size - raw_fh.tell()),
                            rest=True,
                        )
                    )
            except (OSError, EOFError, zlib.error) as err:
                reason = UNREADABLE_JSONL
                if compressed:
                    reason = TRUNCATED_GZIP if isinstance(err, EOFError) else CORRUPT_GZIP
                yield (
                    lineno + 1,
                    None,
                    RowProblem(path, lineno + 1, reason, f"{type(err).__name__}: {err}", nbytes=0, rest=True),
                    None,
                )
                return
            except _Stop as stop:
                yield stop.problem.line, None, stop.problem, None
                return
            if too_long:
                yield (
                    lineno,
                    None,
                    RowProblem(
                        path,
                        lineno,
                        DOCUMENT_TOO_LARGE,
                        f"line of {total} bytes is over the {limit}-byte line limit "
                        f"({LINE_SLACK}x the {limits.max_document_bytes}-byte document cap)",
                        raw=head,
                        nbytes=total,
                    ),
                    None,
                )
                continue
            if lineno == 1 and line.startswith(UTF8_BOM):  # written by some Windows tools
                line = line[len(UTF8_BOM) :]
            if not line.strip():
                continue
            value, reason = _parse_line(line)
            if reason is not None:
                name, _, detail = reason.partition(":")
                problem = RowProblem(path, lineno, name, detail, raw=line[:SHOWN_BYTES], nbytes=len(line))
                yield lineno, None, problem, line
                continue
            if not isinstance(value, dict):
                yield (
                    lineno,
                    None,
                    RowProblem(
                        path,
                        lineno,
                        BAD_JSON_LINE,
                        f"a JSON {type(value).__name__}, not an object",
                        raw=line[:SHOWN_BYTES],
                        nbytes=len(line),
                    ),
                    line,
                )
                continue
            yield lineno, value, None, line


def _iter_parquet(
    path: str, limits: ReadLimits
) -> Iterator[tuple[int, dict[str, Any] | None, RowProblem | None]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = Path(path).name
    row_number = 0
    try:
        pf = pq.ParquetFile(path)
        if "text" not in pf.schema_arrow.names:
            yield (
                0,
                None,
                RowProblem(path, 0, MISSING_TEXT, "Parquet file has no `text` column", rest=True, row=True),
            )
            return
        for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            for row in batch.to_pylist():
                row_number += 1
                if row.get("id") is None:  # third-party Parquet without ids: name them by position
                    row["id"] = f"{name}:{row_number}"
                text = row.get("text")
                nbytes = len(text.encode("utf-8", errors="surrogatepass")) if isinstance(text, str) else 0
                problem = _check_row(path, row_number, row, limits, nbytes)
                if problem is not None:
                    yield row_number, None, dataclasses.replace(problem, row=True)
                    continue
                yield row_number, row, None
    except (pa.ArrowException, OSError) as err:
        yield (
            row_number + 1,
            None,
            RowProblem(
                path, row_number + 1, UNREADABLE_PARQUET, f"{type(err).__name__}: {err}", rest=True, row=True
            ),
        )


def iter_row_results(
    path: str | os.PathLike, limits: ReadLimits | None = None
) -> Iterator[tuple[int, dict[str, Any] | None, RowProblem | None]]:
    """(line or row number, row, None) for each document row of a file, (n, None, problem) otherwise.

    Never raises for bad data: every problem is yielded, and reading goes on where it can. JSONL
    rows are checked for a string `text` and the size cap; callers check the other fields
    (`shards.line_problem`). Row ids default to `FILE:LINE`.
    """
    path = str(path)
    limits = limits or ReadLimits.from_env()
    if path.endswith(".parquet"):
        yield from _iter_parquet(path, limits)
        return
    name = Path(path).name
    for lineno, row, problem, line in iter_jsonl_values(path, limits):
        if row is not None:
            problem = _check_row(path, lineno, row, limits, len(line or b""))
            if problem is None:
                row.setdefault("id", f"{name}:{lineno}")
                yield lineno, row, None
                continue
            row = None
        yield lineno, None, problem
