"""`MixConfig`: the `[mix]` recipe section, and the `galactica` and `minerva` presets.

Weights are shares of the mix **by tokens** (not documents), as both papers report them:

- `minerva` (Lewkowycz et al. 2022, section 2): 38.5B tokens of technical content: math web
  pages 47.5%, arXiv 47.5%, general natural language 5%. Sources: `web`, `arxiv`, `general`.
- `galactica` (Taylor et al. 2022, table 2): papers 83.0%, code 6.9%, reference material 6.5%,
  knowledge bases 2.0%, filtered CommonCrawl 1.0%, prompts 0.3%, other 0.2% (renormalised to
  sum 1). Sources: `papers`, `code`, `reference`, `knowledge_bases`, `common_crawl`, `prompts`,
  `other`; `prompts` is prompt data (Galactica mixed its prompt datasets into pre-training).

A recipe's own `weights` override or extend the preset's. `max_epochs` caps how often a source may
be repeated to reach its share (Galactica repeated small high-quality sources: ~4.25 epochs
over 106B tokens); without `total_tokens`, the mix is the largest one in which no source
exceeds its cap. `prompt_fraction` rescales the prompt sources together to that token share.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sciloom.corpus.errors import RecipeError

PRESETS: dict[str, dict[str, float]] = {
    "minerva": {"arxiv": 0.475, "web": 0.475, "general": 0.05},
    "galactica": {
        "papers": 0.830,
        "code": 0.069,
        "reference": 0.065,
        "knowledge_bases": 0.020,
        "common_crawl": 0.010,
        "prompts": 0.003,
        "other": 0.002,
    },
}
PRESET_PROMPT_SOURCES: dict[str, list[str]] = {"minerva": [], "galactica": ["prompts"]}
MISSING_POLICIES = ("error", "renormalize")
BYTES_PER_TOKEN_ESTIMATE = 4.0  # without a tokenizer model: ~4 UTF-8 bytes per BPE token (GPT-2-era rule)


@dataclass
class MixConfig:
    """How sources are weighted, repeated, shuffled and written."""

    preset: str | None = None  # "galactica" or "minerva": default weights (see the module docstring)
    weights: dict[str, float] = field(default_factory=dict)  # source -> token share (normalised to 1)
    max_epochs: dict[str, float] = field(default_factory=dict)  # source -> most passes over it
    default_max_epochs: float = 1.0  # for sources without an entry: 1.0 = no repetition
    total_tokens: int | None = None  # mix size in tokens; None = largest within the epoch caps
    prompt_fraction: float | None = None  # token share of all prompt sources together
    prompt_sources: list[str] | None = None  # which sources are prompt data (default: the preset's)
    missing_sources: str = "error"  # a weighted source without inputs: "error" or "renormalize"
    seed: int | None = None  # shuffle and subsampling seed; None = the stage run's seed
    docs_per_shard: int = 50_000  # output shard size in documents, at most
    max_shard_mb: int = 256  # output shard size in MiB of text, at most (the shuffle holds one in memory)
    bytes_per_token: float = BYTES_PER_TOKEN_ESTIMATE  # token estimate when no tokenizer is given

    def __post_init__(self) -> None:
        if self.preset is not None and self.preset not in PRESETS:
            raise RecipeError(f"mix.preset: {self.preset!r} is not one of {sorted(PRESETS)}")
        for name, w in self.weights.items():
            if not isinstance(w, int | float) or w < 0:
                raise RecipeError(f"mix.weights.{name}: must be a number >= 0, got {w!r}")
        for name, e in self.max_epochs.items():
            if not isinstance(e, int | float) or e <= 0:
                raise RecipeError(f"mix.max_epochs.{name}: must be > 0, got {e!r}")
        if self.default_max_epochs <= 0:
            raise RecipeError(f"mix.default_max_epochs: must be > 0, got {self.default_max_epochs}")
        if self.total_tokens is not None and self.total_tokens <= 0:
            raise RecipeError(f"mix.total_tokens: must be > 0, got {self.total_tokens}")
        if self.prompt_fraction is not None and not 0.0 <= self.prompt_fraction < 1.0:
            raise RecipeError(f"mix.prompt_fraction: must be in [0, 1), got {self.prompt_fraction}")
        if self.missing_sources not in MISSING_POLICIES:
            raise RecipeError(
                f"mix.missing_sources: {self.missing_sources!r} is not one of {MISSING_POLICIES}"
            )
        if self.docs_per_shard < 1:
            raise RecipeError(f"mix.docs_per_shard: must be >= 1, got {self.docs_per_shard}")
        if self.max_shard_mb < 1:
            raise RecipeError(f"mix.max_shard_mb: must be >= 1, got {self.max_shard_mb}")
        if self.bytes_per_token <= 0:
            raise RecipeError(f"mix.bytes_per_token: must be > 0, got {self.bytes_per_token}")
        if not self.base_weights():
            raise RecipeError("mix: no weights (give mix.preset or mix.weights)")

    def base_weights(self) -> dict[str, float]:
        """Preset weights updated with the recipe's own, before normalisation."""
        out = dict(PRESETS[self.preset]) if self.preset else {}
        out.update(self.weights)
        return out

    def prompt_source_names(self) -> list[str]:
        if self.prompt_sources is not None:
            return list(self.prompt_sources)
        return list(PRESET_PROMPT_SOURCES.get(self.preset or "", []))

    def epochs_cap(self, source: str) -> float:
        return float(self.max_epochs.get(source, self.default_max_epochs))
