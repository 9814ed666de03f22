"""Tiny Megatron .bin/.idx datasets for the pretrain tests, written with megatron-core's builder.

Documents are learnable token patterns (arithmetic progressions over 61 ids from a per-prefix base,
with a per-document start and stride), each ended by the EOD id 511 of the "null" tokenizer with
vocabulary 512, so a few optimizer steps visibly lower the loss.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

EOD = 511
VOCAB = 512


def write_prefix(prefix: Path, num_docs: int, seed: int, strides: tuple[int, ...], base: int) -> Path:
    from megatron.core.datasets.indexed_dataset import IndexedDatasetBuilder

    rng = np.random.default_rng(seed)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    builder = IndexedDatasetBuilder(str(prefix) + ".bin", dtype=np.uint16)
    for _ in range(num_docs):
        length = int(rng.integers(20, 120))
        start, stride = int(rng.integers(0, 61)), int(rng.choice(strides))
        doc = base + (start + stride * np.arange(length)) % 61
        doc = np.append(doc, EOD).astype(np.uint16)
        builder.add_document(doc, [len(doc)])
    builder.finalize(str(prefix) + ".idx")
    return prefix


def write_tiny_blend(folder: Path) -> list[str]:
    """Two prefixes with different strides; returns them (without extension)."""
    a = write_prefix(folder / "tiny_a", 300, seed=1, strides=(1, 2, 3), base=0)
    b = write_prefix(folder / "tiny_b", 200, seed=2, strides=(5, 7), base=100)
    return [str(a), str(b)]
