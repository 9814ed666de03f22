"""Real text from ../shared/data as shards, and tiny tokenizers trained on it once per session.

The texts are the raw TeX of the arXiv submissions (decoded as UTF-8, else latin-1 as a careless
extractor would: Cyrillic cp1251 and cp1252 papers then carry odd characters, which is the point),
the raw HTML of the web pages, their extracted text with LaTeX (the ground truth), and MATH
problems with solutions, plus the raw inputs of the embedded sample build (`corpus/sample`).
The extractors are built elsewhere; this reads the archives directly.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from real_corpus import decode_bytes, real_documents, tex_members  # noqa: E402

from sciloom.tokenizer.config import TokenizerConfig
from sciloom.tokenizer.train import train_tokenizer


def sample_inputs(sample_dir: Path) -> list[dict]:
    """The raw inputs of the embedded sample build (corpus/sample): TeX, HTML, GSM8K-style rows."""
    docs: list[dict] = []
    for path in sorted((sample_dir / "arxiv").iterdir()):
        for member, data in tex_members(path):
            docs.append(
                {"id": f"sample/{path.name}::{member}", "source": "sample", "text": decode_bytes(data)}
            )
    for path in sorted((sample_dir / "web").glob("*.html")):
        docs.append(
            {"id": f"sample/{path.name}", "source": "sample", "text": decode_bytes(path.read_bytes())}
        )
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
