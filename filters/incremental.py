"""Incremental dedup: datasketch `MinHashLSH` over stored signatures of an existing corpus.

A new dump is checked against the `minhash/index.npz` an earlier dedup stage left (the signatures
of the documents it kept) without recomputing them: every stored signature goes into a
`MinHashLSH(params=(b, r))` (explicit bands; datasketch's threshold optimiser would pick 9x13 and
catch only 40% of the pairs at J=0.8, FIELD-NOTES 6), then each new document queries the index and
is inserted, so its candidates are the stored documents and the new ones before it. The candidate
pairs go to the same verification, clustering and keep rule as the other modes
(`dedup_clusters.decide`), with the stored documents preferred: an existing document is never
removed and wins every cluster it is in.

datasketch keys its band tables by the bytes of each band's hash values, so our uint32 signatures
are used as they are; `StoredSignature` carries them with our scheme name, so datasketch's scheme
check refuses to mix them with its own MinHash objects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sciloom.corpus.errors import RecipeError
from sciloom.filters.minhash import SCHEME, SENTINEL, MinhashParams
from sciloom.filters.signature_table import SignatureTable

INDEX_DIR = "minhash"
INDEX_FILE = "index.npz"


class StoredSignature:
    """What `MinHashLSH.insert/query` reads from a MinHash: its hash values, length and scheme."""

    __slots__ = ("hashvalues",)
    scheme = SCHEME

    def __init__(self, hashvalues: np.ndarray) -> None:
        self.hashvalues = hashvalues

    def __len__(self) -> int:
        return len(self.hashvalues)


def index_path(folder: str) -> Path:
    """`folder` may be a dedup stage folder, its `minhash/` folder or the `.npz` itself."""
    p = Path(folder)
    for cand in (p, p / INDEX_FILE, p / INDEX_DIR / INDEX_FILE):
        if cand.is_file():
            return cand
    raise RecipeError(
        f"dedup.index = {folder!r}: no {INDEX_DIR}/{INDEX_FILE} of an earlier dedup stage there"
    )


def load_index(folder: str, params: MinhashParams) -> SignatureTable:
    """The stored table, after checking it was made with the same parameters and scheme."""
    table, stored = SignatureTable.load(index_path(folder))
    want = params.to_dict()
    for key in ("ngram", "num_perm", "seed", "scheme"):
        if stored.get(key) != want[key]:
            raise RecipeError(
                f"dedup.index = {folder!r}: signatures made with {key}={stored.get(key)!r}, this run uses "
                f"{want[key]!r}; they are not comparable"
            )
    return table


def lsh_candidates(table: SignatureTable, num_index: int, params: MinhashParams) -> np.ndarray:
    """Candidate pairs (i < j) over `table`, whose first `num_index` rows are the stored corpus."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(num_perm=params.num_perm, params=(params.num_bands, params.rows_per_band))
    nonempty = np.any(table.sigs != SENTINEL, axis=1)
    with lsh.insertion_session() as session:
        for i in np.flatnonzero(nonempty[:num_index]):
            session.insert(int(i), StoredSignature(table.sigs[i]), check_duplication=False)
    pairs: list[tuple[int, int]] = []
    for j in range(num_index, len(table)):
        if not nonempty[j]:
            continue
        sig = StoredSignature(table.sigs[j])
        pairs.extend((int(i), j) for i in lsh.query(sig))
        lsh.insert(j, sig, check_duplication=False)
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
