"""End-to-end training on CPU (gloo, 2 processes): layouts, resharding, SIGTERM resume, export.

All runs continue the same tiny HF Llama on the same data in fp32, so their loss curves must agree
whatever the layout: the loss is a per-token mean over the global batch (FIELD-NOTES 9 recipe).
"""

from __future__ import annotations

import json

import pytest
from pretrain_runs import run_and_sigterm, run_pretrain

STEPS = 6
# fp32 sums in another order (TP all-reduce, PP stage boundary) drift by ~1e-6 over a few steps
LAYOUT_TOL = 1e-4


@pytest.fixture(scope="module")
def dp_run(tmp_path_factory, base_sets):
    """The reference: TP 1 x PP 1 x DP 2, exports the final model to HF format."""
    out = tmp_path_factory.mktemp("dp2")
    return run_pretrain(out, [*base_sets, f"checkpoint.export_hf='{out / 'hf'}'"])


@pytest.fixture(scope="module")
def tp_run(tmp_path_factory, base_sets):
    # saves at steps 3 and 6 in the optimizer format that reloads at another TP/PP
    sets = ["parallel.tensor=2", "checkpoint.interval=3", "checkpoint.optimizer_format='fully_reshardable'"]
    return run_pretrain(tmp_path_factory.mktemp("tp2"), [*base_sets, *sets])


def test_dp2_trains_from_hf_checkpoint_and_loss_decreases(dp_run):
    losses = dp_run.losses
    assert sorted(losses) == list(range(1, STEPS + 1))
    assert losses[STEPS] < losses[1] - 0.05, losses
    (check,) = dp_run.events("step0_check")
    assert check["diff"] < 1e-5, (
        check
    )  # converted model == HF model on the first batch (added tokens + padding)
    rows = [r for r in dp_run.rows if "loss" in r]
    assert all(r["grad_norm"] is not None and r["grad_norm"] > 0 and r["tokens_per_s"] > 0 for r in rows)
    assert (dp_run.out_dir / "checkpoints" / "latest_checkpointed_iteration.txt").read_text().strip() == str(
        STEPS
    )


def test_tp2_matches_dp2_loss_curve(dp_run, tp_run):
    assert "TP 2 x PP 1 x DP 1" in json.dumps(tp_run.events("start"))
    assert tp_run.losses.keys() == dp_run.losses.keys()
    for step, loss in dp_run.losses.items():
        assert tp_run.losses[step] == pytest.approx(loss, abs=LAYOUT_TOL), step
    assert tp_run.events("step0_check")[0]["diff"] < 1e-5


def test_pp2_matches_dp2_loss_curve_and_exports_the_same_model(tmp_path, base_sets, dp_run):
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    pp = run_pretrain(
        tmp_path, [*base_sets, "parallel.pipeline=2", f"checkpoint.export_hf='{tmp_path / 'hf'}'"]
    )
    assert "TP 1 x PP 2 x DP 1" in json.dumps(pp.events("start"))
    for step, loss in dp_run.losses.items():
        assert pp.losses[step] == pytest.approx(loss, abs=LAYOUT_TOL), step
    ours, ref = (
        load_file(tmp_path / "hf" / "model.safetensors"),
        load_file(dp_run.out_dir / "hf" / "model.safetensors"),
    )
    assert ours.keys() == ref.keys() and "lm_head.weight" not in ours  # tied embeddings stay tied
    assert ours["model.embed_tokens.weight"].shape == (512, 64)  # padding dropped, added tokens kept
    assert max(float((ours[k] - ref[k]).abs().max()) for k in ours) < LAYOUT_TOL
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "hf", dtype=torch.float32)
    assert (
        model.config.vocab_size == 512
        and torch.isfinite(model(input_ids=torch.tensor([[1, 2, 511]])).logits).all()
    )


def test_checkpoint_saved_at_tp2_loads_at_tp1_with_the_same_loss(tmp_path, base_sets, tp_run):
    ckpt = tp_run.out_dir / "checkpoints" / "iter_0000003"
    tp1 = run_pretrain(tmp_path, [*base_sets, f"checkpoint.load='{ckpt}'"])
    (start,) = tp1.events("start")
    assert start["layout"] == "world 2 = TP 1 x PP 1 x DP 2" and start["step"] == 3
    assert start["optimizer_restored"]  # Adam moments resharded from TP 2 to TP 1, not reset
    assert sorted(tp1.losses) == [4, 5, 6]
    # step 4 is the loaded weights' loss; steps 5-6 also need the optimizer state and schedule
    for step in (4, 5, 6):
        assert tp1.losses[step] == pytest.approx(tp_run.losses[step], abs=1e-5), step
    assert tp1.val_losses()[STEPS] == pytest.approx(tp_run.val_losses()[STEPS], abs=1e-5)


def test_export_hf_reshards_the_newest_checkpoint_in_one_process(tmp_path, base_sets, tp_run, dp_run):
    from safetensors.torch import load_file

    # what `sciloom pretrain RUN.toml --export-hf DIR` runs: one process, TP = PP = 1
    sets = [*base_sets, f"checkpoint.dir='{tp_run.out_dir / 'checkpoints'}'", "parallel.tensor=1"]
    run_pretrain(tmp_path, sets, nproc=1, extra=("--export-hf", str(tmp_path / "hf")))
    ours, ref = (
        load_file(tmp_path / "hf" / "model.safetensors"),
        load_file(dp_run.out_dir / "hf" / "model.safetensors"),
    )
    assert ours.keys() == ref.keys()
    assert max(float((ours[k] - ref[k]).abs().max()) for k in ours) < LAYOUT_TOL  # TP 2 step 6 == DP 2 step 6


def test_sigterm_saves_and_resume_reproduces_the_uninterrupted_loss_curve(tmp_path, base_sets, dp_run):
    killed = run_and_sigterm(tmp_path, base_sets, after_step=2)
    stopped = max(killed.losses)
    assert 2 <= stopped < STEPS, killed.output[-3000:]
    assert killed.events("preempted")[0]["step"] == stopped
    assert (tmp_path / "preempted").read_text().strip() == str(stopped)
    assert (tmp_path / "checkpoints" / "latest_checkpointed_iteration.txt").read_text().strip() == str(
        stopped
    )
    resumed = run_pretrain(tmp_path, base_sets)
    assert resumed.events("start")[-1]["step"] == stopped
    assert len(resumed.events("step0_check")) == 1  # the guard ran once, not again on resume
    curve = resumed.losses
    assert sorted(curve) == list(range(1, STEPS + 1))
    for step, loss in dp_run.losses.items():
        assert curve[step] == pytest.approx(loss, abs=1e-6), (step, curve[step], loss)
