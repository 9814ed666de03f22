"""The mix stage: sources -> one shuffled stream at target token shares, with its blend.

`run_mix_stage(inputs_by_source, config, run, tokenizer_model)` makes three passes:

1. **count**: read every source's shards (Parquet or JSONL), count tokens per document
   (`TokenCounter`); a bad line, or the unreadable rest of a file, is quarantined alone;
2. **plan**: `weights.plan_mix` gives each document a copy count (0 = subsampled, 2+ = epochs);
3. **materialise**: read again, spill each copy to its shard bucket (`interleave`), write the
   buckets as `OUT/docs/<n>.parquet` in key order.

Every output document keeps its source name (`source` column; an input document's own source,
when different, is kept as `metadata.origin_source`) and its copy number (`metadata.mix_epoch`,
id suffix `#e<n>` for repeats). The ledger, per source: `in` = documents read, `added:
epoch_repeat` = extra copies, `dropped: subsampled` = documents left out, `kept` = documents
written. `manifest.extra["mix"]` holds target vs realised shares (tokens and documents) and the
megatron-core blend: per-source dataset prefixes and weights as
`GPTDatasetConfig(blend=([prefix, ...], [weight, ...]))` takes them. The prefixes name the
per-source datasets the tokenize stage writes from this folder (`tokens/<source>`, relative to
its output folder), and the weights are the realised token shares, so blending them reproduces
this mix.
"""

from __future__ import annotations

import logging
import math
import re
import shutil
import time
from array import array
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sciloom.corpus.errors import StageError
from sciloom.corpus.mix.config import MixConfig
from sciloom.corpus.mix.interleave import BucketSpill, CopyKeys, write_shard
from sciloom.corpus.mix.rows import copy_columns, mix_row
from sciloom.corpus.mix.staging import StagingWriter
from sciloom.corpus.mix.tokens import TokenCounter
from sciloom.corpus.mix.weights import SourcePlan, plan_mix, share_error
from sciloom.corpus.output_folder import claim_output_folder
from sciloom.corpus.quarantine import QuarantineLog, read_quarantine
from sciloom.corpus.shards import DOCS_DIR, iter_checked_rows
from sciloom.corpus.stage import StageRun, list_shards
from sciloom.manifests.ledger import Counts, check_invariant
from sciloom.manifests.provenance import host_info, now_iso, package_versions
from sciloom.manifests.schema import StageManifest, write_manifest

logger = logging.getLogger(__name__)

EPOCH_REPEAT = "epoch_repeat"
SUBSAMPLED = "subsampled"
COUNT_BATCH = 512
SPILL_DIR = ".mix_spill"
STAGED_FILE = "staged.arrows"  # pass 1's documents, under SPILL_DIR
WARN_SHARE_ERROR = 0.01  # a realised share more than 1 point off its target is logged
PROMPT_MARK = '"prompt_kind"'  # prompt documents carry metadata.prompt_kind (prompts stage)


@dataclass
class Scan:
    """Pass 1 results: per mix source, tokens and bytes per document in encounter order."""

    tokens: dict[str, array] = field(default_factory=dict)
    nbytes: dict[str, array] = field(default_factory=dict)
    prompt_sources: set[str] = field(default_factory=set)


def _route(row: dict[str, Any], key: str, weighted: set[str]) -> str:
    """A document's mix source: its own `source` when the weights name it, else its input key."""
    own = row.get("source")
    return own if isinstance(own, str) and own in weighted else key


def _scan(
    inputs_by_source: dict[str, list[str]],
    weighted: set[str],
    counter: TokenCounter,
    qlog: QuarantineLog,
    counts: dict[str, Counts],
    staging: StagingWriter,
) -> Scan:
    """Pass 1: route, count and stage every document; a bad line or file is quarantined alone.

    Memory: a batch of texts at a time, and 16 bytes per document (token and byte counts).
    """
    scan = Scan()
    for key in sorted(inputs_by_source):
        for path in inputs_by_source[key]:
            sources: list[str] = []
            toks, nbytes = array("q"), array("q")
            batch: list[str] = []
            prompt_sources: set[str] = set()
            # The shared reader: a bad line is quarantined alone, the rest of the file is read.
            for _, row, problem in iter_checked_rows(path):
                if problem is not None:
                    c = counts.setdefault(key, Counts())
                    c.add("in", 1, problem.nbytes, None)
                    c.add("quarantined", 1, problem.nbytes, problem.reason)
                    qlog.add_problem(problem, source=key)
                    logger.warning("mix: quarantined %s %s: %s", path, problem.member, problem.reason)
                    continue
                text = row["text"]
                source = _route(row, key, weighted)
                size = len(text.encode("utf-8", errors="surrogatepass"))
                sources.append(source)
                nbytes.append(size)
                if PROMPT_MARK in str(row.get("metadata") or "") or "prompt_kind" in row:
                    prompt_sources.add(source)
                staging.add(mix_row(row, source), text, source, size)
                if counter.model_path is not None:
                    batch.append(text)
                    if len(batch) >= COUNT_BATCH:
                        toks.extend(counter.count(batch))
                        batch = []
            if counter.model_path is not None:
                toks.extend(counter.count(batch))
            else:  # the bytes estimate from the sizes already measured: no second encode
                toks.extend(counter.from_bytes(nbytes))
            if not sources:
                continue
            scan.prompt_sources |= prompt_sources
            for source, n, b in zip(sources, toks, nbytes):
                scan.tokens.setdefault(source, array("q")).append(n)
                scan.nbytes.setdefault(source, array("q")).append(b)
    return scan


def _materialise(
    plans: dict[str, SourcePlan],
    staging: StagingWriter,
    out_dir: Path,
    seed: int,
    num_shards: int,
    memory_bytes: int,
) -> None:
    """Pass 3: route every planned copy of the staged documents to its bucket, write the buckets.

    Per copy only its key is made in Python; ids, metadata (the template with its copy number)
    and texts are Arrow arrays (`take`, a vectorised replace).
    """
    spill = BucketSpill(out_dir / SPILL_DIR, num_shards, flush_bytes=memory_bytes)
    position = dict.fromkeys(plans, 0)
    copies_of = {source: plan.copies for source, plan in plans.items()}
    key_of = CopyKeys(seed)
    try:
        for batch in staging.batches():
            rows: list[int] = []
            copy_numbers: list[int] = []
            keys: list[int] = []
            repeats = False
            for i, source in enumerate(batch.column("source").to_pylist()):
                index = position[source]
                position[source] = index + 1
                n = copies_of[source][index]
                if n == 1:
                    rows.append(i)
                    copy_numbers.append(0)
                    keys.append(key_of(source, index, 0))
                    continue
                repeats = repeats or n > 1
                for c in range(n):
                    rows.append(i)
                    copy_numbers.append(c)
                    keys.append(key_of(source, index, c))
            if rows:
                ids, metadata = copy_columns(batch, rows, copy_numbers, repeats)
                spill.add(batch, rows, ids, metadata, keys)
        for source, plan in plans.items():
            if position[source] != len(plan.copies):
                raise StageError(
                    f"mix: {source} changed between passes ({position[source]} vs {len(plan.copies)})"
                )
    finally:
        spill.close()
    docs_dir = out_dir / DOCS_DIR
    for shard in range(num_shards):
        write_shard(docs_dir / f"{shard:05d}.parquet", spill.sorted_table(shard))
    shutil.rmtree(out_dir / SPILL_DIR, ignore_errors=True)


def _proportions(plans: dict[str, SourcePlan], doc_counts: dict[str, int]) -> dict[str, Any]:
    total_tokens = sum(p.realised_tokens for p in plans.values()) or 1
    total_docs = sum(p.realised_docs for p in plans.values()) or 1
    out = {}
    for name, p in sorted(plans.items()):
        out[name] = {
            "target_token_share": round(p.share, 6),
            "realised_token_share": round(p.realised_tokens / total_tokens, 6),
            "realised_doc_share": round(p.realised_docs / total_docs, 6),
            "target_tokens": round(p.target_tokens, 1),
            "realised_tokens": p.realised_tokens,
            "available_tokens": p.available_tokens,
            "available_docs": doc_counts[name],
            "realised_docs": p.realised_docs,
            "epochs": round(p.realised_tokens / p.available_tokens, 4) if p.available_tokens else 0.0,
            "max_copies": max(p.copies, default=0),
        }
    return out


def _count_plan(c: Counts, copies: list[int], nbytes: array) -> None:
    """Ledger of one source: in = documents read, kept = copies written, added = extra copies
    (`epoch_repeat`), dropped = documents with no copy (`subsampled`)."""
    dropped = dropped_bytes = kept = kept_bytes = 0
    for n, b in zip(copies, nbytes):
        if n == 0:
            dropped += 1
            dropped_bytes += b
        else:
            kept += n
            kept_bytes += n * b
    c.add("in", len(copies), sum(nbytes), None)
    if dropped:
        c.add("dropped", dropped, dropped_bytes, SUBSAMPLED)
    if kept:
        c.add("kept", kept, kept_bytes, None)
    if kept > len(copies) - dropped:
        one_each = sum(b for n, b in zip(copies, nbytes) if n)
        c.add("added", kept - (len(copies) - dropped), kept_bytes - one_each, EPOCH_REPEAT)


def dataset_prefix(source: str) -> str:
    """Where the tokenize stage writes a source's dataset, relative to its folder.

    Mirrors `sciloom.tokenizer.stage.dataset_name` (`tokens/<source>`, with characters other
    than letters, digits, `.`, `_`, `-` replaced), kept here so the mix imports no other stage.
    """
    return "tokens/" + (re.sub(r"[^A-Za-z0-9._-]+", "_", source).strip("._") or "unknown")


def blend_description(plans: dict[str, SourcePlan]) -> dict[str, Any]:
    """Per-source dataset prefixes and realised token weights for megatron-core's `blend`."""
    total = sum(p.realised_tokens for p in plans.values()) or 1
    names = [n for n in sorted(plans) if plans[n].realised_tokens > 0]
    weights = [round(plans[n].realised_tokens / total, 8) for n in names]
    prefixes = [dataset_prefix(n) for n in names]
    return {
        "sources": names,
        "prefixes": prefixes,
        "weights": weights,
        "prefix_root": "the tokenize stage's output folder",
        "data_path": " ".join(f"{w} {p}" for w, p in zip(weights, prefixes)),
    }


def run_mix_stage(
    inputs_by_source: dict[str, list[str]], config: MixConfig, run: StageRun, tokenizer_model: str | None
) -> StageManifest:
    """Mix the sources into `run.out_dir` and return (and write) the stage manifest."""
    if not inputs_by_source or not any(inputs_by_source.values()):
        raise StageError(f"stage {run.name}: no inputs")
    start = time.time()
    out_dir = Path(run.out_dir)
    seed = run.seed if config.seed is None else config.seed
    claim_output_folder(out_dir, force=run.force)  # never clean a folder sciloom did not make
    for sub in (DOCS_DIR, "quarantine", SPILL_DIR):  # a rerun starts clean: no stale shards
        shutil.rmtree(out_dir / sub, ignore_errors=True)
    (out_dir / DOCS_DIR).mkdir(parents=True, exist_ok=True)
    counter = TokenCounter(tokenizer_model, config.bytes_per_token, threads=max(1, run.workers))
    qlog = QuarantineLog(out_dir / "quarantine", 0)
    counts: dict[str, Counts] = {}
    weighted = set(config.base_weights())
    # What the mix may hold in memory: one output shard's worth of text (staged documents, then
    # shuffle buckets); beyond it both go through files under SPILL_DIR.
    memory_bytes = config.max_shard_mb * 2**20
    staging = StagingWriter(out_dir / SPILL_DIR / STAGED_FILE, memory_bytes)
    try:
        try:
            scan = _scan(inputs_by_source, weighted, counter, qlog, counts, staging)
        finally:
            qlog.close()
            staging.close()
        prompt_sources = sorted(set(config.prompt_source_names()) | scan.prompt_sources)
        plans = plan_mix(config, scan.tokens, seed, detected_prompts=prompt_sources)
        error = share_error(plans)
        if error > WARN_SHARE_ERROR:
            logger.warning(
                "mix: realised token shares are off by up to %.1f points: whole documents cannot reach "
                "the targets (raise mix.max_epochs of the small sources, or give more documents)",
                100 * error,
            )
        for source, plan in plans.items():
            _count_plan(counts.setdefault(source, Counts()), plan.copies, scan.nbytes[source])
        check_invariant(run.name, counts)
        total_docs = sum(p.realised_docs for p in plans.values())
        total_bytes = sum(c.bytes["kept"] for c in counts.values())
        num_shards = max(
            1,
            math.ceil(total_docs / config.docs_per_shard),
            math.ceil(total_bytes / (config.max_shard_mb * 2**20)),
        )
        _materialise(plans, staging, out_dir, seed, num_shards, memory_bytes)
    finally:  # the staged copy of the corpus never outlives the run, failed or not
        shutil.rmtree(out_dir / SPILL_DIR, ignore_errors=True)
    manifest = StageManifest(
        stage=run.name,
        sources=counts,
        shards=list_shards(out_dir),
        inputs=[p for s in sorted(inputs_by_source) for p in inputs_by_source[s]],
        input_manifests=run.input_manifests,
        quarantine=read_quarantine(out_dir / "quarantine"),
        recipe_hash=run.recipe_hash,
        seed=seed,
        versions=package_versions(),
        host=host_info(),
        created=now_iso(),
        tasks=1,
    )
    manifest.extra["mix"] = {
        "preset": config.preset,
        "token_counter": counter.method,
        "total_tokens": sum(p.realised_tokens for p in plans.values()),
        "total_docs": total_docs,
        "max_share_error": round(error, 6),
        "prompt_sources": [s for s in prompt_sources if s in plans],
        "sources": _proportions(plans, {s: len(t) for s, t in scan.tokens.items()}),
        "config": asdict(config),
    }
    # top level, where the build and the tokenize stage look for it
    manifest.extra["blend"] = blend_description(plans)
    manifest.wall_time_s = round(time.time() - start, 3)
    write_manifest(out_dir, manifest)
    return manifest
