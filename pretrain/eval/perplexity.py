"""Held-out loss and perplexity of a checkpoint, per source of the mix.

Documents come from sciloom shards (a stage folder's `docs/*.parquet`, or Parquet/JSONL files)
and are grouped by their `source`. Each document is tokenized with the checkpoint's own tokenizer
(with its special tokens, e.g. BOS), cut into non-overlapping windows of `seq_len` tokens, and
every token after the first of a window is scored (so no window sees another's context, as in
the Megatron/lm-eval rolling evaluation without overlap). Per source we report the mean token
loss (nats), perplexity `exp(loss)`, and bits per byte of UTF-8 text, which stays comparable
across tokenizers (Gao et al. 2020, The Pile).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from sciloom.corpus.record import source_of
from sciloom.corpus.shards import read_documents


@dataclass
class SourcePerplexity:
    source: str
    documents: int
    tokens: int
    """tokens scored (a window's first token has no context and is not scored)"""
    bytes: int
    loss: float
    """mean negative log-likelihood per scored token, in nats"""
    perplexity: float
    bits_per_byte: float

    def to_dict(self) -> dict:
        return asdict(self)


def held_out_texts(
    paths: Sequence[str | os.PathLike], max_docs_per_source: int | None
) -> dict[str, list[str]]:
    """source -> document texts, at most `max_docs_per_source` each, in shard order."""
    by_source: dict[str, list[str]] = {}
    for doc in read_documents(paths):
        texts = by_source.setdefault(source_of(doc), [])
        if max_docs_per_source is None or len(texts) < max_docs_per_source:
            texts.append(doc.text)
    return by_source


def perplexity_by_source(
    checkpoint: str | os.PathLike,
    paths: Sequence[str | os.PathLike],
    *,
    max_docs_per_source: int | None = 200,
    seq_len: int = 1024,
    batch_size: int = 8,
    device: str | None = None,
) -> list[SourcePerplexity]:
    """Per-source held-out loss of `checkpoint` on the documents of `paths` (sorted by source)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    local = os.path.isdir(str(checkpoint))
    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint), local_files_only=local)
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    model = AutoModelForCausalLM.from_pretrained(str(checkpoint), dtype=dtype, local_files_only=local)
    model.to(device).eval()
    results = []
    for source, texts in sorted(held_out_texts(paths, max_docs_per_source).items()):
        windows = list(_windows((tokenizer(t)["input_ids"] for t in texts), seq_len))
        nll, tokens = _score_windows(model, windows, batch_size, device)
        nbytes = sum(len(t.encode("utf-8")) for t in texts)
        loss = nll / tokens if tokens else float("nan")
        results.append(
            SourcePerplexity(
                source=source,
                documents=len(texts),
                tokens=tokens,
                bytes=nbytes,
                loss=loss,
                perplexity=math.exp(loss) if tokens else float("nan"),
                bits_per_byte=nll / (math.log(2) * nbytes) if nbytes else float("nan"),
            )
        )
    return results


def _windows(token_lists: Iterable[list[int]], seq_len: int) -> Iterable[list[int]]:
    for ids in token_lists:
        for start in range(0, len(ids), seq_len):
            window = ids[start : start + seq_len]
            if len(window) > 1:
                yield window


def _score_windows(model, windows: list[list[int]], batch_size: int, device: str) -> tuple[float, int]:
    """Summed NLL (nats) and number of scored tokens over all windows."""
    import torch
    import torch.nn.functional as F

    total, count = 0.0, 0
    # longest first keeps padding small within a batch
    windows = sorted(windows, key=len, reverse=True)
    for start in range(0, len(windows), batch_size):
        batch = windows[start : start + batch_size]
        width = len(batch[0])
        ids = torch.zeros((len(batch), width), dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, w in enumerate(batch):
            ids[i, : len(w)] = torch.tensor(w)
            mask[i, : len(w)] = 1
        ids, mask = ids.to(device), mask.to(device)
        with torch.inference_mode():
            logits = model(input_ids=ids, attention_mask=mask).logits.float()
        labels = ids[:, 1:].masked_fill(mask[:, 1:] == 0, -100)
        nll = F.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]),
            labels.reshape(-1),
            ignore_index=-100,
            reduction="sum",
        )
        total += float(nll)
        count += int((labels != -100).sum())
    return total, count
