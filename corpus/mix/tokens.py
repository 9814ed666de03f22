"""Token counts per document: the SentencePiece model when one is given, else an estimate.

Mix weights are shares of tokens, so the counts should come from the tokenizer the corpus will be
trained with. Before a tokenizer exists (or for a quick plan) `bytes / bytes_per_token` is used,
4 UTF-8 bytes per token by default: the common rule of thumb for English BPE vocabularies (our
32k BPE measured 4.3 bytes/token on LaTeX, FIELD-NOTES section 7). The manifest records which
counter was used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sciloom.corpus.errors import RecipeError


class TokenCounter:
    """`count(texts) -> tokens per text`; the SentencePiece model loads on first use."""

    def __init__(self, model_path: str | None = None, bytes_per_token: float = 4.0, threads: int = 1) -> None:
        self.model_path = model_path
        self.bytes_per_token = bytes_per_token
        self.threads = threads
        self._sp = None

    @property
    def method(self) -> str:
        return f"sentencepiece:{self.model_path}" if self.model_path else f"bytes/{self.bytes_per_token:g}"

    def _model(self):
        if self._sp is None:
            import sentencepiece as spm

            sp = spm.SentencePieceProcessor()
            try:
                sp.Load(str(self.model_path))
            except (OSError, RuntimeError) as err:
                raise RecipeError(f"mix: cannot load tokenizer model {self.model_path}: {err}") from err
            self._sp = sp
        return self._sp

    def from_bytes(self, nbytes: Sequence[int]) -> list[int]:
        """The estimate for texts of these UTF-8 sizes (what `count` gives without a model)."""
        return [math.ceil(b / self.bytes_per_token) for b in nbytes]

    def count(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        if self.model_path is None:
            return [
                math.ceil(len(t.encode("utf-8", errors="surrogatepass")) / self.bytes_per_token)
                for t in texts
            ]
        ids = self._model().encode(list(texts), num_threads=self.threads)
        return [len(x) for x in ids]
