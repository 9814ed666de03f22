"""Fixtures of the synth tests: scripted OpenAI-compatible servers and GSM8K/MATH problem files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from synth_server import GsmOracle, ScriptedServer


@pytest.fixture
def serve():
    """`serve(respond)` starts a ScriptedServer; every server is shut down after the test."""
    servers: list[ScriptedServer] = []

    def start(respond) -> ScriptedServer:
        server = ScriptedServer(respond)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture(scope="session")
def gsm8k_rows(shared_data: Path) -> list[dict]:
    """The first 8 GSM8K train problems (real rows)."""
    lines = (shared_data / "problems" / "gsm8k" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[:8]]


@pytest.fixture
def gsm8k_file(tmp_path: Path, gsm8k_rows: list[dict]) -> Path:
    path = tmp_path / "gsm8k_train_head.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in gsm8k_rows), encoding="utf-8")
    return path


@pytest.fixture
def oracle(gsm8k_rows: list[dict]) -> GsmOracle:
    return GsmOracle(gsm8k_rows)
