"""Real text of ../shared/data as documents, read straight from the files (no sciloom extractor).

Used by the tokenizer benchmark and, through tests/tokenizer/conftest.py, by the tokenizer tests.
The texts are the raw TeX of the arXiv submissions (decoded as UTF-8, else latin-1 as a careless
extractor would: Cyrillic cp1251 and cp1252 papers then carry odd characters, which is the point),
the raw HTML of the web pages, their extracted text with LaTeX (the ground truth), and MATH
problems with solutions.
"""

from __future__ import annotations

import gzip
import json
import tarfile
import zipfile
from pathlib import Path

TEX_SUFFIXES = (".tex", ".bbl", ".sty", ".cls")


def decode_bytes(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def tex_members(path: Path) -> list[tuple[str, bytes]]:
    """(member name, bytes) of the TeX files in one submission; unreadable archives give what they can."""
    name = path.name
    if name.endswith(TEX_SUFFIXES):
        return [(name, path.read_bytes())]
    out: list[tuple[str, bytes]] = []
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    if info.filename.endswith(TEX_SUFFIXES):
                        out.append((info.filename, zf.read(info)))
            return out
        try:
            with tarfile.open(path) as tf:
                for member in tf:
                    if member.isfile() and member.name.endswith(TEX_SUFFIXES):
                        out.append((member.name, tf.extractfile(member).read()))
        except tarfile.ReadError:
            if name.endswith(".gz"):  # a gzipped single .tex (upload4.gz)
                data = gzip.decompress(path.read_bytes())
                if b"\\begin{document}" in data:
                    out.append((name, data))
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError):
        pass  # a pathological archive: keep the members read before the error
    return out


def real_documents(shared_data: Path) -> list[dict]:
    docs: list[dict] = []
    arxiv = shared_data / "arxiv-src"
    for path in sorted(arxiv.glob("*/*")):
        for member, data in tex_members(path):
            if data.strip():
                docs.append({"id": f"{path.name}::{member}", "source": "arxiv", "text": decode_bytes(data)})
    web = shared_data / "web-math"
    for path in sorted(web.glob("pages*/*.html")):
        docs.append(
            {
                "id": f"{path.parent.name}/{path.name}",
                "source": "web_html",
                "text": decode_bytes(path.read_bytes()),
            }
        )
    for path in sorted((web / "groundtruth").glob("*.jsonl")):
        for i, line in enumerate(path.read_text().splitlines()):
            docs.append({"id": f"{path.stem}:{i}", "source": "web", "text": json.loads(line)["content"]})
    for i, line in enumerate((shared_data / "problems" / "math" / "test.jsonl").read_text().splitlines()):
        row = json.loads(line)
        docs.append(
            {
                "id": f"math:{i}",
                "source": "math",
                "text": f"Problem: {row['problem']}\n\nSolution: {row['solution']}",
            }
        )
    return docs
