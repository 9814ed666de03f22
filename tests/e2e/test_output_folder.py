"""--out folders: one sciloom did not make is refused and left as it was; --force moves its entries
aside and deletes nothing; a second run into a folder in use is refused naming the holder (two
real processes: a real `sciloom` run, paused with SIGSTOP while it holds the folder)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sciloom.corpus.build import check_recipe_hash
from sciloom.corpus.cli.main import main
from sciloom.corpus.errors import UsageError
from sciloom.corpus.output_folder import LOCK_NAME, MARKER_NAME, OutputLock, claim_output_folder
from sciloom.corpus.shards import read_documents, shard_files

SCILOOM = [sys.executable, "-m", "sciloom.corpus.cli.main"]


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under `folder` with its bytes (None for folders)."""
    out: dict[str, bytes | None] = {}
    for path in sorted(folder.rglob("*")):
        out[str(path.relative_to(folder))] = None if path.is_dir() else path.read_bytes()
    return out


def users_folder(root: Path) -> Path:
    """A folder laid out like a stage folder, but the user's: their docs, logs, manifest, notes."""
    folder = root / "mine"
    for sub in ("docs", "logs", "quarantine"):
        (folder / sub).mkdir(parents=True)
    (folder / "docs" / "00000.parquet").write_bytes(b"PAR1 the user's own shard")
    (folder / "logs" / "sciloom.log").write_text("the user's log\n")
    (folder / "quarantine" / "keep.txt").write_text("do not lose me\n")
    (folder / "manifest.json").write_text(json.dumps({"owner": "me", "files": 3}))
    (folder / "README").write_text("my data\n")
    return folder


def gsm8k_jsonl(shared_data: Path, path: Path, rows: int) -> Path:
    with (
        open(shared_data / "problems" / "gsm8k" / "train.jsonl", encoding="utf-8") as fh,
        open(path, "w") as out,
    ):
        for i, line in zip(range(rows), fh):
            row = json.loads(line)
            out.write(json.dumps({"id": f"g{i}", "text": row["question"] + "\n" + row["answer"]}) + "\n")
    return path


@pytest.fixture()
def docs(tmp_path, shared_data) -> Path:
    return gsm8k_jsonl(shared_data, tmp_path / "in.jsonl", 200)


COMMANDS = {
    "filter": ["filter", "{docs}"],
    "dedup": ["dedup", "{docs}"],
    "decontam": ["decontam", "{docs}"],
    "prompts": ["prompts", "cot", "{docs}"],
    "mix": ["mix", "general={docs}"],
    "tokenize": ["tokenize", "{docs}", "--tokenizer", "{docs}"],
    "tokenizer-train": ["tokenizer", "train", "{docs}"],
    "extract-web": ["extract", "web", "{docs}"],
    "extract-arxiv": ["extract", "arxiv", "{docs}"],
    "build": ["build"],
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_stage_command_refuses_a_folder_sciloom_did_not_make(name, tmp_path, docs, capsys):
    folder = users_folder(tmp_path)
    before = snapshot(folder)
    args = [a.format(docs=docs) for a in COMMANDS[name]]
    assert main([*args, "--out", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(folder) in err and "not made by sciloom" in err and "--force" in err
    assert snapshot(folder) == before  # not one byte written: no log, no lock, no marker


def test_force_moves_the_users_entries_aside_and_deletes_none(tmp_path, docs, capsys):
    folder = users_folder(tmp_path)
    before = snapshot(folder)
    assert main(["filter", str(docs), "--out", str(folder), "--force"]) == 0
    (kept,) = [p for p in folder.iterdir() if p.name.startswith(".sciloom-kept-")]
    assert snapshot(kept) == before  # every file of the user, byte for byte
    # the stage's shards are its own: the user's docs/00000.parquet is not among them
    assert [p.name for p in shard_files(folder)] == ["00000.parquet"]
    assert all(str(d.id).startswith("g") for d in read_documents(shard_files(folder)))
    assert json.loads((folder / MARKER_NAME).read_text())["moved"] == sorted(before_top(before))
    assert main(["manifest", "verify", str(folder)]) == 0


def before_top(snap: dict) -> set[str]:
    return {name.split("/")[0] for name in snap}


def test_a_fresh_start_in_an_adopted_folder_removes_only_what_sciloom_wrote(tmp_path, docs, shared_data):
    folder = users_folder(tmp_path)
    assert main(["filter", str(docs), "--out", str(folder), "--force"]) == 0
    (folder / "notes.txt").write_text("written by the user after the run\n")
    kept = {p.name: snapshot(p) for p in folder.iterdir() if p.name.startswith(".sciloom-kept-")}
    other = gsm8k_jsonl(shared_data, tmp_path / "other.jsonl", 50)
    assert main(["filter", str(other), "--out", str(folder)]) == 0  # other inputs: starts afresh
    assert (folder / "notes.txt").read_text() == "written by the user after the run\n"
    assert {p.name: snapshot(p) for p in folder.iterdir() if p.name.startswith(".sciloom-kept-")} == kept


def test_an_empty_folder_and_a_folder_sciloom_made_are_accepted(tmp_path, docs):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["filter", str(docs), "--out", str(empty)]) == 0
    assert main(["filter", str(docs), "--out", str(empty)]) == 0  # its own folder: resumed
    assert (empty / MARKER_NAME).is_file()


def test_a_folder_made_before_the_marker_existed_is_still_sciloom_s(tmp_path, docs):
    out = tmp_path / "old"
    assert main(["filter", str(docs), "--out", str(out)]) == 0
    (out / MARKER_NAME).unlink()  # what a folder of an earlier version looks like
    assert main(["filter", str(docs), "--out", str(out)]) == 0


def test_a_rebuild_from_another_recipe_removes_only_the_old_builds_own_files(tmp_path):
    out = tmp_path / "build"
    claim_output_folder(out)
    (out / "recipe.sha256").write_text("old\n")
    (out / "stages.json").write_text(json.dumps(["01-extract-web", "02-filter"]))
    for stage in ("01-extract-web", "02-filter"):
        claim_output_folder(out / stage)
        (out / stage / "manifest.json").write_text("{}")
    (out / "manifest.json").write_text(json.dumps({"kind": "build"}))
    (out / "99-my-analysis").mkdir()  # the user's, named like a stage but not one of the build's
    (out / "99-my-analysis" / "plot.png").write_bytes(b"\x89PNG")
    (out / "notes.md").write_text("mine\n")
    check_recipe_hash(out, "new", force=True)
    left = {p.name for p in out.iterdir()}
    assert "01-extract-web" not in left and "02-filter" not in left and "manifest.json" not in left
    assert (out / "99-my-analysis" / "plot.png").read_bytes() == b"\x89PNG"
    assert (out / "notes.md").read_text() == "mine\n"
    assert (out / "recipe.sha256").read_text() == "new\n"


def wait_for_holder(lock_file: Path, proc: subprocess.Popen, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the first run ended before it was paused: {proc.communicate()}"
        try:
            holder = json.loads(lock_file.read_text())
            if holder.get("pid") == proc.pid:
                return holder
        except (OSError, ValueError):
            pass
        time.sleep(0.005)
    raise AssertionError("the first run never took the lock")


def test_a_second_run_into_a_folder_in_use_exits_2_naming_the_holder(tmp_path, shared_data, capsys):
    big = gsm8k_jsonl(shared_data, tmp_path / "big.jsonl", 7000)
    out = tmp_path / "out"
    first = subprocess.Popen(
        [*SCILOOM, "filter", str(big), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        holder = wait_for_holder(out / LOCK_NAME, first)
        os.killpg(first.pid, signal.SIGSTOP)  # the first run now holds the folder, mid-run
        before = snapshot(out)
        assert main(["filter", str(big), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "in use by" in err
        assert f"pid {first.pid}" in err and socket.gethostname() in err and "filter" in err
        assert holder["started"] in err
        assert snapshot(out) == before  # the refused run touched nothing
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    assert first.wait(timeout=300) == 0, first.stderr.read().decode()
    assert main(["manifest", "verify", str(out)]) == 0  # the first run's folder is consistent
    assert (out / LOCK_NAME).read_text() == ""  # released: no stale holder left behind


def test_a_build_in_progress_refuses_a_second_build_and_a_killed_holder_frees_the_folder(tmp_path, capsys):
    out = tmp_path / "build"
    first = subprocess.Popen(
        [*SCILOOM, "build", "--out", str(out), "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_for_holder(out / LOCK_NAME, first)
        os.killpg(first.pid, signal.SIGSTOP)
        assert main(["build", "--out", str(out), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert f"pid {first.pid}" in err and "sciloom build" in err
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=60)
    # The kernel drops the lock once the holder and its forked workers (which share the lock's
    # open file) are gone: SIGKILL leaves them a moment to die, so try for a few seconds.
    deadline = time.monotonic() + 20
    while True:
        try:
            with OutputLock(out, "test"):
                break
        except UsageError:
            assert time.monotonic() < deadline, "the killed holder's lock was never released"
            time.sleep(0.05)


@pytest.mark.parametrize("spelling", ["{docs}", "general={docs}"], ids=["path", "mix-name"])
def test_force_never_moves_the_inputs_of_the_run_aside(spelling, tmp_path, docs, capsys):
    folder = docs.parent  # the input lies in --out
    before = snapshot(folder)
    command = ["mix"] if spelling.startswith("general") else ["filter"]
    assert main([*command, spelling.format(docs=docs), "--out", str(folder), "--force"]) == 2
    assert "holds an input" in capsys.readouterr().err
    assert snapshot(folder) == before
