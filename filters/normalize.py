"""One math-aware text normalisation for shingles, used by MinHash dedup and decontamination.

Stock normalisers are hostile to math: datatrove's `TextNormConfig` maps every digit run to `0`
and strips punctuation, so `\\frac{a^2+b^2}{c_1}` and `\\frac{a^3-b^3}{c_9}` both become
`frac a 0 b 0 c 0` and worksheets that differ only in their numbers collapse into one cluster
(FIELD-NOTES section 6). Ours keeps what distinguishes two formulas:

1. Unicode lower-casing, then typographic punctuation folded to ASCII (curly quotes, dashes);
2. tokens, in order, are
   - a TeX command `\\name` (backslash plus the letters/digits that follow) as one token,
   - a run of ASCII letters/digits or non-ASCII characters (digits kept as they are),
   - one operator character `+ - * / = < > ^` as its own token;
   everything else (spaces, braces, `$`, `_`, other punctuation) only separates tokens.

The rule is defined on UTF-8 bytes (a byte >= 0x80 is a word byte) so that `token_hashes`
can tokenise and hash a whole batch of documents with numpy alone, without one Python object
per token; `tokens()` is the same rule as a regular expression over `str`, for decontamination
and tests (`test_normalize` pins the two together).

Token hashes are 64-bit polynomial hashes of the token's UTF-8 bytes (computed from prefix sums,
wrapping mod 2^64) passed through a 64-bit finaliser (splitmix64), so they are identical whether a
token is hashed alone or inside a batch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

# Typographic characters that web pages use in place of ASCII ones.
_FOLD = (
    ("\u2018", "'"),
    ("\u2019", "'"),
    ("\u201c", '"'),
    ("\u201d", '"'),
    ("\u2013", "-"),
    ("\u2014", "-"),
    ("\u2212", "-"),
    ("\u2026", "."),
    ("\u00a0", " "),
    ("\u00d7", "*"),
    ("\u00f7", "/"),
)
OPERATORS = "+-*/=<>^"
TOKEN_RE = re.compile(r"\\[a-z0-9\u0080-\U0010ffff]*|[a-z0-9\u0080-\U0010ffff]+|[-+*/=<>^]")

# Byte classes: 0 separator, 1 word byte, 2 backslash (starts a token), 3 operator (a token alone).
_CLASS = np.zeros(256, dtype=np.uint8)
for _c in b"abcdefghijklmnopqrstuvwxyz0123456789":
    _CLASS[_c] = 1
_CLASS[0x80:] = 1
_CLASS[ord("\\")] = 2
for _c in OPERATORS.encode():
    _CLASS[_c] = 3

_LOWER = np.arange(256, dtype=np.uint8)
_LOWER[ord("A") : ord("Z") + 1] += 32

_BASE = np.uint64(0x100000001B3)  # FNV prime: odd, so invertible mod 2^64
_BASE_INV = np.uint64(pow(0x100000001B3, -1, 1 << 64))
_pow_cache: dict[str, np.ndarray] = {}


def normalize_text(text: str) -> str:
    """Lower-case and fold typographic punctuation (step 1 of the rule)."""
    text = text.lower()
    if text.isascii():
        return text
    for old, new in _FOLD:  # str.replace is ~20x faster than str.translate on long non-ASCII text
        text = text.replace(old, new)
    return text


def tokens(text: str) -> list[str]:
    """The normalised tokens of `text` (reference implementation of the rule)."""
    return TOKEN_RE.findall(normalize_text(text))


def _powers(name: str, base: np.uint64, n: int) -> np.ndarray:
    table = _pow_cache.get(name)
    if table is None or len(table) < n:
        size = max(n, 1 << 16, 2 * (len(table) if table is not None else 0))
        table = np.empty(size, dtype=np.uint64)
        table[0] = 1
        table[1:] = base
        np.cumprod(table, out=table)  # wraps mod 2^64, which is the ring we hash in
        _pow_cache[name] = table
    return table[:n]


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, vectorised (uint64 in, uint64 out)."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def token_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Token hashes of a batch of documents.

    Returns `(hashes, offsets)`: uint64 hashes of all tokens of all documents in order, and
    int64 `offsets` of length `len(texts) + 1` so document i owns `hashes[offsets[i]:offsets[i+1]]`.
    """
    hashes, offsets, _, _ = _tokenize(texts, letters=False)
    return hashes, offsets


def token_hashes_and_sizes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`token_hashes` plus each token's length in UTF-8 bytes."""
    hashes, offsets, _, sizes = _tokenize(texts, letters=False)
    return hashes, offsets, sizes


def token_hashes_and_letters(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`token_hashes` plus, per token, whether it has a letter (ASCII a-z or any non-ASCII
    character; a TeX command counts, a number or an operator does not)."""
    hashes, offsets, has_letter, _ = _tokenize(texts, letters=True)
    return hashes, offsets, has_letter


def joined_batch(texts: Sequence[str]) -> str:
    """The batch as one string, documents separated by one NUL (a separator byte, so no token
    spans two documents; a NUL inside a text becomes a space)."""
    joined = "\x00".join(texts)
    if joined.count("\x00") != max(0, len(texts) - 1):
        joined = "\x00".join(t.replace("\x00", " ") for t in texts)
    return joined


def normalized_bytes(texts: Sequence[str]) -> np.ndarray:
    """The UTF-8 bytes of the batch after step 1 of the rule, documents separated by one NUL."""
    joined = joined_batch(texts)
    if joined.isascii():  # O(1) in CPython; lower-casing ASCII bytes in numpy beats str.lower
        return np.take(_LOWER, np.frombuffer(joined.encode("ascii"), dtype=np.uint8))
    return np.frombuffer(normalize_text(joined).encode("utf-8", errors="surrogatepass"), dtype=np.uint8)


def _tokenize(texts: Sequence[str], letters: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    buf = normalized_bytes(texts)
    n = len(buf)
    cls = np.take(_CLASS, buf)
    word = cls == 1
    back = cls == 2
    op = cls == 3
    inword = (cls == 1) | back
    prev_in = np.empty(n, dtype=bool)
    next_word = np.empty(n, dtype=bool)
    if n:
        prev_in[0] = False
        prev_in[1:] = inword[:-1]
        next_word[-1] = False
        next_word[:-1] = word[1:]
    # A token starts at a backslash, at an operator, or at a word byte after a non-word byte;
    # it ends before a separator, an operator or a backslash.
    starts = np.flatnonzero(back | op | (word & ~prev_in))
    ends = np.flatnonzero(op | (inword & ~next_word)) + 1
    # Prefix sums of byte * BASE^i; hash(s, e) = (P[e] - P[s]) * BASE^-s (mod 2^64).
    pw = _powers("pow", _BASE, n + 1)
    prefix = np.zeros(n + 1, dtype=np.uint64)
    np.cumsum(buf.astype(np.uint64) * pw[:n], out=prefix[1:])
    ipw = _powers("ipow", _BASE_INV, n + 1)
    with np.errstate(over="ignore"):
        raw = (prefix[ends] - prefix[starts]) * ipw[starts] + (ends - starts).astype(np.uint64)
    hashes = splitmix64(raw)
    has_letter = np.zeros(0, dtype=bool)
    if letters:
        letter_prefix = np.zeros(n + 1, dtype=np.int64)
        np.cumsum((buf >= 0x61) & ((buf <= 0x7A) | (buf >= 0x80)), out=letter_prefix[1:])
        has_letter = (letter_prefix[ends] - letter_prefix[starts]) > 0
    # Document i owns the tokens that start between its first byte and the next NUL.
    if not texts:
        return hashes[:0], np.zeros(1, dtype=np.int64), has_letter[:0], starts[:0]
    bounds = np.concatenate(([0], np.flatnonzero(buf == 0) + 1))
    offsets = np.append(np.searchsorted(starts, bounds), len(starts))
    return hashes, offsets.astype(np.int64), has_letter, ends - starts


def token_hash(token: str) -> int:
    """Hash of one token, equal to its hash inside `token_hashes` (for tests and tools)."""
    h, _ = token_hashes([token])
    return int(h[0])


# Odd multipliers that combine the token hashes of one n-gram (position-dependent: order matters).
COMBINE = splitmix64(np.arange(1, 65, dtype=np.uint64)) | np.uint64(1)


def ngram_hashes(
    hashes: np.ndarray, offsets: np.ndarray, n: int, short: bool
) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every word n-gram of every document, and their per-document offsets.

    An n-gram hash is `splitmix64(sum_i COMBINE[i] * token_hash[i])` (mod 2^64). With `short`, a
    document with 1 <= k < n tokens gets one n-gram made of its k tokens (MinHash shingles: a short
    document is still a set); without, it gets none (decontamination: too short to match).
    """
    if n > len(COMBINE):
        raise ValueError(f"n-grams longer than {len(COMBINE)} words are not supported")
    m = len(hashes)
    lengths = np.diff(offsets)
    if m == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(len(offsets), dtype=np.int64)
    padded = np.concatenate((hashes, np.zeros(n - 1, dtype=np.uint64)))
    with np.errstate(over="ignore"):
        acc = padded[:m] * COMBINE[0]
        for i in range(1, n):
            acc += padded[i : m + i] * COMBINE[i]
    doc_end = np.repeat(offsets[1:], lengths)
    valid = np.arange(m) + n <= doc_end
    counts = np.where(lengths >= n, lengths - n + 1, 0)
    if short:
        for d in np.flatnonzero((lengths > 0) & (lengths < n)):
            s, k = int(offsets[d]), int(lengths[d])
            with np.errstate(over="ignore"):
                acc[s] = np.sum(hashes[s : s + k] * COMBINE[:k], dtype=np.uint64)
            valid[s] = True
        counts = np.where(lengths >= n, lengths - n + 1, (lengths > 0).astype(np.int64))
    return splitmix64(acc[valid]), np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


def sequence_hashes(hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """One 64-bit hash per document of its whole token sequence (order-sensitive), as int64."""
    n_docs = len(offsets) - 1
    out = np.zeros(n_docs, dtype=np.uint64)
    if len(hashes):
        pos = np.arange(len(hashes)) - np.repeat(offsets[:-1], np.diff(offsets))
        with np.errstate(over="ignore"):
            terms = hashes * _powers("pow", _BASE, int(pos.max()) + 1)[pos]
        nonempty = np.flatnonzero(np.diff(offsets) > 0)
        out[nonempty] = np.add.reduceat(terms, offsets[nonempty])
    with np.errstate(over="ignore"):
        return splitmix64(out + np.diff(offsets).astype(np.uint64)).view(np.int64)
