"""Real text from ../shared/data as shards, and tiny tokenizers trained on it once per session.

The texts are the raw TeX of the arXiv submissions (decoded as UTF-8, else latin-1 as a careless
extractor would: Cyrillic cp1251 and cp1252 papers then carry odd characters, which is the point),
the raw HTML of the web pages, their extracted text with LaTeX (the ground truth), and MATH
problems with solutions, plus the raw inputs of the embedded sample build (`corpus/sample`).
The extractors are built elsewhere; this reads the archives directly.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from sciloom.tokenizer.config import TokenizerConfig
from sciloom.tokenizer.train import train_tokenizer

TEX_SUFFIXES = (".tex", ".bbl", ".sty", ".cls")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _tex_members(path: Path) -> list[tuple[str, bytes]]:
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
        for member, data in _tex_members(path):
            if data.strip():
                docs.append({"id": f"{path.name}::{member}", "source": "arxiv", "text": _decode(data)})
    web = shared_data / "web-math"
    for path in sorted(web.glob("pages*/*.html")):
        docs.append(
            {
                "id": f"{path.parent.name}/{path.name}",
                "source": "web_html",
                "text": _decode(path.read_bytes()),
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


def sample_inputs(sample_dir: Path) -> list[dict]:
    """The raw inputs of the embedded sample build (corpus/sample): TeX, HTML, GSM8K-style rows."""
    docs: list[dict] = []
    for path in sorted((sample_dir / "arxiv").iterdir()):
        for member, data in _tex_members(path):
            docs.append({"id": f"sample/{path.name}::{member}", "source": "sample", "text": _decode(data)})
    for path in sorted((sample_dir / "web").glob("*.html")):
        docs.append({"id": f"sample/{path.name}", "source": "sample", "text": _decode(path.read_bytes())})
    for path in sorted((sample_dir / "problems").glob("*.jsonl")):
        for i, line in enumerate(path.read_text().splitlines()):
            row = json.loads(line)
            text = "\n\n".join(str(v) for v in row.values() if isinstance(v, str))
            docs.append({"id": f"sample/{path.name}:{i}", "source": "sample", "text": text})
    return docs


@pytest.fixture(scope="session")
def real_docs(shared_data: Path, repo_root: Path) -> list[dict]:
    docs = real_documents(shared_data) + sample_inputs(repo_root / "corpus" / "sample")
    assert sum(d["source"] == "arxiv" for d in docs) >= 20
    assert sum(d["source"] == "sample" for d in docs) >= 10
    return docs


@pytest.fixture(scope="session")
def real_shards(tmp_path_factory, real_docs) -> Path:
    """One JSONL shard per source (the CLI's INPUT form)."""
    folder = tmp_path_factory.mktemp("shards")
    by_source: dict[str, io.StringIO] = {}
    for doc in real_docs:
        by_source.setdefault(doc["source"], io.StringIO()).write(json.dumps(doc, ensure_ascii=False) + "\n")
    for source, buf in by_source.items():
        (folder / f"{source}.jsonl").write_text(buf.getvalue(), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def shard_paths(real_shards) -> list[str]:
    return sorted(str(p) for p in real_shards.glob("*.jsonl"))


@pytest.fixture(scope="session")
def bpe_model(tmp_path_factory, shard_paths) -> Path:
    config = TokenizerConfig(vocab_size=4000, model_type="bpe", sample_bytes=4_000_000, num_threads=2)
    return train_tokenizer(shard_paths, config, tmp_path_factory.mktemp("bpe"))


@pytest.fixture(scope="session")
def unigram_model(tmp_path_factory, shard_paths) -> Path:
    config = TokenizerConfig(vocab_size=3000, model_type="unigram", sample_bytes=2_000_000, num_threads=2)
    return train_tokenizer(shard_paths, config, tmp_path_factory.mktemp("unigram"))
