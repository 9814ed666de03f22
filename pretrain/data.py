"""Training data: megatron-core `GPTDataset`/`BlendedDataset` over our .bin/.idx, and a resumable sampler.

The blend comes from a sciloom tokenize-stage manifest (`extra.tokenize.data_path`: one dataset per
source, weighted by tokens, i.e. the mix's realised shares; its pinned tokenizer is used too) or a
manifest with a `blend` entry, or from explicit `data.prefixes`/`data.weights`. megatron-core builds the sample
indices (rank 0 first, cached under `data.cache_dir`, then the other ranks read the cache) and
honours the weights exactly (FIELD-NOTES 8). Samples are `seq_length + 1` tokens cut across
document boundaries; EOD tokens separate documents and can be masked out of the loss.

`PretrainingSampler` is Megatron-LM's `MegatronPretrainingSampler`: global batch g holds samples
[g*gbs, (g+1)*gbs); each DP rank takes its contiguous slice of every `micro x DP` chunk. It starts at
`consumed_samples`, so a resumed run sees exactly the batches the interrupted one would have, and
the order does not depend on the DP layout (a run can resume at another DP size).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from sciloom.corpus.errors import RecipeError
from sciloom.pretrain.config import DataConfig

logger = logging.getLogger(__name__)


def build_tokenizer(cfg: DataConfig) -> Any:
    """The megatron-core tokenizer the datasets need (EOD id, pad id, vocabulary size)."""
    from megatron.core.tokenizers import MegatronTokenizer

    if cfg.tokenizer_library == "null":
        # the null tokenizer's EOD is its `vocab_size` argument; its vocabulary is one larger
        return MegatronTokenizer.from_pretrained(
            metadata_path={"library": "null"}, vocab_size=cfg.null_vocab_size - 1
        )
    path = Path(cfg.tokenizer) if cfg.tokenizer else manifest_tokenizer(cfg)
    if not path.exists():
        raise RecipeError(f"data.tokenizer: {path} does not exist")
    return MegatronTokenizer.from_pretrained(str(path), metadata_path={"library": cfg.tokenizer_library})


def manifest_tokenizer(cfg: DataConfig) -> Path:
    """The tokenizer pinned by the tokenize stage whose manifest is `data.manifest`."""
    from sciloom.manifests.schema import read_manifest_dict

    model = read_manifest_dict(Path(cfg.manifest)).get("extra", {}).get("tokenize", {}).get("tokenizer_model")
    if not model:
        raise RecipeError(f"data.tokenizer is not set and {cfg.manifest} names no tokenizer (extra.tokenize)")
    return Path(model)


def _find_blend(obj: Any) -> Any:
    if isinstance(obj, dict):
        if "blend" in obj:
            return obj["blend"]
        for value in obj.values():
            found = _find_blend(value)
            if found is not None:
                return found
    return None


def parse_blend(blend: Any, base: Path, where: str) -> tuple[list[str], list[float] | None]:
    """A blend as (prefixes, weights): a Megatron blend line "0.3 A 0.7 B" (or "A B"), a flat
    [weight, prefix, ...] list (the tokenize stage's `data_path`), a list of [weight, prefix] pairs
    or {"prefix", "weight"} objects, or {"prefixes": [...], "weights": [...]} (the mix stage)."""

    def resolve(p: str) -> str:
        return str(Path(p) if Path(p).is_absolute() else (base / p).resolve())

    if isinstance(blend, str):
        parts = blend.split()
        if parts and all(re.fullmatch(r"[0-9.eE+-]+", p) is None for p in parts):
            return [resolve(p) for p in parts], None
        if len(parts) % 2:
            raise RecipeError(f"{where}: blend line {blend!r} is not 'weight prefix' pairs")
        return [resolve(p) for p in parts[1::2]], [float(w) for w in parts[0::2]]
    if isinstance(blend, dict) and "prefixes" in blend:
        weights = blend.get("weights")
        return [resolve(p) for p in blend["prefixes"]], ([float(w) for w in weights] if weights else None)
    if isinstance(blend, list) and blend:
        if len(blend) % 2 == 0 and all(isinstance(x, (int, float)) for x in blend[0::2]):
            # Megatron's --data-path list: [weight, prefix, weight, prefix, ...]
            return [resolve(str(p)) for p in blend[1::2]], [float(w) for w in blend[0::2]]
        if all(isinstance(x, dict) for x in blend):
            return [resolve(x["prefix"]) for x in blend], [float(x["weight"]) for x in blend]
        if all(isinstance(x, (list, tuple)) and len(x) == 2 for x in blend):
            return [resolve(p) for _, p in blend], [float(w) for w, _ in blend]
    raise RecipeError(f"{where}: cannot read the blend {blend!r}")


def resolve_blend(cfg: DataConfig) -> tuple[list[str], list[float] | None]:
    """Prefixes and weights from the manifest or the explicit lists; every prefix must exist."""
    if cfg.manifest:
        from sciloom.manifests.schema import read_manifest_dict

        path = Path(cfg.manifest)
        manifest = read_manifest_dict(path)
        extra = manifest.get("extra", {})
        # the tokenize stage lists its datasets weighted by tokens (the mix's realised shares)
        blend = extra.get("tokenize", {}).get("data_path")
        blend = blend or _find_blend(extra) or _find_blend(manifest.get("outputs", {}))
        if blend is None:
            raise RecipeError(f"data.manifest: {path} has no blend (extra.tokenize.data_path or a `blend`)")
        prefixes, weights = parse_blend(
            blend,
            Path(cfg.prefix_root) if cfg.prefix_root else (path if path.is_dir() else path.parent),
            f"data.manifest {path}",
        )
    else:
        prefixes, weights = list(cfg.prefixes), (list(cfg.weights) or None)
    for p in prefixes:
        for ext in (".bin", ".idx"):
            if not Path(p + ext).is_file():
                raise RecipeError(f"data: {p}{ext} does not exist")
    return prefixes, weights


def build_datasets(cfg: DataConfig, tokenizer: Any, *, seq_length: int, seed: int, num_train_samples: int,
                   num_valid_samples: int, cache_dir: Path) -> tuple[Any, Any]:  # fmt: skip
    """(train, valid) datasets; valid is None when the split gives it nothing."""
    from megatron.core.datasets.blended_megatron_dataset_builder import BlendedMegatronDatasetBuilder
    from megatron.core.datasets.gpt_dataset import GPTDataset, GPTDatasetConfig

    prefixes, weights = resolve_blend(cfg)
    cache_dir.mkdir(parents=True, exist_ok=True)
    gpt_cfg = GPTDatasetConfig(
        random_seed=seed,
        sequence_length=seq_length,
        blend=(prefixes, weights),
        split=cfg.split,
        path_to_cache=str(cache_dir),
        tokenizer=tokenizer,
        reset_position_ids=cfg.reset_position_ids,
        reset_attention_mask=False,  # SDPA's causal kernel: documents attend across EOD (Llama 3 style)
        eod_mask_loss=cfg.eod_mask_loss,
        create_attention_mask=False,
        mid_level_dataset_surplus=0.005,
    )
    sizes = [num_train_samples, num_valid_samples, 0]
    train, valid, _ = BlendedMegatronDatasetBuilder(GPTDataset, sizes, lambda: True, gpt_cfg).build()
    logger.info("data: %d prefixes, weights %s, %d train samples", len(prefixes), weights, len(train))
    return train, valid


class PretrainingSampler:
    """Micro-batches of dataset indices for one DP rank, starting at `consumed_samples`."""

    def __init__(
        self, total_samples: int, consumed_samples: int, micro_batch_size: int, dp_rank: int, dp_size: int
    ):
        if consumed_samples >= total_samples:
            raise RecipeError(f"consumed samples {consumed_samples} >= dataset size {total_samples}")
        self.total_samples = total_samples
        self.consumed_samples = consumed_samples
        self.micro_batch_size = micro_batch_size
        self.dp_rank = dp_rank
        self.dp_size = dp_size

    def __len__(self) -> int:
        return (self.total_samples - self.consumed_samples) // (self.micro_batch_size * self.dp_size)

    def __iter__(self) -> Iterator[list[int]]:
        chunk = self.micro_batch_size * self.dp_size
        start = self.dp_rank * self.micro_batch_size
        for first in range(self.consumed_samples, self.total_samples - chunk + 1, chunk):
            yield list(range(first + start, first + start + self.micro_batch_size))


def collate(samples: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    # BlendedDataset adds a numpy `dataset_id` beside the tensors
    return {k: torch.stack([torch.as_tensor(s[k]) for s in samples]) for k in samples[0]}


def make_loader(dataset: Any, consumed_samples: int, micro_batch_size: int, dp_rank: int, dp_size: int,
                num_workers: int) -> Iterator[dict[str, torch.Tensor]]:  # fmt: skip
    sampler = PretrainingSampler(len(dataset), consumed_samples, micro_batch_size, dp_rank, dp_size)
    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=sampler, collate_fn=collate, num_workers=num_workers,
        pin_memory=torch.cuda.is_available(), persistent_workers=num_workers > 0,
    )  # fmt: skip
    return iter(loader)


def samples_needed(
    train_iters: int, global_batch_size: int, eval_interval: int, eval_iters: int
) -> tuple[int, int]:
    """(train, valid) sample counts for a run; validation reuses the same samples every time."""
    valid = eval_iters * global_batch_size if eval_interval else 0
    return train_iters * global_batch_size, valid
