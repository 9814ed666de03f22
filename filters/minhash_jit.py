"""Compiled MinHash fingerprints: one pass over a batch's bytes, bit-identical to the numpy rule.

`fingerprints_bytes` does in one fused loop what `normalize._tokenize`, `normalize.ngram_hashes`,
`normalize.sequence_hashes` and `minhash._signatures` do in about twenty numpy passes: split the
normalised bytes into tokens (`normalize.py`'s byte classes), hash each token (polynomial hash of
its bytes plus its length, splitmix64), combine word n-grams with `normalize.COMBINE`, keep the top
32 bits as the shingle value and take the minimum of `a_k * x + b_k mod 2^32` per permutation.
The outputs equal the numpy path's exactly (tests/filters/test_minhash.py pins the two together
on real text), so signatures, clusters and stored indexes do not change with the path taken.

Why not a library: measured on the 2-core box (20k ~2 KB documents, CPU time, one core), the numpy
tokeniser alone runs at 36k docs/s, numpy signatures at 19.6k, and rensa 0.5.0's flat API on our
shingle hashes at 30k (tokenising still dominates, and its permutations would change the scheme);
the fused loop here runs at well over 50k. numba compiles it once per machine (`cache=True`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow.types as pa_types
from numba import njit

from sciloom.filters.normalize import _BASE, _CLASS, _FOLD, _LOWER, COMBINE, joined_batch, normalize_text

_M30 = np.uint64(30)
_M27 = np.uint64(27)
_M31 = np.uint64(31)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_SHIFT32 = np.uint64(32)


@njit(cache=True, inline="always")
def _mix(x):
    x = x + _GOLDEN
    x = (x ^ (x >> _M30)) * _MIX1
    x = (x ^ (x >> _M27)) * _MIX2
    return x ^ (x >> _M31)


@njit(cache=True, inline="always")
def _update(sig, a, b, x):
    # uint32 lanes wrap mod 2^32 and vectorise (8 per AVX2 op): 1.6x the uint64-and-mask form
    x32 = np.uint32(x)
    for k in range(sig.shape[0]):
        sig[k] = min(sig[k], np.uint32(a[k] * x32 + b[k]))


# normalize._FOLD as UTF-8: the 2- and 3-byte sequences and the ASCII byte each folds to.
_FOLD2 = np.zeros((256, 256), dtype=np.uint8)
_FOLD3 = np.zeros((64, 64), dtype=np.uint8)  # E2 xx yy, indexed by the continuation bytes' low 6 bits
for _old, _new in _FOLD:
    _raw = _old.encode()
    if len(_raw) == 2:
        _FOLD2[_raw[0], _raw[1]] = ord(_new)
    else:
        assert len(_raw) == 3 and _raw[0] == 0xE2, _old
        _FOLD3[_raw[1] & 63, _raw[2] & 63] = ord(_new)


@njit(cache=True, inline="always")
def _folded(buf, i, end, fold2, fold3):
    """(ASCII byte, sequence length) when a folded character starts at i, else (0, 0)."""
    c = buf[i]
    if c == 0xE2:
        if i + 2 < end and buf[i + 1] >= 0x80 and buf[i + 2] >= 0x80:
            m = fold3[buf[i + 1] & 63, buf[i + 2] & 63]
            if m != 0 and (buf[i + 1] >> 6) == 2 and (buf[i + 2] >> 6) == 2:
                return m, 3
    elif c == 0xC2 or c == 0xC3:
        if i + 1 < end:
            m = fold2[c, buf[i + 1]]
            if m != 0:
                return m, 2
    return np.uint8(0), 0


@njit(cache=True)
def _fingerprints(
    buf, doc_starts, classes, lower, fold2, fold3, combine, base, ngram, a, b, sigs, seq, lengths
):
    """Per document d (bytes doc_starts[d]..doc_starts[d+1]): signature row, sequence hash, token bytes."""
    n_docs = doc_starts.shape[0] - 1
    ring = np.zeros(ngram, dtype=np.uint64)
    for d in range(n_docs):
        i = doc_starts[d]
        end = doc_starts[d + 1]
        count = 0
        size = np.int64(0)
        seq_h = np.uint64(0)
        seq_pow = np.uint64(1)
        sig = sigs[d]
        while i < end:
            byte = buf[i]
            width = 0
            if byte >= 0xC2:
                m, width = _folded(buf, i, end, fold2, fold3)
            if width:  # a typographic character: an ASCII separator or operator after folding
                i += width
                if classes[m] != 3:
                    continue
                h = _mix(np.uint64(m) + np.uint64(1))
                token_bytes = 1
            else:
                c = classes[byte]
                if c == 0:
                    i += 1
                    continue
                s = i
                i += 1
                if c != 3:  # a word or a backslash: take the word bytes that follow
                    while i < end and classes[buf[i]] == 1:
                        if buf[i] >= 0xC2 and _folded(buf, i, end, fold2, fold3)[1]:
                            break
                        i += 1
                h = np.uint64(0)
                p = np.uint64(1)
                for j in range(s, i):
                    h += np.uint64(lower[buf[j]]) * p
                    p *= base
                token_bytes = i - s
                h = _mix(h + np.uint64(token_bytes))
            size += token_bytes
            seq_h += h * seq_pow
            seq_pow *= base
            # shift register of the last `ngram` hashes (a modulo per token cost 40% of the loop)
            if count < ngram:
                ring[count] = h
            else:
                for k in range(ngram - 1):
                    ring[k] = ring[k + 1]
                ring[ngram - 1] = h
            count += 1
            if count >= ngram:
                acc = np.uint64(0)
                for k in range(ngram):
                    acc += ring[k] * combine[k]
                _update(sig, a, b, _mix(acc) >> _SHIFT32)
        if 0 < count < ngram:  # a short document is one shingle of all its tokens
            acc = np.uint64(0)
            for k in range(count):
                acc += ring[k] * combine[k]
            _update(sig, a, b, _mix(acc) >> _SHIFT32)
        seq[d] = _mix(seq_h + np.uint64(count))
        lengths[d] = size


def batch_bytes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The bytes the kernel reads for a batch, and each document's first byte (plus the end).

    The kernel lower-cases ASCII and folds `normalize._FOLD` itself, so most batches go in as their
    plain UTF-8: `str.lower` on a non-ASCII string costs ~35 ns per character, more than the whole
    kernel. Only the documents with a non-ASCII character that changes under `str.lower` (É, Σ,
    whose final form depends on context, a Cyrillic А in GSM8K) are normalised in Python first;
    the kernel leaves normalised bytes as they are.
    """
    joined = joined_batch(texts)
    if joined.isascii():
        data = joined.encode("ascii")
    else:
        data = joined.encode("utf-8", errors="surrogatepass")
        cased = [c for c in _distinct_non_ascii(np.frombuffer(data, dtype=np.uint8)) if c.lower() != c]
        if cased:  # normalise only the documents holding one (str.lower of the batch is per document:
            # NUL is neither cased nor case-ignorable, so final sigma never looks across it)
            texts = joined.split("\x00") if len(texts) > 1 else [joined]
            joined = "\x00".join(normalize_text(t) if any(c in t for c in cased) else t for t in texts)
            data = joined.encode("utf-8", errors="surrogatepass")
    buf = np.frombuffer(data, dtype=np.uint8)
    starts = np.concatenate(([0], np.flatnonzero(buf == 0) + 1, [len(buf)])) if texts else np.zeros(1)
    return buf, starts.astype(np.int64)


def arrow_batch_bytes(texts) -> tuple[np.ndarray, np.ndarray] | None:
    """`batch_bytes` of an Arrow string array without a Python str per document: its UTF-8 data
    buffer and offsets as they are (a NUL inside a text separates tokens there too, as the space
    `joined_batch` puts in its place). None when the array has nulls or a cased non-ASCII
    character (the caller takes the Python path)."""
    if texts.null_count or not (pa_types.is_string(texts.type) or pa_types.is_large_string(texts.type)):
        return None
    offsets_buf, data_buf = texts.buffers()[1:3]
    width = np.int64 if pa_types.is_large_string(texts.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=width)[texts.offset : texts.offset + len(texts) + 1]
    offsets = offsets.astype(np.int64)
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    buf = data[offsets[0] : offsets[-1]] if len(offsets) else data[:0]
    if any(c.lower() != c for c in _distinct_non_ascii(buf)):
        return None
    return buf, offsets - offsets[0]


def _distinct_non_ascii(buf: np.ndarray) -> set[str]:
    """The distinct non-ASCII characters of UTF-8 bytes, from their lead bytes in numpy."""
    lead = np.flatnonzero(buf >= 0xC0)
    if not len(lead):
        return set()
    width = np.where(buf[lead] >= 0xF0, 4, np.where(buf[lead] >= 0xE0, 3, 2))
    key = buf[lead].astype(np.uint32) << 24
    last = len(buf) - 1
    for k in (1, 2, 3):
        follow = buf[np.minimum(lead + k, last)].astype(np.uint32)
        key |= np.where(width > k, follow, 0).astype(np.uint32) << (24 - 8 * k)
    return {
        v.to_bytes(4, "big")[:w].decode("utf-8", errors="replace")
        for v, w in zip(*_unique_with_width(key, width))
    }


def _unique_with_width(key: np.ndarray, width: np.ndarray) -> tuple[list[int], list[int]]:
    values, first = np.unique(key, return_index=True)
    return values.tolist(), width[first].tolist()


def fingerprints_bytes(
    buf: np.ndarray, doc_starts: np.ndarray, ngram: int, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(signatures uint32 (docs, num_perm), sequence hashes int64, token bytes int64) of the
    normalised bytes `buf`, document d being `buf[doc_starts[d]:doc_starts[d+1]]`."""
    n_docs = len(doc_starts) - 1
    sigs = np.full((n_docs, len(a)), 0xFFFFFFFF, dtype=np.uint32)
    seq = np.zeros(n_docs, dtype=np.uint64)
    lengths = np.zeros(n_docs, dtype=np.int64)
    _fingerprints(
        buf,
        doc_starts.astype(np.int64),
        _CLASS[_LOWER],  # the class of a byte after ASCII lower-casing
        _LOWER,
        _FOLD2,
        _FOLD3,
        COMBINE,
        _BASE,
        ngram,
        a,
        b,
        sigs,
        seq,
        lengths,
    )
    return sigs, seq.view(np.int64), lengths
