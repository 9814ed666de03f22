"""Check that a file really is a tokenizer before any work starts.

SentencePiece and `tokenizers` load lazily inside the workers, so a wrong `--tokenizer` (a text file,
a truncated download, a PyTorch checkpoint) used to fail deep inside a task with a C++ traceback
after the stage folder had been set up. `check_tokenizer_model` loads the model once in the calling
process and turns every failure into a one-line `UsageError` (exit 2) naming the file and the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

from sciloom.corpus.errors import UsageError

MODEL_NAME = "tokenizer.model"
HF_NAME = "tokenizer.json"


def resolve_tokenizer_model(path: str | os.PathLike) -> Path:
    """The model file named by `path`: the file itself, or `tokenizer.model`/`tokenizer.json` in a folder."""
    model = Path(path)
    if model.is_dir():
        found = [model / n for n in (MODEL_NAME, HF_NAME) if (model / n).is_file()]
        if not found:
            raise UsageError(f"{model}: no {MODEL_NAME} or {HF_NAME} in this folder")
        model = found[0]
    if not model.is_file():
        raise UsageError(f"{path}: no such tokenizer model")
    return model


def check_tokenizer_model(path: str | os.PathLike) -> Path:
    """Resolve and load the model at `path`; return its file or raise `UsageError` saying why not."""
    model = resolve_tokenizer_model(path)
    if model.suffix == ".json":
        try:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(model))
        except Exception as err:  # tokenizers raises a bare Exception on any parse failure
            raise UsageError(f"{model}: not a Hugging Face tokenizer.json ({_first_line(err)})") from err
        if tok.get_vocab_size(with_added_tokens=True) == 0:
            raise UsageError(f"{model}: not a Hugging Face tokenizer.json (empty vocabulary)")
        return model
    import sentencepiece as spm

    try:
        sp = spm.SentencePieceProcessor(model_file=str(model), num_threads=1)
    except (RuntimeError, OSError) as err:  # "could not parse ModelProto from ..."
        raise UsageError(f"{model}: not a SentencePiece model ({_first_line(err)})") from err
    if sp.get_piece_size() == 0:
        raise UsageError(f"{model}: not a SentencePiece model (no pieces)")
    return model


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
