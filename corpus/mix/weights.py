"""Target token shares -> a deterministic plan: how many copies of each document go in the mix.

1. `target_shares`: the recipe's weights for the sources that have inputs, normalised to 1;
   prompt sources rescaled together to `prompt_fraction` when it is set.
2. The mix size: `total_tokens` if given (a source that would need more than `max_epochs`
   passes is a recipe error), else the largest size at which no source exceeds its cap,
   min over sources of available_tokens * max_epochs / share.
3. Per source, target tokens t = share * size: `k = floor(t / available)` full passes, then a
   seeded shuffle of the documents and a first-fit pass that takes a document when it still
   fits in the remainder, then the one leftover document that brings the total closest to t.
   The realised share is therefore off by at most a fraction of one document, and the same
   seed always picks the same documents.

Each document's copy count is 0 (subsampled away), 1, or more (repeated epochs); the stage
turns these into the ledger's `dropped: subsampled` and `added: epoch_repeat`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sciloom.corpus.errors import RecipeError
from sciloom.corpus.mix.config import MixConfig

SNAP_TOLERANCE = 0.001  # share error below which the largest mix size is kept as is


@dataclass
class SourcePlan:
    """The plan for one source: copies per document (in read order)."""

    name: str
    share: float  # target token share
    target_tokens: float
    available_tokens: int
    copies: list[int] = field(default_factory=list)
    realised_tokens: int = 0

    @property
    def realised_docs(self) -> int:
        return sum(self.copies)


def target_shares(
    config: MixConfig, available: dict[str, int], detected_prompts: list[str] | None = None
) -> dict[str, float]:
    """Normalised token shares for the sources of this mix (see the module docstring).

    `detected_prompts` are sources found to hold prompt data (documents with `prompt_kind`);
    with `prompt_fraction` set, those without a weight share the prompt fraction equally.
    """
    weights = config.base_weights()
    prompt_names = set(config.prompt_source_names()) | set(detected_prompts or [])
    if config.prompt_fraction is not None:
        for s in prompt_names:
            if s in available:
                weights.setdefault(s, 1.0)
    unweighted = sorted(s for s in available if s not in weights)
    if unweighted:
        raise RecipeError(f"mix.weights: no weight for source(s) {unweighted} (known: {sorted(weights)})")
    missing = sorted(s for s, w in weights.items() if w > 0 and available.get(s, 0) == 0)
    if missing and config.missing_sources == "error":
        raise RecipeError(
            f"mix: weighted source(s) {missing} have no input tokens "
            '(give their inputs, set their weight to 0, or mix.missing_sources = "renormalize")'
        )
    present = {s: w for s, w in weights.items() if available.get(s, 0) > 0 and w > 0}
    if not present:
        raise RecipeError("mix: no weighted source has input tokens")
    prompts = prompt_names & set(present)
    if config.prompt_fraction is not None:
        if not prompts:
            raise RecipeError(
                f"mix.prompt_fraction: none of the prompt sources {sorted(prompt_names)} has input"
            )
        rest = set(present) - prompts
        if not rest and config.prompt_fraction < 1.0:
            raise RecipeError("mix.prompt_fraction: there is no non-prompt source to fill the rest")
        p_total = sum(present[s] for s in prompts)
        r_total = sum(present[s] for s in rest)
        shares = {s: config.prompt_fraction * present[s] / p_total for s in prompts}
        shares.update({s: (1.0 - config.prompt_fraction) * present[s] / r_total for s in rest})
        return dict(sorted(shares.items()))
    total = sum(present.values())
    return {s: present[s] / total for s in sorted(present)}


def mix_size(config: MixConfig, shares: dict[str, float], available: dict[str, int]) -> float:
    """Total tokens of the mix."""
    caps = {s: available[s] * config.epochs_cap(s) / shares[s] for s in shares}
    if config.total_tokens is None:
        return min(caps.values())
    over = sorted(s for s, cap in caps.items() if config.total_tokens > cap * (1 + 1e-9))
    if over:
        detail = ", ".join(
            f"{s} needs {config.total_tokens * shares[s] / available[s]:.2f} epochs > {config.epochs_cap(s)}"
            for s in over
        )
        raise RecipeError(
            f"mix.total_tokens: {config.total_tokens} is too large ({detail}; raise mix.max_epochs)"
        )
    return float(config.total_tokens)


def choose_copies(doc_tokens: Sequence[int], target: float, rng: random.Random) -> list[int]:
    """Copies per document so their tokens sum as close to `target` as documents allow."""
    available = sum(doc_tokens)
    copies = [0] * len(doc_tokens)
    if available == 0 or target <= 0:
        return copies
    full = int(math.floor(target / available + 1e-12))
    copies = [full] * len(doc_tokens)
    remainder = target - full * available
    order = list(range(len(doc_tokens)))
    rng.shuffle(order)
    taken = 0
    left_out = []
    for i in order:
        if taken + doc_tokens[i] <= remainder:
            copies[i] += 1
            taken += doc_tokens[i]
        else:
            left_out.append(i)
    if left_out:
        # one more document when it lands closer to the target than stopping short
        best = min(left_out, key=lambda i: abs(remainder - taken - doc_tokens[i]))
        if abs(remainder - taken - doc_tokens[best]) < remainder - taken:
            copies[best] += 1
    return copies


def plan_for_size(
    doc_tokens: Mapping[str, Sequence[int]], shares: dict[str, float], size: float, seed: int
) -> dict[str, SourcePlan]:
    """Copies per document of every source for a mix of `size` tokens."""
    plans = {}
    for source in sorted(doc_tokens):
        toks = doc_tokens[source]
        share = shares.get(source, 0.0)
        target = share * size
        copies = choose_copies(toks, target, random.Random(f"{seed}:{source}"))
        plan = SourcePlan(source, share, target, sum(toks), copies)
        plan.realised_tokens = sum(c * t for c, t in zip(copies, toks))
        plans[source] = plan
    return plans


def share_error(plans: dict[str, SourcePlan]) -> float:
    """Largest |realised - target| token share over the sources (0..1)."""
    total = sum(p.realised_tokens for p in plans.values())
    if total == 0:
        return 1.0
    return max(abs(p.realised_tokens / total - p.share) for p in plans.values())


def plan_mix(
    config: MixConfig,
    doc_tokens: Mapping[str, Sequence[int]],
    seed: int,
    detected_prompts: list[str] | None = None,
) -> dict[str, SourcePlan]:
    """The copy plan of every source with inputs (sources with weight 0 get all-zero copies).

    Without `total_tokens`, the largest size can leave a source with few large documents far
    from its share (it can only take whole documents). The size is then snapped, in turn, to
    what each source realised (realised tokens / share): that source becomes exact and the
    others, finer-grained, follow. The plan with the smallest share error wins (ties: larger).
    """
    available = {s: sum(toks) for s, toks in doc_tokens.items()}
    shares = target_shares(config, available, detected_prompts)
    size = mix_size(config, shares, available)
    best = plan_for_size(doc_tokens, shares, size, seed)
    if config.total_tokens is not None:
        return best
    tried = {round(size)}
    for _ in range(3):
        error = share_error(best)
        if error <= SNAP_TOLERANCE:
            break
        candidates = sorted(
            {p.realised_tokens / p.share for p in best.values() if p.share > 0 and p.realised_tokens > 0},
            reverse=True,
        )
        improved = False
        for candidate in candidates:
            if candidate > size * (1 + 1e-9) or round(candidate) in tried:
                continue
            tried.add(round(candidate))
            plans = plan_for_size(doc_tokens, shares, candidate, seed)
            if share_error(plans) < error:
                best, error, improved = plans, share_error(plans), True
        if not improved:
            break
    return best
