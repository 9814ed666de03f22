"""`sciloom pretrain RUN.toml`: continued pretraining on megatron-core, locally or on Slurm.

    sciloom pretrain RUN.toml                       # torchrun on this node (launch.nproc_per_node)
    sciloom pretrain RUN.toml --slurm --nodes 4 --gpus-per-node 8   # write + sbatch a script
    sciloom pretrain RUN.toml --slurm --nodes 4 --dry-run           # print script + resolved config
    sciloom pretrain RUN.toml --export-hf DIR       # newest checkpoint -> Hugging Face format

Every knob lives in the run config; `--set section.key=value` overrides one for this launch.
The layout (TP x PP x DP against the process count) is validated before anything starts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pretrain", help="continue pretraining a Llama/Qwen2 model on megatron-core")
    p.add_argument("config", help="run config TOML (see examples/pretrain-*.toml)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one config value (TOML syntax), e.g. --set training.train_iters=100")  # fmt: skip
    p.add_argument("--slurm", action="store_true", help="write an sbatch script and submit it")
    p.add_argument("--nodes", type=int, help="Slurm nodes (default: slurm.nodes)")
    p.add_argument("--gpus-per-node", type=int, help="GPUs per node (default: slurm.gpus_per_node)")
    p.add_argument("--dry-run", action="store_true", help="print the command/script and resolved config only")
    p.add_argument("--export-hf", metavar="DIR", help="export the newest checkpoint to HF format")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sciloom.pretrain.config import load_config, validate_world
    from sciloom.pretrain.launch import local_command, parse_overrides
    from sciloom.pretrain.model_spec import load_hf_shape, named_shape

    if args.export_hf:  # one process loads the newest checkpoint at TP = PP = 1 (resharded)
        args.set = [*args.set, "parallel.tensor=1", "parallel.pipeline=1", "parallel.data=0"]
    cfg = load_config(args.config, parse_overrides(args.set))
    shape = (
        load_hf_shape(cfg.model.hf_checkpoint) if cfg.model.hf_checkpoint else named_shape(cfg.model.shape)
    )
    resolved = json.dumps(cfg.to_dict(), indent=2)
    if args.slurm:
        from sciloom.pretrain import slurm

        nodes = args.nodes or cfg.slurm.nodes
        gpus = cfg.slurm.gpus_per_node if args.gpus_per_node is None else args.gpus_per_node
        validate_world(cfg, nodes * (gpus or cfg.launch.nproc_per_node), shape.num_hidden_layers)
        if args.dry_run:
            print(slurm.render_sbatch(cfg, args.config, nodes=nodes, gpus_per_node=gpus, overrides=args.set))
            print("# resolved config\n" + resolved)
            return 0
        path = slurm.write_sbatch(cfg, args.config, cfg.out_dir / "slurm" / "pretrain.sbatch", nodes=nodes,
                                  gpus_per_node=gpus, overrides=args.set, python=sys.executable)  # fmt: skip
        print(f"submitted {path} as Slurm job {slurm.submit(path)}")
        return 0
    nproc = 1 if args.export_hf else cfg.launch.nproc_per_node
    validate_world(cfg, nproc, shape.num_hidden_layers)
    cmd = local_command(cfg, args.config, args.set, nproc=nproc, export_hf=args.export_hf)
    if args.dry_run:
        print(" ".join(cmd))
        print("# resolved config\n" + resolved)
        return 0
    if not args.export_hf:
        import torch

        from sciloom.corpus.errors import SciloomError

        if not torch.cuda.is_available():
            # megatron-core calls CUDA throughout; fail here in one line, not in every rank.
            raise SciloomError(
                "no CUDA device on this machine: megatron-core training needs GPUs "
                "(use --dry-run or --slurm here; the CPU tests in tests/pretrain run it through a test-only shim)"
            )
    env = {
        **os.environ,
        "TORCH_ELASTIC_SHUTDOWN_TIMEOUT": os.environ.get("TORCH_ELASTIC_SHUTDOWN_TIMEOUT", "300"),
    }
    return subprocess.run(cmd, env=env, check=False).returncode
