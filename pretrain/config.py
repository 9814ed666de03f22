"""`PretrainConfig`: one TOML run config -> a validated dataclass tree.

Sections: `[model]` (HF checkpoint folder or named shape), `[parallel]` (TP/PP/DP), `[training]`
(batch sizes, sequence length, iterations, precision, seed), `[optimizer]` (AdamW + warm-up and
cosine/WSD/linear/constant decay), `[data]` (blend from a sciloom mix/tokenize manifest, or explicit
prefixes and weights; tokenizer), `[checkpoint]`, `[logging]`, `[launch]` (local torchrun) and
`[slurm]`. Loading is strict: an unknown key is an error naming `section.key` (torchtitan's TOML
config manager); every field is validated in `__post_init__` with an error naming it. Degrees
against the world size are checked by `validate_world` before any process group starts.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sciloom.corpus.errors import RecipeError
from sciloom.corpus.strict_config import config_from_dict, config_to_dict

DECAY_STYLES = ("cosine", "wsd", "linear", "constant")
WSD_DECAY_STYLES = ("linear", "cosine", "exponential", "minus_sqrt")
PRECISIONS = ("bf16", "fp32")
TOKENIZER_LIBRARIES = ("sentencepiece", "huggingface", "null")


def _positive(where: str, value: int | float, zero_ok: bool = False) -> None:
    if value < 0 or (value == 0 and not zero_ok):
        raise RecipeError(f"{where} must be {'>= 0' if zero_ok else '> 0'}, got {value}")


@dataclass
class ModelConfig:
    """The model to continue pretraining: exactly one of `hf_checkpoint` or `shape`."""

    hf_checkpoint: str | None = None
    """Hugging Face checkpoint folder (config.json + safetensors) of a Llama/Qwen2-family model."""
    shape: str | None = None
    """Named shape from `model_spec.NAMED_SHAPES` (random init), e.g. "tiny", "llama-3.2-1b"."""
    vocab_size: int | None = None
    """Tokenizer vocabulary if larger than the checkpoint's (added special tokens; new rows =
    mean embedding). Default: the checkpoint's / shape's vocabulary."""
    make_vocab_size_divisible_by: int = 128
    """Embedding rows are padded to a multiple of this x TP (Megatron-LM default 128)."""
    attention: str = "sdpa"
    """Core attention: "sdpa" (fused, FIELD-NOTES 10) or "local" (megatron's O(s^2) module)."""
    recompute: str | None = None
    """Activation recomputation: "" (off), "selective" (core attention) or "full"."""
    step0_check: bool = True
    """Before training from an HF checkpoint, compare the converted model's loss with the HF
    model's on the first batch (catches a bad conversion; NVIDIA/Megatron-LM#933 started at 8)."""
    step0_tolerance: float = 0.02
    """Allowed |loss_mcore - loss_hf| (nats); bf16 rounding alone moves a 1B model's loss ~1e-3."""

    def __post_init__(self) -> None:
        self.hf_checkpoint = self.hf_checkpoint or None  # "" (an override clearing it) = unset
        self.shape = self.shape or None
        if (self.hf_checkpoint is None) == (self.shape is None):
            raise RecipeError("model: set exactly one of model.hf_checkpoint or model.shape")
        if self.attention not in ("sdpa", "local"):
            raise RecipeError(f"model.attention must be 'sdpa' or 'local', got {self.attention!r}")
        self.recompute = self.recompute or None  # "" = off (TOML has no null)
        if self.recompute not in (None, "selective", "full"):
            raise RecipeError(f"model.recompute must be 'selective' or 'full', got {self.recompute!r}")
        _positive("model.make_vocab_size_divisible_by", self.make_vocab_size_divisible_by)
        if self.vocab_size is not None:
            _positive("model.vocab_size", self.vocab_size)


@dataclass
class ParallelConfig:
    """Parallel degrees; world size = tensor * pipeline * data."""

    tensor: int = 1
    """Tensor-parallel degree (within a node: it all-reduces every layer)."""
    pipeline: int = 1
    """Pipeline-parallel degree; must divide the number of layers."""
    data: int = 0
    """Data-parallel degree; 0 = world size / (tensor * pipeline)."""
    sequence_parallel: bool = True
    """Shard norms/dropout activations over TP (on whenever tensor > 1)."""
    distributed_optimizer: bool = True
    """Shard optimizer state over DP (ZeRO-1)."""
    overlap_grad_reduce: bool = True
    """Overlap the DP gradient reduce-scatter with backward (GPU only; off on CPU)."""

    def __post_init__(self) -> None:
        _positive("parallel.tensor", self.tensor)
        _positive("parallel.pipeline", self.pipeline)
        _positive("parallel.data", self.data, zero_ok=True)


@dataclass
class TrainingConfig:
    micro_batch_size: int = 1
    """Sequences per microbatch per DP rank."""
    global_batch_size: int = 8
    """Sequences per optimizer step over all DP ranks (= micro x DP x accumulation steps)."""
    seq_length: int = 2048
    """Tokens per sequence."""
    train_iters: int = 1000
    """Optimizer steps to run."""
    precision: str = "bf16"
    """"bf16" (Float16Module + fp32 main grads/params in the optimizer) or "fp32"."""
    grad_clip: float = 1.0
    """Global gradient-norm clip (Llama 2/3 recipe: 1.0); 0 disables."""
    seed: int = 1234
    """Seed for init, data order and dropout."""
    log_interval: int = 1
    """Log every N steps."""
    eval_interval: int = 0
    """Validation loss every N steps on the validation split (0: never)."""
    eval_iters: int = 2
    """Global batches per validation."""

    def __post_init__(self) -> None:
        for name in ("micro_batch_size", "global_batch_size", "seq_length", "train_iters", "log_interval"):
            _positive(f"training.{name}", getattr(self, name))
        _positive("training.eval_interval", self.eval_interval, zero_ok=True)
        _positive("training.grad_clip", self.grad_clip, zero_ok=True)
        if self.precision not in PRECISIONS:
            raise RecipeError(f"training.precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.global_batch_size % self.micro_batch_size:
            raise RecipeError(
                f"training.global_batch_size ({self.global_batch_size}) must be a multiple of "
                f"training.micro_batch_size ({self.micro_batch_size})"
            )


@dataclass
class OptimizerConfig:
    """AdamW with linear warm-up then decay (Megatron-LM's OptimizerParamScheduler)."""

    lr: float = 3e-4
    """Peak learning rate (reached after warm-up)."""
    min_lr: float = 3e-5
    """Floor of the decay (Llama recipe: 10% of peak)."""
    weight_decay: float = 0.1
    adam_beta1: float = 0.9
    adam_beta2: float = 0.95
    adam_eps: float = 1e-8
    warmup_iters: int = 0
    """Linear warm-up steps from 0 to `lr`."""
    decay_style: str = "cosine"
    """"cosine", "wsd" (warm-up, stable, decay), "linear" or "constant"."""
    decay_iters: int | None = None
    """Step at which the decay reaches `min_lr`; default training.train_iters."""
    wsd_decay_iters: int | None = None
    """WSD only: length of the final decay phase (default 20% of decay_iters, MiniCPM)."""
    wsd_decay_style: str = "minus_sqrt"
    """WSD only: shape of the final decay (1 - sqrt, Hägele et al. 2024)."""

    def __post_init__(self) -> None:
        _positive("optimizer.lr", self.lr)
        _positive("optimizer.min_lr", self.min_lr, zero_ok=True)
        if self.min_lr > self.lr:
            raise RecipeError(f"optimizer.min_lr ({self.min_lr}) exceeds optimizer.lr ({self.lr})")
        _positive("optimizer.warmup_iters", self.warmup_iters, zero_ok=True)
        if self.decay_style not in DECAY_STYLES:
            raise RecipeError(
                f"optimizer.decay_style must be one of {DECAY_STYLES}, got {self.decay_style!r}"
            )
        if self.wsd_decay_style not in WSD_DECAY_STYLES:
            raise RecipeError(f"optimizer.wsd_decay_style must be one of {WSD_DECAY_STYLES}")


@dataclass
class DataConfig:
    """Training data: a blend of Megatron .bin/.idx prefixes."""

    manifest: str | None = None
    """A sciloom tokenize/mix stage folder or manifest.json whose `extra` names the prefixes and
    weights (the blend line); relative prefixes resolve against the manifest's folder."""
    prefix_root: str | None = None
    """Folder that relative prefixes of the manifest's blend resolve against (default: the
    manifest's folder). Set it to the tokenize stage folder when `manifest` is the mix stage's."""
    prefixes: list[str] = field(default_factory=list)
    """Explicit .bin/.idx prefixes (without extension), used when there is no manifest."""
    weights: list[float] = field(default_factory=list)
    """Blend weights for `prefixes` (normalised); empty = weight by size."""
    tokenizer: str | None = None
    """Tokenizer: a SentencePiece .model or an HF tokenizer folder; default: the tokenize stage's
    pinned tokenizer named by `manifest` (none with library "null")."""
    tokenizer_library: str = "sentencepiece"
    """"sentencepiece", "huggingface" or "null" (ids only; tests)."""
    null_vocab_size: int = 0
    """Vocabulary of the "null" tokenizer (its EOD id is this value)."""
    split: str = "98,2,0"
    """train,valid,test split of documents (Megatron-LM syntax)."""
    eod_mask_loss: bool = False
    """Mask the loss on EOD tokens (the document separator is not a prediction target)."""
    reset_position_ids: bool = False
    """Restart positions at each document boundary inside a sequence."""
    cache_dir: str | None = None
    """Where megatron-core caches its index files; default OUT/data_cache."""
    num_workers: int = 2
    """DataLoader worker processes per rank (0: load in the training process)."""

    def __post_init__(self) -> None:
        if self.manifest is None and not self.prefixes:
            raise RecipeError("data: set data.manifest or data.prefixes")
        if self.weights and len(self.weights) != len(self.prefixes):
            raise RecipeError(
                f"data.weights has {len(self.weights)} entries for {len(self.prefixes)} data.prefixes"
            )
        if any(w < 0 for w in self.weights) or (self.weights and sum(self.weights) <= 0):
            raise RecipeError(f"data.weights must be non-negative with a positive sum, got {self.weights}")
        if self.tokenizer_library not in TOKENIZER_LIBRARIES:
            raise RecipeError(f"data.tokenizer_library must be one of {TOKENIZER_LIBRARIES}")
        if self.tokenizer_library == "null" and self.null_vocab_size <= 0:
            raise RecipeError("data.null_vocab_size must be > 0 with data.tokenizer_library = 'null'")
        if self.tokenizer_library != "null" and not self.tokenizer and not self.manifest:
            raise RecipeError(
                f"data.tokenizer is required with tokenizer_library {self.tokenizer_library!r} "
                "(or a data.manifest of the tokenize stage, which names its tokenizer)"
            )
        parts = self.split.split(",")
        if len(parts) != 3 or not all(p.strip().replace(".", "", 1).isdigit() for p in parts):
            raise RecipeError(f"data.split must look like '98,2,0', got {self.split!r}")


@dataclass
class CheckpointConfig:
    dir: str | None = None
    """Checkpoint folder (iter_NNNNNNN/ subfolders); default OUT/checkpoints."""
    interval: int = 0
    """Save every N steps (0: only at the end and on SIGTERM)."""
    load: str | None = None
    """Checkpoint folder to start from (e.g. another layout's run); default: resume from `dir`."""
    load_optimizer: bool = True
    """Restore optimizer, scheduler, sampler and RNG (False: weights only, fresh schedule)."""
    save_on_exit: bool = True
    """Save when training ends or a SIGTERM arrives (Slurm preemption)."""
    optimizer_format: str = "dp_reshardable"
    """Distributed-optimizer state format: "dp_reshardable" (each rank writes its own buffers, no
    gathering; reloads at another DP size) or "fully_reshardable" (gathered per DP group at save,
    slower; reloads at any TP/PP/DP layout)."""
    export_hf: str | None = None
    """Write the final model in HF format here (`sciloom pretrain RUN.toml --export-hf DIR` too)."""

    def __post_init__(self) -> None:
        _positive("checkpoint.interval", self.interval, zero_ok=True)
        if self.optimizer_format not in ("dp_reshardable", "fully_reshardable"):
            raise RecipeError(
                f"checkpoint.optimizer_format must be 'dp_reshardable' or 'fully_reshardable', got {self.optimizer_format!r}"
            )


@dataclass
class LoggingConfig:
    out_dir: str = "runs/pretrain"
    """Run folder: metrics.jsonl, logs/, checkpoints/ (unless checkpoint.dir), data_cache/."""
    tensorboard: bool = True
    """Also write TensorBoard events when `tensorboard` is installed."""
    wandb_project: str | None = None
    """Also log to this Weights & Biases project when `wandb` is installed (rank 0)."""
    peak_tflops: float = 989.4
    """Dense bf16 peak of one GPU for MFU (H100 SXM: 989.4 TFLOP/s)."""


@dataclass
class LaunchConfig:
    nproc_per_node: int = 1
    """Processes (GPUs) on this node for a local `sciloom pretrain RUN.toml` run."""
    master_port: int = 29500
    """Rendezvous port."""
    backend: str = "nccl"
    """torch.distributed backend: "nccl" on GPUs, "gloo" for CPU tests."""

    def __post_init__(self) -> None:
        _positive("launch.nproc_per_node", self.nproc_per_node)
        if self.backend not in ("nccl", "gloo"):
            raise RecipeError(f"launch.backend must be 'nccl' or 'gloo', got {self.backend!r}")


@dataclass
class SlurmConfig:
    nodes: int = 1
    gpus_per_node: int = 8
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time: str = "24:00:00"
    cpus_per_task: int | None = None
    """CPUs for the one torchrun task of each node (default: 8 per GPU)."""
    job_name: str = "sciloom-pretrain"
    signal_seconds: int = 120
    """SIGTERM this many seconds before the time limit (`--signal=TERM@120`)."""
    requeue: bool = True
    """Requeue the job after a preemption/time-limit save so it resumes."""
    setup: list[str] = field(default_factory=list)
    """Shell lines run before launching (module load, venv activation)."""
    sbatch_args: list[str] = field(default_factory=list)
    """Extra `#SBATCH` options, e.g. ["--exclusive", "--mem=0"]."""
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment variables (NCCL_IB_HCA, NCCL_SOCKET_IFNAME, ...)."""

    def __post_init__(self) -> None:
        _positive("slurm.nodes", self.nodes)
        _positive("slurm.gpus_per_node", self.gpus_per_node)
        _positive("slurm.signal_seconds", self.signal_seconds, zero_ok=True)


@dataclass
class PretrainConfig:
    model: ModelConfig
    data: DataConfig
    parallel: ParallelConfig = field(default_factory=ParallelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    launch: LaunchConfig = field(default_factory=LaunchConfig)
    slurm: SlurmConfig = field(default_factory=SlurmConfig)
    source: str | None = None
    """The TOML file this came from (relative paths in it resolve against its folder)."""

    def __post_init__(self) -> None:
        o, t = self.optimizer, self.training
        decay = o.decay_iters or t.train_iters
        if o.warmup_iters >= decay and o.decay_style != "constant":
            raise RecipeError(
                f"optimizer.warmup_iters ({o.warmup_iters}) must be < the decay length ({decay})"
            )
        if o.decay_style == "wsd" and (o.wsd_decay_iters or 0) > decay:
            raise RecipeError(
                f"optimizer.wsd_decay_iters ({o.wsd_decay_iters}) exceeds the decay length ({decay})"
            )
        if self.parallel.data and self.training.global_batch_size % (t.micro_batch_size * self.parallel.data):
            raise RecipeError(
                f"training.global_batch_size ({t.global_batch_size}) must be a multiple of "
                f"training.micro_batch_size ({t.micro_batch_size}) x parallel.data ({self.parallel.data})"
            )

    # -- derived values --------------------------------------------------------------------
    @property
    def out_dir(self) -> Path:
        return Path(self.logging.out_dir)

    @property
    def checkpoint_dir(self) -> Path:
        return Path(self.checkpoint.dir) if self.checkpoint.dir else self.out_dir / "checkpoints"

    @property
    def decay_iters(self) -> int:
        return self.optimizer.decay_iters or self.training.train_iters

    @property
    def wsd_decay_iters(self) -> int:
        return self.optimizer.wsd_decay_iters or max(1, math.ceil(0.2 * self.decay_iters))

    def data_parallel_size(self, world_size: int) -> int:
        return world_size // (self.parallel.tensor * self.parallel.pipeline)

    def num_microbatches(self, world_size: int) -> int:
        dp = self.data_parallel_size(world_size)
        return self.training.global_batch_size // (self.training.micro_batch_size * dp)

    def to_dict(self) -> dict[str, Any]:
        return config_to_dict(self)


def validate_world(cfg: PretrainConfig, world_size: int, num_layers: int | None = None) -> int:
    """Check TP x PP x DP against the world size (and layers, batch) before any process group
    starts; returns DP. The error names every degree and the world size."""
    tp, pp, dp = cfg.parallel.tensor, cfg.parallel.pipeline, cfg.parallel.data
    layout = f"parallel.tensor={tp} x parallel.pipeline={pp} x parallel.data={dp or 'auto'}"
    if world_size % (tp * pp):
        raise RecipeError(
            f"world size {world_size} is not divisible by {layout} (tensor x pipeline = {tp * pp})"
        )
    real_dp = world_size // (tp * pp)
    if dp and dp != real_dp:
        raise RecipeError(f"{layout} = {tp * pp * dp} processes, but the world size is {world_size}")
    mbs, gbs = cfg.training.micro_batch_size, cfg.training.global_batch_size
    if gbs % (mbs * real_dp):
        raise RecipeError(
            f"training.global_batch_size ({gbs}) is not a multiple of micro_batch_size ({mbs}) x "
            f"data-parallel size ({real_dp}) for world size {world_size} with {layout}"
        )
    if num_layers is not None and num_layers % pp:
        raise RecipeError(f"the model's {num_layers} layers do not split evenly over parallel.pipeline={pp}")
    return real_dp


def _resolve(path: str | None, base: Path) -> str | None:
    if path is None or path == "" or Path(path).is_absolute():
        return path
    return str((base / path).resolve())


def load_config(path: str | Path, overrides: dict[str, dict[str, Any]] | None = None) -> PretrainConfig:
    """Read a run TOML strictly; relative paths resolve against the TOML's folder.
    `overrides` ({"section": {"key": value}}) are applied on top (CLI flags, tests)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise RecipeError(f"{path}: run config not found") from None
    except tomllib.TOMLDecodeError as err:
        raise RecipeError(f"{path}: invalid TOML ({err})") from err
    for section, values in (overrides or {}).items():
        data.setdefault(section, {}).update(values)
    return config_from_toml_dict(data, base=path.resolve().parent, source=str(path))


def config_from_toml_dict(data: dict[str, Any], base: Path, source: str | None = None) -> PretrainConfig:
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for section in ("model", "data"):
        if section not in data:
            raise RecipeError(f"run config: missing [{section}] section")
    m, d = data["model"], data["data"]
    for key in ("hf_checkpoint",):
        m[key] = _resolve(m.get(key), base)
    for key in ("manifest", "tokenizer", "cache_dir", "prefix_root"):
        d[key] = _resolve(d.get(key), base)
    d["prefixes"] = [_resolve(p, base) for p in d.get("prefixes", [])]
    ck = data.setdefault("checkpoint", {})
    for key in ("dir", "load", "export_hf"):
        ck[key] = _resolve(ck.get(key), base)
    lg = data.setdefault("logging", {})
    if "out_dir" in lg:
        lg["out_dir"] = _resolve(lg["out_dir"], base)
    sections = {f.name: f.type for f in dataclasses.fields(PretrainConfig) if f.name != "source"}
    unknown = sorted(set(data) - set(sections))
    if unknown:
        raise RecipeError(f"unknown section [{unknown[0]}] (known: {', '.join(sections)})")
    hints = typing.get_type_hints(PretrainConfig)
    parts = {name: config_from_dict(hints[name], table, name) for name, table in data.items()}
    try:
        return PretrainConfig(**parts, source=source)
    except TypeError as err:
        raise RecipeError(f"run config: {err}") from err
