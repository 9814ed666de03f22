"""Train a SentencePiece model for science text: `train_tokenizer(inputs, config, out_dir)`.

The trainer settings are FIELD-NOTES section 7's, verified on LaTeX with SentencePiece 0.2.3:
byte fallback (no `<unk>` on any UTF-8 input), identity normalisation (NFKC would fold `x²` into
`x2`), no dummy prefix and no whitespace squeezing (LaTeX and code depend on spaces), digits split
(Galactica), the markup registry plus "\\n" and "\\t" as user-defined symbols. Together they make
`decode(encode(x)) == x` hold for any text (see `encode.py` for the one character it has to help).

The vocabulary size is a soft limit (`hard_vocab_limit=False`): a sample too small for the
requested size (the sample build) yields the largest vocabulary it supports instead of failing
with "Vocabulary size too high"; the metadata records the requested and the actual size.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any

import sentencepiece as spm

from sciloom.corpus.errors import RecipeError, StageError
from sciloom.corpus.output_folder import claim_output_folder
from sciloom.tokenizer.config import TokenizerConfig
from sciloom.tokenizer.metadata import MODEL_NAME, write_megatron_metadata, write_metadata
from sciloom.tokenizer.sample import SampleStats, sample_lines
from sciloom.tokenizer.symbols import BOS_ID, EOS_ID, PAD_ID, UNK_ID, markup_symbols, reserved_symbols

logger = logging.getLogger(__name__)


def trainer_settings(config: TokenizerConfig) -> dict[str, Any]:
    """Keyword arguments for `SentencePieceTrainer.train` (recorded verbatim in the metadata)."""
    return {
        "model_type": config.model_type,
        "vocab_size": config.vocab_size,
        "hard_vocab_limit": False,
        "character_coverage": config.character_coverage,
        "byte_fallback": True,
        "split_digits": config.split_digits,
        "normalization_rule_name": "identity",
        "remove_extra_whitespaces": False,
        "add_dummy_prefix": False,
        "allow_whitespace_only_pieces": True,
        "max_sentence_length": config.max_sentence_length,
        "input_sentence_size": config.input_sentence_size,
        "shuffle_input_sentence": True,
        "user_defined_symbols": reserved_symbols(config.math_boundary_tokens, config.extra_symbols),
        "unk_id": UNK_ID,
        "bos_id": BOS_ID,
        "eos_id": EOS_ID,
        "pad_id": PAD_ID,
        "num_threads": config.num_threads or os.cpu_count() or 1,
    }


def train_tokenizer(inputs: list[str], config: TokenizerConfig, out_dir: Path) -> Path:
    """Train on a sample of `inputs` (or extend `config.base_model`); return `out_dir/tokenizer.model`.

    Writes `tokenizer.model` and `tokenizer.meta.json` (fingerprint, settings, sample statistics,
    special and reserved ids). Deterministic for the same inputs, config and seed.
    """
    out_dir = Path(out_dir)
    claim_output_folder(out_dir)  # refuses a folder sciloom did not make (CLI --force adopts it first)
    if config.base_model:
        from sciloom.tokenizer.extend import extend_tokenizer

        tokens = markup_symbols(config.math_boundary_tokens, config.extra_symbols)
        return extend_tokenizer(Path(config.base_model), out_dir, tokens=tokens)
    if not inputs:
        raise StageError("tokenizer train: no inputs")
    settings = trainer_settings(config)
    stats = SampleStats()
    lines = sample_lines(inputs, config.sample_bytes, config.seed, config.max_sentence_length, stats)
    model = io.BytesIO()
    spm.set_random_generator_seed(config.seed)
    try:
        spm.SentencePieceTrainer.train(sentence_iterator=lines, model_writer=model, minloglevel=2, **settings)
    except RuntimeError as err:
        if stats.lines == 0:
            raise StageError(f"tokenizer train: the inputs hold no text ({len(inputs)} files)") from err
        raise RecipeError(
            f"tokenizer.vocab_size: SentencePiece cannot train with these settings: {err}"
        ) from err
    model_path = out_dir / MODEL_NAME
    tmp = model_path.with_suffix(".model.tmp")
    tmp.write_bytes(model.getvalue())
    os.replace(tmp, model_path)
    sp = spm.SentencePieceProcessor(model_file=str(model_path))
    actual = sp.get_piece_size()
    if actual < config.vocab_size:
        logger.warning(
            "tokenizer: the sample (%d bytes) supports %d pieces, fewer than vocab_size %d",
            stats.bytes,
            actual,
            config.vocab_size,
        )
    write_metadata(
        model_path,
        {
            "kind": "trained",
            "library": "sentencepiece",
            "sentencepiece_version": spm.__version__,
            "vocab_size": actual,
            "requested_vocab_size": config.vocab_size,
            "vocab_clamped": actual < config.vocab_size,
            "seed": config.seed,
            "settings": settings,
            "special_ids": special_ids(sp),
            "reserved_ids": {sym: sp.piece_to_id(sym) for sym in settings["user_defined_symbols"]},
            "sample": stats.to_dict(),
            "inputs": [str(p) for p in inputs],
        },
    )
    write_megatron_metadata(model_path)
    logger.info("tokenizer: trained %s (%d pieces) on %d bytes", model_path, actual, stats.bytes)
    return model_path


def special_ids(sp: spm.SentencePieceProcessor) -> dict[str, int]:
    return {"unk": sp.unk_id(), "bos": sp.bos_id(), "eos": sp.eos_id(), "pad": sp.pad_id()}
