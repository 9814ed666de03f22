"""How a tokenizer splits text: pieces of a sample, and fertility per source.

Fertility (tokens per whitespace word, tokens per UTF-8 byte) is the number to watch when
choosing vocab size and sample: a tokenizer that never saw LaTeX spends several tokens on every
`\\frac`, one that merged digits spends fewer tokens but learns arithmetic worse (Galactica).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from datatrove.data import Document

from sciloom.corpus.record import source_of
from sciloom.tokenizer.encode import DocumentEncoder, load_encoder

SAMPLE_TEXT = (
    "Theorem 1. For $n \\geq 12345$ we have\n"
    "\\begin{equation}\n\t\\sum_{k=1}^{n} \\frac{1}{k^2} < \\frac{\\pi^2}{6}, \\quad x² → ∞\n\\end{equation}\n"
    "as shown in [START_REF] Prime Numbers, Euler[END_REF].\n"
    "<work>\nx = 48 / 2\n</work>"
)


@dataclass
class Fertility:
    documents: int = 0
    words: int = 0
    bytes: int = 0
    tokens: int = 0

    @property
    def tokens_per_word(self) -> float:
        return self.tokens / self.words if self.words else 0.0

    @property
    def tokens_per_byte(self) -> float:
        return self.tokens / self.bytes if self.bytes else 0.0

    def to_dict(self) -> dict:
        return {
            **asdict(self),
            "tokens_per_word": round(self.tokens_per_word, 4),
            "tokens_per_byte": round(self.tokens_per_byte, 4),
        }


def split_text(encoder: DocumentEncoder, text: str) -> list[tuple[int, str]]:
    """(id, piece) for every token of `text`."""
    return [(i, encoder.id_to_piece(i)) for i in encoder.encode(text)]


def fertility(
    encoder: DocumentEncoder, docs: Iterable[Document], max_docs: int = 1000
) -> dict[str, Fertility]:
    """Fertility per source over at most `max_docs` documents of each source (in input order)."""
    out: dict[str, Fertility] = {}
    for doc in docs:
        f = out.setdefault(source_of(doc), Fertility())
        if f.documents >= max_docs:
            continue
        f.documents += 1
        f.words += len(doc.text.split())
        f.bytes += len(doc.text.encode("utf-8", errors="surrogatepass"))
        f.tokens += len(encoder.encode(doc.text))
    return dict(sorted(out.items()))


def fertility_of_files(
    model: str | os.PathLike, files: Sequence[str], max_docs: int = 1000
) -> dict[str, Fertility]:
    from sciloom.corpus.shards import read_documents

    return fertility(load_encoder(model), read_documents(files), max_docs)
