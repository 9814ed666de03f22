"""Encode with a Hugging Face `tokenizer.json`: continued pretraining of a model whose tokenizer
is not SentencePiece (Llama 3, Qwen, GPT-NeoX), usually after `extend` added the markup tokens.

Same interface as `encode.DocumentEncoder`. The EOD id is the tokenizer's end-of-text token: the
`eos_token` of a `tokenizer_config.json` beside the file, else the first of the usual names found
in the vocabulary. `encode` runs on the calling thread (only `encode_batch` uses Rayon threads).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from sciloom.corpus.errors import UsageError

EOD_CANDIDATES = ("<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>", "<|im_end|>", "[SEP]")


class HFDocumentEncoder:
    """Text -> ids (+ EOD) with a lazily loaded Hugging Face tokenizer."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.model_path = str(path)
        self._tok = None
        self._eod: int | None = None

    def __getstate__(self) -> dict:
        return {"model_path": self.model_path, "_tok": None, "_eod": None}

    @property
    def tok(self):
        if self._tok is None:
            from tokenizers import Tokenizer

            self._tok = Tokenizer.from_file(self.model_path)
            self._eod = find_eod(Path(self.model_path), self._tok.get_vocab(with_added_tokens=True))
        return self._tok

    @property
    def eod_id(self) -> int:
        self.tok  # noqa: B018 - loads the tokenizer and finds the EOD
        assert self._eod is not None
        return self._eod

    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str, add_eod: bool = False) -> list[int]:
        ids = self.tok.encode(text, add_special_tokens=False).ids
        if add_eod:
            ids.append(self.eod_id)
        return ids

    def encode_array(self, text: str, add_eod: bool = False) -> np.ndarray:
        return np.asarray(self.encode(text, add_eod=add_eod), dtype=np.int32)

    def encode_arrays(self, texts: list[str], add_eod: bool = False) -> list[np.ndarray]:
        return [self.encode_array(t, add_eod=add_eod) for t in texts]

    def decode(self, ids: list[int]) -> str:
        return self.tok.decode(ids, skip_special_tokens=False)

    def id_to_piece(self, token_id: int) -> str:
        return self.tok.id_to_token(token_id) or ""


def find_eod(path: Path, vocab: dict[str, int]) -> int:
    config = path.with_name("tokenizer_config.json")
    if config.is_file():
        eos = json.loads(config.read_text()).get("eos_token")
        if isinstance(eos, dict):
            eos = eos.get("content")
        if isinstance(eos, str) and eos in vocab:
            return vocab[eos]
    for name in EOD_CANDIDATES:
        if name in vocab:
            return vocab[name]
    raise UsageError(f"{path}: no end-of-text token ({', '.join(EOD_CANDIDATES)}) to use as EOD")
