"""The pieces every sciloom tokenizer reserves, and its fixed special ids.

User-defined symbols are matched in raw text before any other piece, so each of them always
encodes to exactly one id and is never split (FIELD-NOTES 7: `control_symbols` never match text,
`[START_INLINE_MATH]` became 20+ pieces). "\\n" and "\\t" are reserved too: SentencePiece trains one
line at a time, so without them a newline only exists as the byte piece `<0x0A>`.
Order is part of the interface: ids follow it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sciloom.corpus.markup import markup_tokens

WHITESPACE_SYMBOLS = ("\n", "\t")

# SentencePiece's own layout for the first ids (unk 0, bos 1, eos 2), plus a pad that differs from
# eos: megatron masks the loss wherever labels == pad (FIELD-NOTES 8).
UNK_ID, BOS_ID, EOS_ID, PAD_ID = 0, 1, 2, 3
UNK, BOS, EOS, PAD = "<unk>", "<s>", "</s>", "<pad>"


def reserved_symbols(math_boundary_tokens: bool = False, extra: Iterable[str] = ()) -> list[str]:
    """What a trained model reserves: whitespace symbols, the markup registry, then `extra`."""
    return _unique((*WHITESPACE_SYMBOLS, *markup_symbols(math_boundary_tokens, extra)))


def markup_symbols(math_boundary_tokens: bool = False, extra: Iterable[str] = ()) -> list[str]:
    """What an extended model gains: the markup registry, then `extra` (no whitespace symbols,
    which would change how the base model already splits every newline)."""
    return _unique((*markup_tokens(include_optional=math_boundary_tokens), *extra))


def _unique(symbols: Iterable[str]) -> list[str]:
    out: list[str] = []
    for sym in symbols:
        if sym not in out:
            out.append(sym)
    return out
