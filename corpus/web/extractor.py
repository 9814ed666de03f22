"""`WebExtractor`: HTML files and WARC responses -> documents with formulas as LaTeX.

The reader wires pure functions together: raw page bytes (a file, or a WARC response from
warc.py) -> math prefilter (prefilter.py: a page without any math markup is dropped as
`no_math_markers` before it is decoded) -> Unicode (html_decode.py) -> main text with math
(html_text.py) -> math score (math_score.py) -> Document. Every page that fails becomes a quarantine entry with its reason,
never a crash of the stage: undecodable or non-HTML bytes, a corrupt WARC, a page over the time
limit, and a page that crashes the parser (any other exception, reason `extractor_crash`, with
the exception text as detail and the page bytes kept under quarantine/files).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import logging
import os
import signal
import threading
import zlib
from collections.abc import Iterable, Iterator

from datatrove.data import Document

from sciloom.corpus.errors import InputError
from sciloom.corpus.record import make_document
from sciloom.corpus.step import SciloomReader
from sciloom.corpus.web.config import WebConfig
from sciloom.corpus.web.html_decode import decode_html, looks_like_html
from sciloom.corpus.web.html_text import NO_TEXT, ExtractOptions, extract_page
from sciloom.corpus.web.math_score import math_score, score_bin
from sciloom.corpus.web.prefilter import NO_MATH_MARKERS, has_math_markers
from sciloom.corpus.web.warc import is_warc, iter_html_responses

logger = logging.getLogger(__name__)

PAGE_TIMEOUT = "page_timeout"
EXTRACTOR_CRASH = "extractor_crash"
PAGE_TOO_LARGE = "page_too_large"
LOW_MATH_SCORE = "low_math_score"
BAD_GZIP = "bad_gzip"
EXTRACTOR = "sciloom.web"


class PageTimeout(BaseException):
    """Raised by the page timer. A BaseException, so that libraries' `except Exception` blocks
    (trafilatura's fallbacks, grammar errors) cannot swallow it and keep working past the limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise PageTimeout in this block after `seconds` (SIGALRM: only in a process's main thread,
    which is where datatrove's local executor runs each task; elsewhere no limit is applied)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def _raise(signum, frame):  # noqa: ARG001
        raise PageTimeout()

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def doc_id(path: str, offset: int | None) -> str:
    """`<file stem>-<hash of path and offset>`: readable, and unique across folders and records."""
    key = f"{os.path.abspath(path)}::{offset if offset is not None else ''}"
    stem = os.path.basename(path).split(".")[0][:40] or "page"
    return f"{stem}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:16]}"


class WebExtractor(SciloomReader):
    """Reader step: each input is an HTML file or a WARC(.gz); yields one Document per page."""

    name = "web extract"

    def __init__(self, paths: list[str], config: WebConfig | None = None, source: str = "web") -> None:
        super().__init__(paths, source)
        self.config = config or WebConfig()

    def options(self) -> ExtractOptions:
        c = self.config
        return ExtractOptions(
            favor_precision=c.favor_precision,
            include_tables=c.include_tables,
            include_comments=c.include_comments,
            fast=c.trafilatura_fast,
            main_content=c.main_content,
            min_formula_share=c.min_formula_share,
            boundary_tokens=c.boundary_tokens,
            mathml=c.convert_mathml,
        )

    def read(self, path: str) -> Iterable[Document]:
        if is_warc(path):
            try:
                for r in iter_html_responses(path, self.config.max_page_bytes):
                    doc = self.page(
                        r.payload,
                        path,
                        offset=r.offset,
                        url=r.url,
                        content_type=r.content_type,
                        extra={"warc_date": r.date, "warc_record_id": r.record_id},
                    )
                    if doc is not None:
                        yield doc
            except InputError as err:
                self.quarantine(
                    input=path, reason=err.reason, detail=err.detail, source=self.source, count_in=True
                )
            return
        # Read (and expand) at most one byte past the page cap: `page` quarantines a longer page
        # as page_too_large, and a gzip bomb is never expanded further than that.
        cap = self.config.max_page_bytes + 1
        with open(path, "rb") as fh:
            data = fh.read(cap)
        if path.lower().endswith(".gz") and data[:2] == b"\x1f\x8b":
            try:  # saved pages are often gzipped (`page.html.gz`)
                with open(path, "rb") as fh, gzip.GzipFile(fileobj=fh) as gz:
                    data = gz.read(cap)
            except (OSError, EOFError, zlib.error) as err:
                self.quarantine(
                    input=path, reason=BAD_GZIP, detail=str(err), source=self.source, data=data, count_in=True
                )
                return
        doc = self.page(data, path)
        if doc is not None:
            yield doc

    def page(
        self,
        data: bytes,
        path: str,
        *,
        offset: int | None = None,
        url: str | None = None,
        content_type: str | None = None,
        extra: dict | None = None,
    ) -> Document | None:
        """One page -> Document, or None after quarantining/dropping it (counted either way)."""
        member = f"offset={offset}" if offset is not None else None
        # Bad input (empty, binary, oversized, not HTML) goes on to the checks that quarantine it.
        prefilter = (
            self.config.prefilter and len(data) <= self.config.max_page_bytes and looks_like_html(data)
        )
        if prefilter and not has_math_markers(data):
            doc = self._document(path, offset, url, "", {}, extra, None)
            self.count_in(self.source, len(data))
            self.drop(doc, NO_MATH_MARKERS)
            return None
        with self.track_time():
            try:
                if len(data) > self.config.max_page_bytes:
                    raise InputError(PAGE_TOO_LARGE, f"{len(data)} bytes", path=path)
                with time_limit(self.config.page_timeout_s):
                    decoded = decode_html(data, content_type, path=path)
                    page = extract_page(decoded.text, self.options(), path=path)
            except PageTimeout:
                err = InputError(PAGE_TIMEOUT, f"over {self.config.page_timeout_s} s", path=path)
                self._quarantine_page(path, member, err, data)
                return None
            except InputError as err:
                if err.reason == NO_TEXT:
                    doc = self._document(path, offset, url, "", {}, extra, None)
                    self.count_in(self.source, len(data))
                    self.drop(doc, NO_TEXT)
                    return None
                self._quarantine_page(path, member, err, data)
                return None
            except Exception as err:  # a parser crash must not stop the stage
                logger.exception("extractor crashed on %s %s", path, member or "")
                crash = InputError(EXTRACTOR_CRASH, f"{type(err).__name__}: {err}", path=path)
                self._quarantine_page(path, member, crash, data)
                return None
        score = math_score(page.formulas, page.text)
        metadata = {
            "title": page.title,
            "math": score,
            "formulas_found": page.found,
            "rescued_blocks": page.rescued_blocks,
            "encoding": decoded.encoding,
        }
        if page.mathml_failures:
            metadata["mathml_failures"] = page.mathml_failures
        sha = hashlib.sha256(data).hexdigest()
        doc = self._document(path, offset, url or page.url, page.text, metadata, extra, sha)
        self.count_in(self.source, len(data))
        self.stat_update(f"web_math_bin={score_bin(score['score'])}")
        for kind, n in score["markup"].items():
            self.stat_update(f"web_markup={kind}", value=n)
        if score["score"] < self.config.min_math_score:
            self.drop(doc, LOW_MATH_SCORE)
            return None
        return doc

    def _document(self, path, offset, url, text, metadata, extra, sha256) -> Document:
        # `url` is the page's URL when known (WARC target URI, canonical link), else its file path.
        url = url or path
        provenance = {"input": path, "extractor": EXTRACTOR}
        if offset is not None:
            provenance["member"] = f"offset={offset}"
            provenance["offset"] = offset
        if sha256:
            provenance["sha256"] = sha256
        for k, v in (extra or {}).items():
            if v is not None:
                provenance[k] = v
        return make_document(
            doc_id(path, offset), text, self.source, url=url, metadata=metadata, provenance=provenance
        )

    def _quarantine_page(self, path: str, member: str | None, err: InputError, data: bytes) -> None:
        self.quarantine(
            input=path,
            member=member,
            reason=err.reason,
            detail=err.detail,
            source=self.source,
            data=data,
            count_in=True,
        )
