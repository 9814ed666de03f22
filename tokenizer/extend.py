"""Extend an existing tokenizer with the markup tokens, keeping every old id.

Continued pretraining starts from a model whose embedding rows are indexed by its tokenizer's
ids, so an extension may only append. For a SentencePiece `.model` the new tokens become
USER_DEFINED pieces appended to the model proto (matched in raw text before any other piece,
so each is one id; they work at once without retraining, FIELD-NOTES 7). A token the base model
already holds as an ordinary piece keeps its id and is made USER_DEFINED so it is never split;
a token the base holds as a control or byte piece cannot match text and is reported. For a
Hugging Face `tokenizer.json` the tokens are added as (non-special) added tokens. The new ids are
recorded in `tokenizer.meta.json`: the launcher resizes the embeddings to `vocab_size`.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from sciloom.corpus.errors import UsageError
from sciloom.manifests.checksums import sha256_file
from sciloom.tokenizer.metadata import MODEL_NAME, write_megatron_metadata, write_metadata
from sciloom.tokenizer.symbols import markup_symbols

logger = logging.getLogger(__name__)

HF_NAME = "tokenizer.json"


def extend_tokenizer(base: Path, out_dir: Path, tokens: list[str] | None = None) -> Path:
    """Append `tokens` (default: the markup registry) to `base`; return the new model's path.

    `base` is a SentencePiece `.model` (output `out_dir/tokenizer.model`) or a Hugging Face
    `tokenizer.json`, or a folder holding one (output `out_dir/tokenizer.json`).
    """
    base = Path(base)
    if base.is_dir():
        found = [base / n for n in (MODEL_NAME, HF_NAME) if (base / n).is_file()]
        if not found:
            raise UsageError(f"{base}: no {MODEL_NAME} or {HF_NAME} in this folder")
        base = found[0]
    if not base.is_file():
        raise UsageError(f"{base}: no such tokenizer file")
    tokens = markup_symbols() if tokens is None else list(dict.fromkeys(tokens))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if base.suffix == ".json":
        return _extend_hf(base, out_dir, tokens)
    return _extend_sentencepiece(base, out_dir, tokens)


def _extend_sentencepiece(base: Path, out_dir: Path, tokens: list[str]) -> Path:
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    piece_type = pb.ModelProto.SentencePiece
    proto = pb.ModelProto()
    try:
        proto.ParseFromString(base.read_bytes())
    except Exception as err:  # protobuf raises DecodeError, or others on garbage
        raise UsageError(f"{base}: not a SentencePiece model ({err})") from err
    if not proto.pieces:
        raise UsageError(f"{base}: not a SentencePiece model (no pieces)")
    old_pieces = [p.piece for p in proto.pieces]
    index = {p.piece: i for i, p in enumerate(proto.pieces)}
    added: dict[str, int] = {}
    retyped: dict[str, int] = {}
    present: dict[str, int] = {}
    unusable: dict[str, int] = {}
    for tok in tokens:
        i = index.get(tok)
        if i is None:
            piece = proto.pieces.add()
            piece.piece, piece.score, piece.type = tok, 0.0, piece_type.USER_DEFINED
            index[tok] = added[tok] = len(proto.pieces) - 1
            proto.trainer_spec.user_defined_symbols.append(tok)
        elif proto.pieces[i].type == piece_type.USER_DEFINED:
            present[tok] = i
        elif proto.pieces[i].type == piece_type.NORMAL:
            proto.pieces[i].type = piece_type.USER_DEFINED
            retyped[tok] = i
        else:
            unusable[tok] = i
    if unusable:
        logger.warning(
            "extend: %s exist in %s as control/byte pieces and cannot match text", list(unusable), base
        )
    model_path = out_dir / MODEL_NAME
    tmp = model_path.with_suffix(".model.tmp")
    tmp.write_bytes(proto.SerializeToString())
    os.replace(tmp, model_path)
    sp = spm.SentencePieceProcessor(model_file=str(model_path))
    # The promise of this module, checked on the written file rather than assumed.
    assert all(sp.id_to_piece(i) == p for i, p in enumerate(old_pieces)), "an old id changed"
    write_metadata(
        model_path,
        {
            "kind": "extended",
            "library": "sentencepiece",
            "sentencepiece_version": spm.__version__,
            "vocab_size": sp.get_piece_size(),
            "base": {"path": str(base), "sha256": sha256_file(base), "vocab_size": len(old_pieces)},
            "added_ids": added,
            "retyped_ids": retyped,
            "present_ids": present,
            "unusable_ids": unusable,
            "special_ids": {"unk": sp.unk_id(), "bos": sp.bos_id(), "eos": sp.eos_id(), "pad": sp.pad_id()},
            "normalizer": proto.normalizer_spec.name,
        },
    )
    write_megatron_metadata(model_path)
    logger.info("extend: %s + %d tokens -> %s", base, len(added), model_path)
    return model_path


def _extend_hf(base: Path, out_dir: Path, tokens: list[str]) -> Path:
    from tokenizers import AddedToken, Tokenizer

    try:
        tok = Tokenizer.from_file(str(base))
    except Exception as err:  # tokenizers raises its own Exception type on bad JSON
        raise UsageError(f"{base}: not a Hugging Face tokenizer.json ({err})") from err
    old_vocab = tok.get_vocab(with_added_tokens=True)
    old_size = tok.get_vocab_size(with_added_tokens=True)
    new = [t for t in tokens if t not in old_vocab]
    tok.add_tokens([AddedToken(t, normalized=False, special=False, single_word=False) for t in new])
    vocab = tok.get_vocab(with_added_tokens=True)
    assert all(vocab[p] == i for p, i in old_vocab.items()), "an old id changed"
    out_path = out_dir / HF_NAME
    tmp = out_path.with_suffix(".json.tmp")
    tok.save(str(tmp))
    os.replace(tmp, out_path)
    for extra in ("tokenizer_config.json", "special_tokens_map.json"):
        # The HF folder around the tokenizer (chat template, special-token roles) travels along.
        if (base.parent / extra).is_file() and base.parent != out_dir:
            shutil.copyfile(base.parent / extra, out_dir / extra)
    meta: dict[str, Any] = {
        "kind": "extended",
        "library": "huggingface",
        "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "base": {"path": str(base), "sha256": sha256_file(base), "vocab_size": old_size},
        "added_ids": {t: vocab[t] for t in new},
        "present_ids": {t: old_vocab[t] for t in tokens if t in old_vocab},
    }
    write_metadata(out_path, meta)
    logger.info("extend: %s + %d tokens -> %s", base, len(new), out_path)
    return out_path


def added_ids(model_path: str | os.PathLike) -> dict[str, int]:
    """The ids an extension added (empty for a trained model)."""
    from sciloom.tokenizer.metadata import read_metadata

    meta = read_metadata(model_path) or {}
    return dict(meta.get("added_ids", {}))


__all__ = ["extend_tokenizer", "added_ids"]
