"""MinHash near-duplicate detection: vectorised signatures, sort-based banding, verified clusters.

Scheme (recorded in the manifest as `SCHEME`; signatures are comparable only under the same one):

- shingles: word `ngram`-grams (default 5) of `normalize.py` tokens, digits and TeX commands kept;
  a document with fewer tokens than `ngram` has one shingle, all its tokens; an empty one none.
  A shingle is the 64-bit combination `sum_i C_i * token_hash[i]` finalised by splitmix64; its top
  32 bits are the shingle value x.
- signature: for k in 0..b*r-1, `min over shingles of (a_k * x + b_k) mod 2^32` with `a_k` odd
  (a bijection of 32-bit values, so each is a random permutation of the shingle space); a_k, b_k
  from numpy's PCG64 with `seed`. Computed for a whole batch at once as a (b*r, shingles) uint32
  matrix reduced per document with `np.minimum.reduceat` (FIELD-NOTES 6: Python string handling
  dominates, so tokens and shingles are hashed in numpy too; see normalize.py).
- candidates: a pair that agrees on all r rows of at least one of b bands
  (P = 1 - (1 - J^r)^b: 0.95 at J=0.8 for 16x8). Found per band by sorting (a hash of) the band
  rows, not by hash tables: all pairs inside each run of equal rows.
- verification: a candidate pair is an edge when its signature similarity (fraction of equal
  hashes, an unbiased Jaccard estimate) is at least `threshold`.
- clusters: connected components of the edges. One document per cluster is kept by the rank
  `keep_rank` gives (longest text, ties to the smallest id); the others are removed with the
  cluster id (the kept document's id) and the cluster size.

The three modes of `dedup_stage.py` all call `signatures()` and differ only in how candidates reach
`verified_edges`/`clusters`, so they return the same clusters on the same input.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sciloom.filters.normalize import (
    COMBINE,
    ngram_hashes,
    sequence_hashes,
    token_hashes_and_sizes,
)

SCHEME = "sciloom-minhash-v1: normalize.v1 tokens, word n-gram shingles, splitmix64, 32-bit affine odd-a"
SENTINEL = np.uint32(0xFFFFFFFF)
# Shingles per (num_perm x shingles) block: 128 x 8k uint32 = 4 MiB, the fastest size measured.
_BLOCK_SHINGLES = 8192


@dataclass(frozen=True)
class MinhashParams:
    ngram: int = 5
    num_bands: int = 16
    rows_per_band: int = 8
    threshold: float = 0.7
    seed: int = 1

    @property
    def num_perm(self) -> int:
        return self.num_bands * self.rows_per_band

    def to_dict(self) -> dict:
        return {
            "ngram": self.ngram,
            "num_bands": self.num_bands,
            "rows_per_band": self.rows_per_band,
            "num_perm": self.num_perm,
            "threshold": self.threshold,
            "seed": self.seed,
            "scheme": SCHEME,
        }


@functools.lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) uint32 parameters of the hash permutations; a is odd."""
    rng = np.random.Generator(np.random.PCG64(seed))
    a = rng.integers(0, 1 << 32, size=num_perm, dtype=np.uint64).astype(np.uint32) | np.uint32(1)
    b = rng.integers(0, 1 << 32, size=num_perm, dtype=np.uint64).astype(np.uint32)
    a.flags.writeable = False  # cached: shared by every caller
    b.flags.writeable = False
    return a, b


def shingles(hashes: np.ndarray, offsets: np.ndarray, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """uint32 shingle values (top 32 bits of the n-gram hashes) of every document, and offsets."""
    values, soff = ngram_hashes(hashes, offsets, ngram, short=True)
    return (values >> np.uint64(32)).astype(np.uint32), soff


def signatures(texts: Sequence[str], params: MinhashParams) -> np.ndarray:
    """(len(texts), num_perm) uint32 MinHash signatures; a document without tokens gets SENTINEL."""
    return fingerprints(texts, params)[0]


def fingerprints(texts: Sequence[str], params: MinhashParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Everything dedup needs from one tokenisation of a batch: MinHash signatures, the exact-dup
    hash (of the whole normalised token sequence) and the keep-rule length (token bytes).

    Runs the compiled one-pass kernel (`minhash_jit.py`, ~3x the numpy path per core); its results
    equal `fingerprints_numpy`'s bit for bit."""
    from sciloom.filters.minhash_jit import batch_bytes, fingerprints_bytes

    buf, doc_starts = batch_bytes(texts)
    a, b = permutations(params.num_perm, params.seed)
    return fingerprints_bytes(buf, doc_starts, params.ngram, a, b)


def fingerprints_arrow(texts, params: MinhashParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`fingerprints` of an Arrow string array (a Parquet column), read from its buffers when it
    can be (`minhash_jit.arrow_batch_bytes`), else through Python strings; equal results."""
    from sciloom.filters.minhash_jit import arrow_batch_bytes, fingerprints_bytes

    direct = arrow_batch_bytes(texts)
    if direct is None:
        return fingerprints([t if isinstance(t, str) else "" for t in texts.to_pylist()], params)
    a, b = permutations(params.num_perm, params.seed)
    return fingerprints_bytes(direct[0], direct[1], params.ngram, a, b)


def fingerprints_numpy(
    texts: Sequence[str], params: MinhashParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`fingerprints` in numpy alone: the reference the compiled kernel is tested against."""
    hashes, offsets, sizes = token_hashes_and_sizes(texts)
    sigs = _signatures(hashes, offsets, len(texts), params)
    csum = np.concatenate(([0], np.cumsum(sizes)))
    return sigs, sequence_hashes(hashes, offsets), (csum[offsets[1:]] - csum[offsets[:-1]]).astype(np.int64)


def _signatures(hashes: np.ndarray, offsets: np.ndarray, n_docs: int, params: MinhashParams) -> np.ndarray:
    a, b = permutations(params.num_perm, params.seed)
    values, soff = shingles(hashes, offsets, params.ngram)
    out = np.full((n_docs, params.num_perm), SENTINEL, dtype=np.uint32)
    counts = np.diff(soff)
    nonempty = np.flatnonzero(counts > 0)
    a_col, b_col = a[:, None], b[:, None]
    # One reused block buffer: a fresh 4 MiB array per block costs page faults, not just arithmetic.
    buffer = np.empty(params.num_perm * max(_BLOCK_SHINGLES, int(counts.max(initial=0))), dtype=np.uint32)
    i = 0
    while i < len(nonempty):
        # Take documents until the block holds about _BLOCK_SHINGLES shingles.
        first = soff[nonempty[i]]
        j = int(np.searchsorted(soff[nonempty + 1], first + _BLOCK_SHINGLES, side="right"))
        j = max(j, i + 1)
        docs = nonempty[i:j]
        lo, hi = soff[docs[0]], soff[docs[-1] + 1]
        block = buffer[: params.num_perm * (hi - lo)].reshape(params.num_perm, hi - lo)
        np.multiply(a_col, values[lo:hi], out=block)  # wraps mod 2^32
        block += b_col
        out[docs] = np.minimum.reduceat(block, soff[docs] - lo, axis=1).T
        i = j
    return out


def signature_similarity(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray:
    """Fraction of equal hashes, row by row (an unbiased estimate of the Jaccard similarity)."""
    return (sig_a == sig_b).mean(axis=-1)


def band_keys(rows: np.ndarray) -> np.ndarray:
    """A 64-bit key per document of its rows of one band (equal rows give equal keys)."""
    r = rows.shape[1]
    with np.errstate(over="ignore"):
        return (rows.astype(np.uint64) * COMBINE[:r]).sum(axis=1, dtype=np.uint64)


def sorted_band_pairs(
    skey: np.ndarray, members: np.ndarray, equal_rows: Callable[[np.ndarray], np.ndarray]
) -> list[np.ndarray]:
    """Candidate pairs of one band, given its keys sorted (`skey`) and the document of each position
    (`members`): cut the order into runs of equal keys, keep only the neighbours whose rows are
    really equal (`equal_rows(positions)` compares position p with p + 1, so a key collision never
    creates a candidate), and emit every pair inside each run of equal rows."""
    same = skey[1:] == skey[:-1]
    if not same.any():
        return []
    cand = np.flatnonzero(same)
    same[cand] = equal_rows(cand)
    if not same.any():
        return []
    # Runs of equal rows: starts where `same` switches on, ends where it switches off.
    edges = np.diff(np.concatenate(([False], same, [False])).astype(np.int8))
    run_starts = np.flatnonzero(edges == 1)
    run_ends = np.flatnonzero(edges == -1) + 1
    sizes = run_ends - run_starts
    two = sizes == 2
    chunks = []
    if two.any():  # the common case, vectorised
        chunks.append(
            np.sort(np.stack((members[run_starts[two]], members[run_starts[two] + 1]), axis=1), axis=1)
        )
    for s, e in zip(run_starts[~two], run_ends[~two]):
        run = np.sort(members[s:e])
        iu, ju = np.triu_indices(e - s, k=1)
        chunks.append(np.stack((run[iu], run[ju]), axis=1))
    return chunks


def unique_pairs(chunks: list[np.ndarray]) -> np.ndarray:
    if not chunks:
        return np.zeros((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(chunks).astype(np.int64), axis=0)


def candidate_pairs(sigs: np.ndarray, params: MinhashParams, valid: np.ndarray | None = None) -> np.ndarray:
    """All pairs (i < j) that agree on every row of at least one band, as an (n, 2) int64 array.

    Per band: sort the documents by their band key (stable, so ties stay in row order) and take
    the pairs of `sorted_band_pairs`.
    """
    idx = np.arange(len(sigs)) if valid is None else np.flatnonzero(valid)
    if len(idx) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    r = params.rows_per_band
    chunks = []
    for band in range(params.num_bands):
        rows = np.ascontiguousarray(sigs[idx, band * r : (band + 1) * r])
        key = band_keys(rows)
        order = np.argsort(key, kind="stable")
        sorted_rows = rows[order]
        chunks += sorted_band_pairs(
            key[order], idx[order], lambda p, sr=sorted_rows: np.all(sr[p] == sr[p + 1], axis=1)
        )
    return unique_pairs(chunks)


def verified_edges(sigs: np.ndarray, pairs: np.ndarray, threshold: float) -> np.ndarray:
    """The candidate pairs whose signature similarity is at least `threshold`."""
    if len(pairs) == 0:
        return pairs
    keep = np.zeros(len(pairs), dtype=bool)
    step = 65536
    for s in range(0, len(pairs), step):
        p = pairs[s : s + step]
        keep[s : s + step] = signature_similarity(sigs[p[:, 0]], sigs[p[:, 1]]) >= threshold - 1e-12
    return pairs[keep]


def components(n: int, edges: np.ndarray) -> np.ndarray:
    """Connected-component label of each of n nodes (scipy's union over a sparse graph)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(edges) == 0:
        return np.arange(n)
    graph = coo_matrix((np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def keep_rank(ids: Sequence[str], lengths: np.ndarray, preferred: np.ndarray | None = None) -> np.ndarray:
    """Rank of each document for the keep rule (0 = kept first): preferred (existing corpus) first,
    then longest text, then smallest id. Independent of input order, tasks and mode."""
    n = len(ids)
    pref = np.zeros(n, dtype=np.int8) if preferred is None else (~preferred.astype(bool)).astype(np.int8)
    id_rank = np.empty(n, dtype=np.int64)
    id_rank[np.argsort(np.asarray(ids, dtype=object), kind="stable")] = np.arange(n)
    order = np.lexsort((id_rank, -np.asarray(lengths, dtype=np.int64), pref))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return rank


def cluster_keep(labels: np.ndarray, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each document: the index of its cluster's kept document, and its cluster size."""
    n = len(labels)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.lexsort((rank, labels))  # by label, best rank first within a label
    sorted_labels = labels[order]
    first = np.concatenate(([True], sorted_labels[1:] != sorted_labels[:-1]))
    label_values = sorted_labels[first]
    best_per_label = order[first]
    sizes_per_label = np.diff(np.append(np.flatnonzero(first), n))
    where = np.searchsorted(label_values, labels)
    return best_per_label[where].astype(np.int64), sizes_per_label[where].astype(np.int64)
