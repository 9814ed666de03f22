"""`SynthConfig` and `BackendConfig`: the options of one synth source (`[sources.options]`).

One dataclass serves every kind (like `PromptsConfig`); each kind reads the fields it needs and
the comments say which. Defaults cite the paper they come from. The backend is its own table,
`[sources.options.backend]`, so the same kind runs on vLLM, an OpenAI-compatible server or
transformers by changing one table. API keys are never part of a recipe: `api_key_env` names
the environment variable that holds one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sciloom.corpus.errors import RecipeError
from sciloom.corpus.prompts.config import PromptsConfig
from sciloom.corpus.prompts.problems import Layout

KINDS = ("rft", "rephrase", "sv", "fobar", "augment", "evol", "opro")
BACKENDS = ("openai", "hf", "vllm")
APIS = ("completions", "chat")
AUGMENTATIONS = ("numbers", "fraction", "combine", "condition", "complexity")
EVOL_DIRECTIONS = ("up", "down")


@dataclass
class BackendConfig:
    """Which model generates, and how it is reached (`[sources.options.backend]`)."""

    name: str = "openai"
    """openai (any OpenAI-compatible HTTP server), hf (transformers generate) or vllm (offline LLM)."""
    model: str = ""
    """Model name sent to the server, or the checkpoint folder / hub name for hf and vllm."""
    base_url: str = "http://127.0.0.1:8000/v1"
    """openai: the API root, `/completions` and `/chat/completions` are below it (vllm serve's default)."""
    api: str = "completions"
    """openai: `completions` (raw prompt, right for base models) or `chat` (one user message)."""
    api_key_env: str | None = None
    """openai: environment variable holding the API key (sent as a Bearer token); never the key itself."""
    concurrency: int = 8
    """openai: requests in flight at once (threads)."""
    timeout_s: float = 120.0
    """openai: per-request timeout (seconds); a timed-out request is retried."""
    max_retries: int = 6
    """openai: retries of a request after 429, 5xx, a timeout or a dropped connection."""
    backoff_s: float = 1.0
    """openai: first back-off (seconds), doubled per retry with full jitter; Retry-After wins."""
    max_backoff_s: float = 60.0
    """openai: cap on one back-off wait (seconds)."""
    cache_dir: str | None = None
    """On-disk request cache; default `OUT/cache` (kept across reruns, so a resumed stage pays once)."""
    batch_size: int = 8
    """hf: sequences per forward pass."""
    device: str | None = None
    """hf: torch device (default: cuda when available, else cpu)."""
    dtype: str = "auto"
    """hf/vllm: weights dtype (auto = bf16 on GPU, fp32 on CPU for hf; vllm's own choice)."""
    tensor_parallel_size: int = 1
    """vllm: GPUs per model replica."""
    gpu_memory_utilization: float = 0.9
    """vllm: share of GPU memory for weights and KV cache (vLLM's default)."""
    max_model_len: int | None = None
    """vllm: context length (default: the model's)."""

    def __post_init__(self) -> None:
        where = "backend"
        if self.name not in BACKENDS:
            raise RecipeError(f"{where}.name: {self.name!r} is not one of {', '.join(BACKENDS)}")
        if self.api not in APIS:
            raise RecipeError(f"{where}.api: {self.api!r} is not one of {', '.join(APIS)}")
        if self.name == "openai" and not self.base_url.startswith(("http://", "https://")):
            raise RecipeError(f"{where}.base_url: {self.base_url!r} is not an http(s) URL")
        for name in ("concurrency", "batch_size", "tensor_parallel_size"):
            if getattr(self, name) < 1:
                raise RecipeError(f"{where}.{name}: must be >= 1, got {getattr(self, name)}")
        if self.max_retries < 0:
            raise RecipeError(f"{where}.max_retries: must be >= 0, got {self.max_retries}")
        for name in ("timeout_s", "backoff_s", "max_backoff_s"):
            if getattr(self, name) <= 0:
                raise RecipeError(f"{where}.{name}: must be > 0, got {getattr(self, name)}")
        if not 0 < self.gpu_memory_utilization <= 1:
            raise RecipeError(
                f"{where}.gpu_memory_utilization: must be in (0, 1], got {self.gpu_memory_utilization}"
            )

    def cache_identity(self) -> dict[str, Any]:
        """What a cached completion is keyed by besides prompt, sampling and seed: the backend, the
        model and the API route, not the host (a server moved to another node is the same model)."""
        out: dict[str, Any] = {"backend": self.name, "model": self.model}
        if self.name == "openai":
            out["api"] = self.api
        return out

    def identity(self) -> dict[str, Any]:
        """What decides a completion besides the prompt and sampling: the cache key and provenance."""
        out: dict[str, Any] = {"backend": self.name, "model": self.model}
        if self.name == "openai":
            out.update(base_url=self.base_url.rstrip("/"), api=self.api)
        return out


@dataclass
class SynthConfig:
    """How problems become model-generated training records (one synth source)."""

    backend: BackendConfig = field(default_factory=BackendConfig)
    """The generating model (`[sources.options.backend]`)."""
    optimizer: BackendConfig | None = None
    """opro: the optimiser model (default: the backend); the backend is then the scorer."""
    # problems: the layout of the input JSONL (see PromptsConfig)
    layout: str = "auto"
    question_field: str | None = None
    solution_field: str | None = None
    answer_field: str | None = None
    id_field: str | None = None
    # sampling
    samples: int = 4
    """rft: reasoning paths per problem (RFT sampled 100; k=4..8 is the usual budget); rephrase:
    rephrasings per problem (MetaMath); augment: new questions per augmentation type."""
    temperature: float = 0.7
    """Sampling temperature of generations (RFT and MetaMath: 0.7)."""
    top_p: float = 1.0
    """Nucleus mass of generations."""
    max_tokens: int = 512
    """Generation budget per completion (tokens)."""
    shots: int = 4
    """Few-shot exemplars in answer prompts (sciloom eval's Wei et al. / Minerva exemplars)."""
    answer_samples: int = 1
    """rephrase/sv/fobar: answers sampled to check a generated question (MetaMath: 1, greedy at 0)."""
    answer_temperature: float = 0.0
    """rephrase/sv/fobar: temperature of those answers (0 = greedy)."""
    variants: int = 1
    """sv/fobar: masked-number variants per problem (MetaMath made several)."""
    augmentations: list[str] = field(default_factory=lambda: list(AUGMENTATIONS))
    """augment: MuggleMath's five query changes (numbers, fraction, combine, condition, complexity)."""
    vote_temperatures: list[float] = field(default_factory=lambda: [0.3, 0.7, 1.0])
    """augment/evol: temperatures the answers of a new question are sampled at."""
    vote_samples: int = 2
    """augment/evol: answers per temperature."""
    min_agreement: float = 0.5
    """augment/evol: share of all sampled answers the majority answer needs (> 0.5 of them by default)."""
    evol_directions: list[str] = field(default_factory=lambda: list(EVOL_DIRECTIONS))
    """evol: WizardMath's upward (harder) and downward (easier) evolution."""
    evol_rounds: int = 1
    """evol: rounds of evolution (each round evolves the previous round's kept problems)."""
    opro_steps: int = 5
    """opro: optimisation steps (the paper ran up to 200)."""
    opro_proposals: int = 4
    """opro: instructions proposed per step (the paper: 8, at temperature 1.0)."""
    opro_temperature: float = 1.0
    """opro: optimiser temperature (the paper: 1.0)."""
    opro_history: int = 20
    """opro: best instructions shown in the meta-prompt (the paper: 20)."""
    opro_exemplars: int = 3
    """opro: dev problems shown in the meta-prompt (the paper: 3)."""
    opro_initial: list[str] = field(default_factory=lambda: ["Let's solve the problem."])
    """opro: the starting instructions (the paper's GSM8K run started from "Let's solve the problem")."""
    dev_size: int = 0
    """opro: dev problems scored per instruction (0: every input problem)."""
    task: str = "auto"
    """Answer family for extraction and comparison: gsm8k, math, or auto (from the layout)."""
    sandbox_timeout_s: float = 5.0
    """rft: sandbox limit for the calculation check (seconds)."""
    parallel: int = 4
    """rft: sandboxed programs run at once."""
    unsafe_no_sandbox: bool = False
    """rft: where there is no OS sandbox (bubblewrap), run the calculation checks with Python-level
    guards only instead of refusing to start (docs/sandbox.md)."""
    batch_problems: int = 32
    """Problems handled together (one backend call per phase; more keeps a server busier)."""
    max_failed_share: float = 0.1
    """Share of a task's problems whose generation may fail (quarantined) before the task fails
    instead, so that a rerun retries them from the cache (transient outages should not lose data)."""

    def __post_init__(self) -> None:
        s = "synth"
        if isinstance(self.backend, dict):
            self.backend = BackendConfig(**self.backend)
        if isinstance(self.optimizer, dict):
            self.optimizer = BackendConfig(**self.optimizer)
        checks = [
            ("samples", self.samples >= 1),
            ("max_tokens", self.max_tokens >= 1),
            ("shots", self.shots >= 0),
            ("answer_samples", self.answer_samples >= 1),
            ("variants", self.variants >= 1),
            ("vote_samples", self.vote_samples >= 1),
            ("evol_rounds", self.evol_rounds >= 1),
            ("opro_steps", self.opro_steps >= 0),
            ("opro_proposals", self.opro_proposals >= 1),
            ("opro_history", self.opro_history >= 1),
            ("opro_exemplars", self.opro_exemplars >= 0),
            ("dev_size", self.dev_size >= 0),
            ("batch_problems", self.batch_problems >= 1),
            ("parallel", self.parallel >= 1),
            ("sandbox_timeout_s", self.sandbox_timeout_s > 0),
            ("temperature", self.temperature >= 0),
            ("answer_temperature", self.answer_temperature >= 0),
            ("opro_temperature", self.opro_temperature >= 0),
            ("top_p", 0 < self.top_p <= 1),
            ("min_agreement", 0 < self.min_agreement <= 1),
            ("max_failed_share", 0 <= self.max_failed_share <= 1),
        ]
        for name, ok in checks:
            if not ok:
                raise RecipeError(f"{s}.{name}: out of range ({getattr(self, name)!r})")
        for where, b in (("backend", self.backend), ("optimizer", self.optimizer)):
            if b is not None and not b.model:
                raise RecipeError(f"{s}.{where}.model: a model name or checkpoint is needed")
        if self.task not in ("auto", "gsm8k", "math"):
            raise RecipeError(f"{s}.task: {self.task!r} is not auto, gsm8k or math")
        for a in self.augmentations:
            if a not in AUGMENTATIONS:
                raise RecipeError(f"{s}.augmentations: {a!r} is not one of {', '.join(AUGMENTATIONS)}")
        if not self.augmentations:
            raise RecipeError(f"{s}.augmentations: at least one is needed")
        for d in self.evol_directions:
            if d not in EVOL_DIRECTIONS:
                raise RecipeError(f"{s}.evol_directions: {d!r} is not one of {', '.join(EVOL_DIRECTIONS)}")
        if not self.evol_directions:
            raise RecipeError(f"{s}.evol_directions: at least one is needed")
        if not self.vote_temperatures or any(t < 0 for t in self.vote_temperatures):
            raise RecipeError(f"{s}.vote_temperatures: need one or more temperatures >= 0")
        if not self.opro_initial or not all(isinstance(i, str) for i in self.opro_initial):
            raise RecipeError(f"{s}.opro_initial: need one or more instructions")
        PromptsConfig(layout=self.layout)  # validates the layout name

    def layout_for(self, row: dict[str, Any]) -> Layout:
        return PromptsConfig(
            layout=self.layout,
            question_field=self.question_field,
            solution_field=self.solution_field,
            answer_field=self.answer_field,
            id_field=self.id_field,
        ).layout_for(row)

    @property
    def optimizer_backend(self) -> BackendConfig:
        return self.optimizer or self.backend
