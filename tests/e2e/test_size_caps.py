"""Size caps hold memory down: a 50 MB document and a .jsonl.gz that expands to over 1 GB are
quarantined with their reasons, the documents around them are kept, and the stage process stays
under 1 GB of peak RSS (measured as the child's ru_maxrss, in a subprocess of its own)."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sciloom.corpus.shards import read_documents, shard_files
from sciloom.manifests.schema import read_manifest_dict

MIB = 1024 * 1024
RSS_LIMIT_KIB = 1024 * 1024  # ru_maxrss is in KiB on Linux
# Runs the command given as arguments and prints the peak RSS of its process tree's largest member.
MEASURE = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.run(sys.argv[1:]).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)\n"
)


def run_measured(args: list[str], env: dict | None = None) -> tuple[int, int]:
    """(peak RSS in KiB, exit code) of `sciloom ARGS` run as a child of a fresh process."""
    command = [sys.executable, "-c", MEASURE, sys.executable, "-m", "sciloom.corpus.cli.main", *args]
    done = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=True
    )
    rss, rc = done.stdout.split()[-2:]
    return int(rss), int(rc)


def real_rows(shared_data: Path, count: int, start: int = 0) -> list[dict]:
    rows = []
    with open(shared_data / "problems" / "gsm8k" / "train.jsonl", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= start + count:
                break
            if i >= start:
                row = json.loads(line)
                rows.append({"id": f"g{i}", "text": row["question"] + "\n" + row["answer"]})
    return rows


def real_text(shared_data: Path, nbytes: int) -> str:
    """`nbytes` of real text: GSM8K solutions, each repeated block numbered (so not one repeat)."""
    blocks = [r["text"] for r in real_rows(shared_data, 400, start=1000)]
    parts, size, i = [], 0, 0
    while size < nbytes:
        part = f"[{i}] {blocks[i % len(blocks)]}\n"
        parts.append(part)
        size += len(part)
        i += 1
    return "".join(parts)[:nbytes]


def quarantined(out: Path) -> dict[str, str]:
    return {q["member"]: q["reason"] for q in read_manifest_dict(out)["quarantine"]}


def kept_ids(out: Path) -> set[str]:
    # pyarrow, not sciloom's reader: that would apply the size cap to what it reads back
    return {
        i for path in shard_files(out) for i in pq.read_table(path, columns=["id"]).column("id").to_pylist()
    }


@pytest.fixture(scope="module")
def big_documents(tmp_path_factory, shared_data) -> Path:
    """Real rows around a 50 MB document (line 3) and a 12 MB one (line 6)."""
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    rows = real_rows(shared_data, 6)
    rows.insert(2, {"id": "huge", "text": real_text(shared_data, 50 * MIB)})
    rows.insert(5, {"id": "large", "text": real_text(shared_data, 12 * MIB)})
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    return path


def test_a_50_mb_document_is_quarantined_and_dedup_stays_under_1_gb(tmp_path, big_documents):
    out = tmp_path / "out"
    rss, rc = run_measured(["dedup", str(big_documents), "--out", str(out)])
    assert rc == 0
    assert quarantined(out) == {"line 3": "document_too_large", "line 6": "document_too_large"}
    assert kept_ids(out) == {f"g{i}" for i in range(6)}
    assert rss < RSS_LIMIT_KIB, f"peak RSS {rss} KiB"


def test_the_cap_is_changed_by_max_document_mb_for_that_run_only(tmp_path, big_documents, monkeypatch):
    from sciloom.corpus.cli.main import main

    monkeypatch.delenv("SCILOOM_MAX_DOCUMENT_MB", raising=False)
    out = tmp_path / "out"
    assert main(["dedup", str(big_documents), "--out", str(out), "--max-document-mb", "20"]) == 0
    assert quarantined(out) == {"line 3": "document_too_large"}  # the 12 MB one is under 20 MiB
    assert "large" in kept_ids(out)
    assert "SCILOOM_MAX_DOCUMENT_MB" not in os.environ  # restored when the command ended
    monkeypatch.setenv("SCILOOM_MAX_DOCUMENT_MB", "0.001")  # 1 KiB: the environment sets it too
    assert main(["filter", str(big_documents), "--out", str(tmp_path / "tiny")]) == 0
    assert set(quarantined(tmp_path / "tiny").values()) == {"document_too_large"}
    assert kept_ids(tmp_path / "tiny") == set()


def write_bomb(path: Path, good: list[dict], expanded: int) -> int:
    """A .jsonl.gz: good rows, then one row whose text is `expanded` bytes of zeros, then more rows.

    Written as concatenated gzip members (valid gzip: RFC 1952 section 2.2), one 64 MiB member of
    zeros compressed once and repeated, so the test never holds more than that.
    """
    head = "".join(json.dumps(r) + "\n" for r in good[:3]) + '{"id": "bomb", "text": "'
    zeros = gzip.compress(b"0" * (64 * MIB), compresslevel=9)
    tail = '"}\n' + "".join(json.dumps(r) + "\n" for r in good[3:])
    with open(path, "wb") as fh:
        fh.write(gzip.compress(head.encode()))
        for _ in range(-(-expanded // (64 * MIB))):
            fh.write(zeros)
        fh.write(gzip.compress(tail.encode()))
    return path.stat().st_size


def test_a_small_gzip_that_expands_past_1_gb_is_cut_off_under_1_gb_of_memory(tmp_path, shared_data):
    good = real_rows(shared_data, 6)
    bomb = tmp_path / "bomb.jsonl.gz"
    size = write_bomb(bomb, good, 1100 * MIB)
    assert size < 4 * MIB  # ~1.1 GB expanded from a few MB on disk
    out = tmp_path / "out"
    rss, rc = run_measured(["dedup", str(bomb), "--out", str(out)])
    assert rc == 0
    # The rows before the bomb are kept; reading stops inside the bomb, at the expansion budget.
    assert quarantined(out) == {"line 4 onwards": "decompression_too_large"}
    assert kept_ids(out) == {"g0", "g1", "g2"}
    manifest = read_manifest_dict(out)
    docs = manifest["sources"]["unknown"]["docs"]
    assert docs["in"] == docs["kept"] + docs.get("dropped", 0) + docs["quarantined"] == 4
    assert rss < RSS_LIMIT_KIB, f"peak RSS {rss} KiB"


def test_a_gzipped_html_page_that_expands_past_the_page_cap_is_quarantined(tmp_path):
    from sciloom.corpus.cli.main import main

    page = tmp_path / "pages" / "bomb.html.gz"
    page.parent.mkdir()
    zeros = gzip.compress(b" " * (64 * MIB), compresslevel=9)
    with open(page, "wb") as fh:
        fh.write(gzip.compress(b"<html><body><p>"))
        for _ in range(8):  # 512 MiB of spaces, ~0.5 MB on disk
            fh.write(zeros)
    out = tmp_path / "out"
    assert main(["extract", "web", str(page.parent), "--out", str(out)]) == 0
    assert [q["reason"] for q in read_manifest_dict(out)["quarantine"]] == ["page_too_large"]


def write_warc(path: Path, pages: list[tuple[str, bytes]]) -> Path:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, body in pages:
            http = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            writer.write_record(
                writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http)
            )
    return path


def test_a_warc_page_over_the_page_cap_is_quarantined_and_its_neighbours_kept(tmp_path, shared_data):

    real = (shared_data / "web-math" / "pages" / "math_1.html").read_bytes()
    padding = b"<!-- " + real.replace(b"--", b"") * (-(-30 * MIB // len(real))) + b" -->"
    huge = real.replace(b"</body>", padding + b"</body>", 1)
    assert len(huge) > 30 * MIB
    warc = write_warc(
        tmp_path / "crawl.warc.gz",
        [("http://a.example/1", real), ("http://a.example/huge", huge), ("http://a.example/2", real)],
    )
    out = tmp_path / "out"
    rss, rc = run_measured(["extract", "web", str(warc), "--out", str(out)])
    assert rc == 0
    entries = read_manifest_dict(out)["quarantine"]
    assert [(q["reason"], q["detail"]) for q in entries] == [("page_too_large", f"{20 * MIB + 1} bytes")]
    urls = {d.metadata["url"] for d in read_documents(shard_files(out))}
    assert urls == {"http://a.example/1", "http://a.example/2"}
    assert rss < RSS_LIMIT_KIB, f"peak RSS {rss} KiB"


def test_warc_records_past_the_expansion_budget_stop_the_file(tmp_path):
    from sciloom.corpus.errors import InputError
    from sciloom.corpus.jsonl_reader import ReadLimits
    from sciloom.corpus.web.warc import iter_html_responses

    body = b"<html><body>" + b"<p>the same paragraph again</p>" * 20000 + b"</body></html>"  # 600 KB
    warc = write_warc(tmp_path / "bomb.warc.gz", [(f"http://b.example/{i}", body) for i in range(4)])
    limits = ReadLimits(max_expansion_ratio=2, min_expanded_bytes=1024 * 1024)  # 1 MiB budget here
    seen = []
    with pytest.raises(InputError) as err:
        for response in iter_html_responses(str(warc), limits=limits):
            seen.append(response.url)
    assert err.value.reason == "decompression_too_large"
    assert seen == ["http://b.example/0"]  # the second record's declared length passes the budget
