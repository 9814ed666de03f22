"""A WARC built from the web-math pages gives the same documents as the HTML files, with URLs."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from sciloom.corpus.cli.main import main
from sciloom.corpus.web.warc import iter_html_responses

SUBFOLDERS = ("pages", "pages-negative", "pages-extra")


def page_urls(web_math: Path) -> dict[str, str]:
    urls = {}
    for line in (web_math / "formulas.jsonl").read_text().splitlines():
        rec = json.loads(line)
        urls[rec["page"] + ".html"] = rec["url"]
    return urls


@pytest.fixture(scope="module")
def warc_file(web_math: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """All pages as Common Crawl-style responses (FIELD-NOTES 2 writer call), plus a request
    record and a PNG response that the extractor must skip."""
    path = tmp_path_factory.mktemp("warc") / "web-math.warc.gz"
    known = page_urls(web_math)
    url_of: dict[str, str] = {}
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for sub in SUBFOLDERS:
            for page in sorted((web_math / sub).glob("*.html")):
                url = known.get(page.name, f"https://example.org/{sub}/{page.name}")
                url_of[url] = page.name
                req = writer.create_warc_record(url, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n"))
                writer.write_record(req)
                record = writer.create_warc_record(
                    url,
                    "response",
                    payload=io.BytesIO(page.read_bytes()),
                    http_headers=StatusAndHeaders(
                        "200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1"
                    ),
                    warc_headers_dict={"WARC-Identified-Payload-Type": "text/html"},
                )
                writer.write_record(record)
        png = writer.create_warc_record(
            "https://example.org/logo.png",
            "response",
            payload=io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
            http_headers=StatusAndHeaders("200 OK", [("Content-Type", "image/png")], protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Identified-Payload-Type": "image/png"},
        )
        writer.write_record(png)
    return path, url_of


@pytest.fixture(scope="module")
def warc_stage(warc_file, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("warcstage") / "stage"
    argv = ["extract", "web", str(warc_file[0]), "--keep-non-math", "--out", str(out), "--workers", "1"]
    assert main(argv) == 0  # every page, like the `web_stage` it is compared with
    return out


def test_warc_yields_only_html_responses_with_offsets(warc_file) -> None:
    path, url_of = warc_file
    responses = list(iter_html_responses(str(path)))
    assert len(responses) == len(url_of) == 24
    assert all(r.url in url_of and r.date and r.offset >= 0 for r in responses)
    assert len({r.offset for r in responses}) == len(responses)


def test_warc_gives_the_same_documents_as_the_html_files(
    warc_file, warc_stage: Path, web_docs: dict, stage_rows
) -> None:
    _, url_of = warc_file
    warc_docs = stage_rows(warc_stage)
    assert len(warc_docs) == 24
    for url, doc in warc_docs.items():
        page = url_of[url]
        assert doc["url"] == url
        assert doc["text"] == web_docs[page]["text"], page
        assert doc["metadata"]["math"] == web_docs[page]["metadata"]["math"], page
        prov = doc["provenance"]
        assert prov["input"].endswith("web-math.warc.gz") and prov["offset"] >= 0 and prov["warc_date"]


def test_warc_offsets_point_at_their_records(warc_file, warc_stage: Path, stage_rows) -> None:
    from warcio.archiveiterator import ArchiveIterator

    path, _ = warc_file
    for doc in list(stage_rows(warc_stage).values())[:3]:
        with open(path, "rb") as fh:
            fh.seek(doc["provenance"]["offset"])
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_headers.get_header("WARC-Target-URI") == doc["url"]


def test_corrupt_warc_is_quarantined_not_fatal(tmp_path: Path) -> None:
    bad = tmp_path / "broken.warc.gz"
    bad.write_bytes(gzip.compress(b"WARC/1.0\r\nthis is not a warc header block\r\n\r\n") + b"\x00garbage")
    out = tmp_path / "stage"
    assert main(["extract", "web", str(bad), "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sources"]["web"]["quarantined_reasons"] == {"bad_warc": 1}
    assert manifest["sources"]["web"]["docs"]["quarantined"] == 1
