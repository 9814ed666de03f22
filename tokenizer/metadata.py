"""The metadata written beside every tokenizer model, and the model fingerprint.

`tokenizer.meta.json` sits next to `tokenizer.model`. It is deliberately not called
`tokenizer.json`: Hugging Face, datatrove and megatron load a `tokenizer.json` found in a folder as a
Hugging Face tokenizer. It records the sha256 of the model file (the fingerprint that datasets
carry so they are never read with another tokenizer), the settings, the special and reserved ids,
and for an extended model the ids that were added (the launcher resizes embeddings to cover them).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sciloom.manifests.checksums import sha256_file

MODEL_NAME = "tokenizer.model"
METADATA_NAME = "tokenizer.meta.json"
# megatron-core's `MegatronTokenizer.from_pretrained(path)` reads this file from the model's folder.
MEGATRON_METADATA_NAME = "tokenizer_metadata.json"
FORMAT = "sciloom-tokenizer"
FORMAT_VERSION = 1


def fingerprint(model_path: str | os.PathLike) -> str:
    """sha256 of the model file: two models with the same fingerprint encode identically."""
    return sha256_file(model_path)


def metadata_path(model_path: str | os.PathLike) -> Path:
    return Path(model_path).with_name(METADATA_NAME)


def write_metadata(model_path: str | os.PathLike, fields: dict[str, Any]) -> Path:
    """Write the metadata of `model_path` (atomically), adding format, file name and fingerprint."""
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": Path(model_path).name,
        "sha256": fingerprint(model_path),
        **fields,
    }
    path = metadata_path(model_path)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path


def write_megatron_metadata(model_path: str | os.PathLike) -> Path:
    """`tokenizer_metadata.json` as `MegatronTokenizer.write_metadata` writes it, for a SentencePiece
    model: then `MegatronTokenizer.from_pretrained(model_path)` works without arguments."""
    meta = {
        "library": "sentencepiece",
        "class_name": None,
        "class_path": None,
        "model_type": "default",
        "chat_template": None,
    }
    path = Path(model_path).with_name(MEGATRON_METADATA_NAME)
    path.write_text(json.dumps(meta) + "\n")
    return path


def read_metadata(model_path: str | os.PathLike) -> dict[str, Any] | None:
    """The metadata beside `model_path`, or None for a model sciloom did not write."""
    path = metadata_path(model_path)
    if not path.is_file():
        return None
    return json.loads(path.read_text())
