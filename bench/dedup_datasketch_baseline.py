"""The datasketch script `sciloom dedup` is compared with (bench/dedup_end_to_end.py runs it).

What a careful user writes with datasketch 2.0 alone: read the Parquet shards, word 5-gram
shingles of the lower-cased text, `MinHash.bulk` (128 permutations, its default sha1 hashing),
`MinHashLSH(params=(16, 8))` (explicit bands, never the threshold optimiser), query-then-insert,
verify candidates by MinHash Jaccard >= 0.7, union-find, keep the longest document per cluster,
write the kept rows back to Parquet. Usage: python dedup_datasketch_baseline.py OUT SHARD...
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from datasketch import MinHash, MinHashLSH


def main(out: str, shards: list[str]) -> None:
    tables = [pq.read_table(s) for s in shards]
    table = pa.concat_tables(tables)
    texts = table.column("text").to_pylist()
    ids = table.column("id").to_pylist()
    shingle_sets = []
    for t in texts:
        w = t.lower().split()
        shingle_sets.append([" ".join(w[i : i + 5]).encode("utf-8") for i in range(max(1, len(w) - 4))])
    minhashes = MinHash.bulk(shingle_sets, num_perm=128)
    lsh = MinHashLSH(num_perm=128, params=(16, 8))
    parent = list(range(len(texts)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, m in enumerate(minhashes):
        for j in lsh.query(m):
            if m.jaccard(minhashes[j]) >= 0.7:
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[ri] = rj
        lsh.insert(i, m, check_duplication=False)
    best: dict[int, int] = {}
    for i in range(len(texts)):
        r = find(i)
        if r not in best or (len(texts[i]), ids[best[r]]) > (len(texts[best[r]]), ids[i]):
            best[r] = i
    keep = sorted(best.values())
    Path(out).mkdir(parents=True, exist_ok=True)
    pq.write_table(table.take(pa.array(keep)), Path(out) / "kept.parquet", compression="zstd")
    print(f"datasketch: in {len(texts)} kept {len(keep)}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
