"""The pretrain sbatch script (`sciloom pretrain --slurm`) really runs under a local Slurm.

`sciloom.pretrain.slurm.render_sbatch` renders the single-node CPU (gloo) script for the tiny run
config; only the training entry (`-m sciloom.pretrain.launch ...`, which needs GPUs or the
tests' megatron CPU shim) is replaced by a small check that records what torchrun gave each rank.
Everything else runs as rendered: the #SBATCH directives, `scontrol show hostnames`, `srun`,
torchrun's c10d rendezvous on the first host, and the preemption path: the first run leaves
`OUT/preempted` (as the trainer does after a SIGTERM save), the script requeues the job, and the
second run finds a clean start.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_slurm import _slurm_env  # same folder: one way to start the local Slurm

from sciloom.pretrain.config import load_config
from sciloom.pretrain.launch import parse_overrides
from sciloom.pretrain.slurm import render_sbatch, submit, write_sbatch

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[2]
TINY_TOML = REPO / "examples" / "pretrain-tiny.toml"

CHECK = """
import json, os, sys
from pathlib import Path
out = Path(sys.argv[1])
restart = int(os.environ.get("SLURM_RESTART_COUNT", "0"))
rank = int(os.environ["RANK"])
(out / "ranks").mkdir(parents=True, exist_ok=True)
keys = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "SLURM_JOB_ID", "OMP_NUM_THREADS")
(out / "ranks" / f"{restart}_{rank}.json").write_text(json.dumps({k: os.environ.get(k) for k in keys}))
if restart == 0 and rank == 0:
    (out / "preempted").touch()  # what the trainer leaves after a SIGTERM checkpoint
"""


@pytest.fixture(scope="module")
def slurm() -> None:
    _slurm_env()


def test_rendered_pretrain_script_runs_torchrun_under_slurm_and_requeues_after_preemption(slurm, tmp_path):
    out = tmp_path / "run"
    cfg = load_config(TINY_TOML, parse_overrides([f"logging.out_dir='{out}'", "slurm.time='0:10:00'"]))
    script = render_sbatch(cfg, TINY_TOML, nodes=1, gpus_per_node=0, python=sys.executable)
    check = tmp_path / "check_ranks.py"
    check.write_text(CHECK)
    script, n = re.subn(r"-m sciloom\.pretrain\.launch .*", f"{check} {out}", script)
    assert n == 1, script
    # Where `sciloom pretrain --slurm` writes it (write_sbatch): the folder also holds Slurm's
    # output file, which must exist before the job starts.
    path = write_sbatch(cfg, TINY_TOML, out / "slurm" / "pretrain.sbatch", nodes=1, gpus_per_node=0)
    path.write_text(script)

    job = submit(path)
    deadline = time.time() + 150
    while True:
        queued = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T %r"], capture_output=True, text=True)
        if not queued.stdout.strip():
            break
        if queued.stdout.split() == ["PENDING", "BeginTime"]:
            # Slurm holds a requeued batch job back for a while (BeginTime); skip the wait.
            subprocess.run(["scontrol", "update", f"jobid={job}", "starttime=now"], check=True)
        assert time.time() < deadline, f"job {job} still queued: {queued.stdout} {queued.stderr}"
        time.sleep(1)

    ranks = {p.stem: json.loads(p.read_text()) for p in (out / "ranks").glob("*.json")}
    assert sorted(ranks) == ["0_0", "0_1", "1_0", "1_1"]  # two ranks, first run and requeued run
    host = subprocess.run(["hostname", "-s"], capture_output=True, text=True).stdout.strip()
    for name, env in ranks.items():
        assert env["WORLD_SIZE"] == "2" and env["RANK"] == name[-1] and env["LOCAL_RANK"] == name[-1]
        assert env["SLURM_JOB_ID"] == job and env["OMP_NUM_THREADS"] == "1"
        assert env["MASTER_ADDR"] in (host, "localhost", "127.0.0.1") or env["MASTER_ADDR"].startswith(host)
    log = (out / "slurm" / f"{cfg.slurm.job_name}-{job}.out").read_text()
    assert f"preempted: checkpoint saved, requeueing job {job}" in log
    assert not (out / "preempted").exists()  # the requeued run starts clean
