"""Signature throughput per core: sciloom (numpy) vs datasketch vs datatrove, side by side.

One process pinned to one core (`os.sched_setaffinity`), the same ~2 KB documents (bench/
dedup_corpus.py, built from real GSM8K sentences), 128 hashes, word 5-gram shingles, best of
`--repeat` runs, measured in CPU seconds of this process (`time.process_time`, fair on a shared
box) and wall seconds. Each method computes signatures from the raw text (tokenising included):

- sciloom: `minhash.fingerprints` (the compiled one-pass kernel, `minhash_jit.py`; with
  `malloc.keep_freed_memory`, as the stage runs it) on batches of 256 documents (the stage's
  default); it also gives the exact hash and the keep-rule length;
- sciloom numpy: `minhash.fingerprints_numpy`, the same scheme in numpy alone (the reference);
- rensa 0.5.0 flat API: sciloom's numpy tokens and 5-gram shingle hashes, then
  `RMinHash.digest_matrix_from_flat_token_hashes` (FIELD-NOTES 6's fastest library route);
- rensa from strings: `RMinHash.digests_from_token_sets` on the lower-cased 5-gram strings;
- datasketch `update()`: one `MinHash(num_perm=128)` per document, one `update` per shingle (sha1);
- datasketch `MinHash.bulk`: the shingle lists of a batch at once (its default sha1 hashing);
- datatrove: `MinhashDedupSignature.get_shingles` + `get_signature` with its default text
  normalisation and 64-bit xxhash, with a whitespace word tokenizer (its English default, spaCy,
  is not installed and is 10x slower, FIELD-NOTES 6).

Usage: python bench/dedup_signatures.py [--docs 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dedup_corpus  # noqa: E402


def shingles_ds(text: str) -> list[bytes]:
    w = text.lower().split()
    return [" ".join(w[i : i + 5]).encode("utf-8") for i in range(max(1, len(w) - 4))]


def run_sciloom(texts: list[str]) -> None:
    from sciloom.filters.malloc import keep_freed_memory
    from sciloom.filters.minhash import MinhashParams, fingerprints

    keep_freed_memory()  # as the dedup stage does (filters/malloc.py)
    params = MinhashParams()
    for i in range(0, len(texts), 256):
        fingerprints(texts[i : i + 256], params)


def run_sciloom_numpy(texts: list[str]) -> None:
    from sciloom.filters.malloc import keep_freed_memory
    from sciloom.filters.minhash import MinhashParams, fingerprints_numpy

    keep_freed_memory()
    params = MinhashParams()
    for i in range(0, len(texts), 256):
        fingerprints_numpy(texts[i : i + 256], params)


def run_rensa_flat(texts: list[str]) -> None:
    import numpy as np
    from rensa import RMinHash

    from sciloom.filters.normalize import ngram_hashes, token_hashes

    for i in range(0, len(texts), 256):
        hashes, offsets = token_hashes(texts[i : i + 256])
        values, soff = ngram_hashes(hashes, offsets, 5, short=True)
        RMinHash.digest_matrix_from_flat_token_hashes(values, soff.astype(np.uint64), 128, 1)


def run_rensa_strings(texts: list[str]) -> None:
    from rensa import RMinHash

    for i in range(0, len(texts), 256):
        sets = [[s.decode() for s in shingles_ds(t)] for t in texts[i : i + 256]]
        RMinHash.digests_from_token_sets(sets, 128, 1)


def run_datasketch_update(texts: list[str]) -> None:
    from datasketch import MinHash

    for t in texts:
        m = MinHash(num_perm=128)
        for s in shingles_ds(t):
            m.update(s)


def run_datasketch_bulk(texts: list[str]) -> None:
    from datasketch import MinHash

    for i in range(0, len(texts), 1024):
        MinHash.bulk([shingles_ds(t) for t in texts[i : i + 1024]], num_perm=128)


def run_datatrove(texts: list[str]) -> None:
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
    from datatrove.utils.word_tokenizers import WordTokenizer

    class Whitespace(WordTokenizer):
        def word_tokenize(self, text: str) -> list[str]:
            return text.split()

        def sent_tokenize(self, text: str) -> list[str]:
            return text.split("\n")

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return [(0, len(text))]

    step = MinhashDedupSignature(
        "/tmp/unused-datatrove-sigs", MinhashConfig(num_buckets=16), language=Whitespace()
    )
    for t in texts:
        step.get_signature(step.get_shingles(t))


METHODS = {
    "sciloom (compiled kernel, batch)": (run_sciloom, 1.0),
    "sciloom numpy reference (batch)": (run_sciloom_numpy, 1.0),
    "rensa 0.5.0 flat API on sciloom shingles": (run_rensa_flat, 1.0),
    "rensa 0.5.0 from shingle strings": (run_rensa_strings, 0.5),
    "datasketch MinHash.bulk (sha1)": (run_datasketch_bulk, 0.25),
    "datasketch update() loop (sha1)": (run_datasketch_update, 0.05),
    "datatrove get_signature (whitespace tok.)": (run_datatrove, 0.1),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    texts = [t for _, t in dedup_corpus.documents(args.docs, seed=1)]
    print(f"{len(texts)} docs, mean {sum(map(len, texts)) / len(texts):.0f} chars, one core")
    results = {}
    for name, (fn, share) in METHODS.items():
        subset = texts[: max(200, int(len(texts) * share))]
        fn(subset[:50])  # warm-up: imports, tables
        best_cpu, best_wall = float("inf"), float("inf")
        for _ in range(args.repeat):
            c, w = time.process_time(), time.perf_counter()
            fn(subset)
            best_cpu = min(best_cpu, time.process_time() - c)
            best_wall = min(best_wall, time.perf_counter() - w)
        results[name] = len(subset) / best_cpu
        print(
            f"{name:45s} {len(subset):6d} docs  {len(subset) / best_cpu:9,.0f} docs/cpu-s  {len(subset) / best_wall:9,.0f} docs/wall-s"
        )
    ours = results["sciloom (compiled kernel, batch)"]
    for name, rate in results.items():
        if name != "sciloom (compiled kernel, batch)":
            print(f"sciloom / {name}: {ours / rate:.1f}x")


if __name__ == "__main__":
    main()
