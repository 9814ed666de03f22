"""HTML responses of WARC / WARC.gz files (Common Crawl layout), with provenance.

datatrove's `WarcReader` reads the same records but decodes and filters them itself (dropping
what it cannot decode without counting it) and keeps no byte offsets. Here every HTML response
comes out raw with its URL, crawl date, record offset and HTTP Content-Type, so decoding and
quarantine happen in one place (html_decode.py) and each document points back to its record:
`warcio extract FILE OFFSET` reproduces it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from sciloom.corpus.errors import InputError
from sciloom.corpus.jsonl_reader import DECOMPRESSION_TOO_LARGE, ReadLimits

WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
HTML_TYPES = ("text/html", "application/xhtml+xml")
BAD_WARC = "bad_warc"


@dataclass(frozen=True)
class WarcResponse:
    url: str | None
    date: str | None
    offset: int
    record_id: str | None
    content_type: str | None
    payload: bytes


def is_warc(path: str) -> bool:
    return path.lower().endswith(WARC_SUFFIXES)


def _is_html(content_type: str | None, identified: str | None) -> bool:
    kind = (identified or content_type or "").split(";")[0].strip().lower()
    # Responses without any type (old crawls) are sniffed later by html_decode.
    return kind in HTML_TYPES or kind == ""


def iter_html_responses(
    path: str, max_payload_bytes: int | None = None, limits: ReadLimits | None = None
) -> Iterator[WarcResponse]:
    """Yield the HTML responses of one WARC; a corrupt file raises InputError(bad_warc).

    A payload is read up to `max_payload_bytes` + 1 bytes, never whole: a longer one comes out cut
    there (so `len(payload) > max_payload_bytes` tells the caller it is too large), and warcio
    streams past the rest of the record. Reading stops with InputError(decompression_too_large)
    once the records' declared lengths add up past the expansion budget of the file
    (`jsonl_reader.ReadLimits.expanded_budget`): a WARC.gz bomb costs bounded time and memory.
    """
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    limits = limits or ReadLimits.from_env()
    budget = limits.expanded_budget(os.path.getsize(path))
    declared = 0
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh, arc2warc=True)
        try:
            for record in it:
                declared += max(0, record.length or 0)
                if declared > budget:
                    raise InputError(
                        DECOMPRESSION_TOO_LARGE,
                        f"records declare {declared} bytes by offset {it.get_record_offset()}, over the "
                        f"{budget}-byte budget ({limits.max_expansion_ratio:g}x the file); the rest is not read",
                        path=path,
                    )
                if record.rec_type != "response":
                    continue
                http = record.http_headers
                content_type = http.get_header("Content-Type") if http is not None else None
                identified = record.rec_headers.get_header("WARC-Identified-Payload-Type")
                if not _is_html(content_type, identified):
                    continue
                stream = record.content_stream()
                payload = stream.read() if max_payload_bytes is None else stream.read(max_payload_bytes + 1)
                yield WarcResponse(
                    url=record.rec_headers.get_header("WARC-Target-URI"),
                    date=record.rec_headers.get_header("WARC-Date"),
                    offset=it.get_record_offset(),
                    record_id=record.rec_headers.get_header("WARC-Record-ID"),
                    content_type=content_type,
                    payload=payload,
                )
        except (ArchiveLoadFailed, OSError, EOFError, ValueError) as err:
            raise InputError(BAD_WARC, f"{type(err).__name__}: {err}", path=path) from err
