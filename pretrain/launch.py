"""Entry point of one training process (started by torchrun): config -> Trainer -> train -> close.

`python -m torch.distributed.run --nproc_per_node N -m sciloom.pretrain.launch RUN.toml
[--set section.key=value ...] [--export-hf DIR]`. `sciloom pretrain` builds this command line
(locally or in the Slurm script). `--export-hf DIR` loads the newest checkpoint and writes it in
Hugging Face format instead of training.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sciloom.corpus.errors import RecipeError, SciloomError


def parse_overrides(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    """["training.train_iters=10", "data.split='9,1,0'"] -> {"training": {"train_iters": 10}, ...}."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot:
            raise RecipeError(f"--set {item!r}: expected section.key=value")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw  # a bare string
        out.setdefault(section, {})[name] = value
    return out


def local_command(cfg: Any, run_toml: str | Path, overrides: Sequence[str], *, nproc: int | None = None,
                  export_hf: str | None = None, entry: Sequence[str] = ("-m", "sciloom.pretrain.launch")) -> list[str]:  # fmt: skip
    """The torchrun command line of a single-node run (`sciloom pretrain RUN.toml`)."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={nproc or cfg.launch.nproc_per_node}", *entry, str(run_toml)]  # fmt: skip
    for o in overrides:
        cmd += ["--set", o]
    if export_hf:
        cmd += ["--export-hf", str(export_hf)]
    return cmd


def setup_logging(rank: int) -> None:
    logging.basicConfig(
        level=logging.INFO if rank == 0 else logging.WARNING, stream=sys.stdout, force=True,
        format=f"%(asctime)s [rank {rank}] %(levelname)s %(name)s: %(message)s",
    )  # fmt: skip
    # megatron-core logs every index file it builds or loads at INFO
    logging.getLogger("megatron").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sciloom.pretrain.launch")
    parser.add_argument("config", help="run config TOML")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument(
        "--export-hf", metavar="DIR", help="export the newest checkpoint to HF format and exit"
    )
    args = parser.parse_args(argv)
    setup_logging(int(os.environ.get("RANK", 0)))
    log = logging.getLogger("sciloom.pretrain")
    from sciloom.pretrain.config import load_config
    from sciloom.pretrain.trainer import Trainer

    trainer = None
    try:
        cfg = load_config(args.config, parse_overrides(args.set))
        trainer = Trainer(cfg).build()
        if args.export_hf:
            if not trainer.loaded_checkpoint:
                raise RecipeError(
                    f"--export-hf: no checkpoint under {cfg.checkpoint_dir} (or checkpoint.load)"
                )
            trainer.export_hf(Path(args.export_hf))
        else:
            state = trainer.train()
            log.info("done: %s", state)
        return 0
    except SciloomError as err:
        log.error("%s", err)
        return err.exit_code
    finally:
        if trainer is not None and hasattr(trainer, "layout"):
            trainer.close()


if __name__ == "__main__":
    sys.exit(main())
