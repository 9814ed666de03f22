"""`[tokenizer]` recipe section: how the SentencePiece model is trained or extended.

Defaults follow FIELD-NOTES section 7 (settings verified on LaTeX with SentencePiece 0.2.3) and
Galactica's tokenizer (Taylor et al. 2022, section 3.1: digits split, markup tokens reserved).
Settings that make the tokenizer lossless on science text (byte fallback, identity
normalisation, no dummy prefix, whitespace kept) are not knobs: turning them off would break the
round trip `decode(encode(x)) == x` that the rest of sciloom relies on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sciloom.corpus.errors import RecipeError

MODEL_TYPES = ("bpe", "unigram")
# 256 byte pieces (byte_fallback) + unk/bos/eos/pad + "\n", "\t" + the markup registry + a few merges.
MIN_VOCAB_SIZE = 320
# Largest id SentencePiece can store in the int32 token arrays megatron-core reads.
MAX_VOCAB_SIZE = 2**31 - 1


@dataclass
class TokenizerConfig:
    """Train (or, with `base_model`, extend) the corpus tokenizer."""

    vocab_size: int = 32000
    """Pieces in the trained model. 32k as in FIELD-NOTES 7 (Galactica used 50k). A sample too small
    for this many pieces gets fewer (SentencePiece soft limit); the metadata records both numbers."""

    model_type: str = "bpe"
    """"bpe" (Galactica, Llama) or "unigram" (T5, the SentencePiece default)."""

    sample_bytes: int = 256 * 1024 * 1024
    """UTF-8 bytes of text sampled from the inputs for training, documents picked by a seeded hash.
    SentencePiece holds the whole sample in memory (about 10x its size at peak)."""

    input_sentence_size: int = 0
    """Lines SentencePiece itself samples from that text (0: use every line; its own default)."""

    seed: int = 0
    """Seed of the document sample and of SentencePiece's random generator."""

    base_model: str | None = None
    """Path of an existing SentencePiece `.model` or Hugging Face `tokenizer.json`: extend it with the
    markup tokens (old ids unchanged) instead of training a new model."""

    math_boundary_tokens: bool = False
    """Also reserve the registry's optional formula-boundary tokens (`[START_INLINE_MATH]`, ...)."""

    extra_symbols: list[str] = field(default_factory=list)
    """More strings to reserve as single pieces, after the markup registry."""

    num_threads: int = 0
    """Trainer threads; 0 = every core of this machine (SentencePiece's default is 16)."""

    max_sentence_length: int = 16384
    """Longest training line in bytes (SentencePiece default 4192 silently skips longer lines);
    longer lines are split at whitespace before training and the split is counted."""

    character_coverage: float = 1.0
    """Share of characters covered by pieces; the rest fall back to bytes. 1.0 for science text
    (Greek, math symbols are rare but must not become byte soup), SentencePiece default 0.9995."""

    split_digits: bool = True
    """Every digit its own piece (Galactica; `12345` -> five tokens). Only takes effect when training."""

    def __post_init__(self) -> None:
        if not isinstance(self.vocab_size, int) or not MIN_VOCAB_SIZE <= self.vocab_size <= MAX_VOCAB_SIZE:
            raise RecipeError(
                f"tokenizer.vocab_size: {self.vocab_size!r} must be an integer in [{MIN_VOCAB_SIZE}, {MAX_VOCAB_SIZE}]"
            )
        if self.model_type not in MODEL_TYPES:
            raise RecipeError(
                f"tokenizer.model_type: {self.model_type!r} is not one of {', '.join(MODEL_TYPES)}"
            )
        if not isinstance(self.sample_bytes, int) or self.sample_bytes <= 0:
            raise RecipeError(f"tokenizer.sample_bytes: {self.sample_bytes!r} must be a positive integer")
        if not isinstance(self.input_sentence_size, int) or self.input_sentence_size < 0:
            raise RecipeError(f"tokenizer.input_sentence_size: {self.input_sentence_size!r} must be >= 0")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise RecipeError(f"tokenizer.seed: {self.seed!r} must be a non-negative integer")
        if not isinstance(self.num_threads, int) or self.num_threads < 0:
            raise RecipeError(f"tokenizer.num_threads: {self.num_threads!r} must be >= 0 (0 = all cores)")
        if not isinstance(self.max_sentence_length, int) or self.max_sentence_length < 256:
            raise RecipeError(
                f"tokenizer.max_sentence_length: {self.max_sentence_length!r} must be >= 256 bytes"
            )
        if not 0.9 <= float(self.character_coverage) <= 1.0:
            raise RecipeError(
                f"tokenizer.character_coverage: {self.character_coverage!r} must be in [0.9, 1.0]"
            )
        if self.base_model is not None and not str(self.base_model).strip():
            raise RecipeError("tokenizer.base_model: empty path")
        if not isinstance(self.extra_symbols, list) or not all(
            isinstance(s, str) and s for s in self.extra_symbols
        ):
            raise RecipeError(
                f"tokenizer.extra_symbols: {self.extra_symbols!r} must be a list of non-empty strings"
            )
