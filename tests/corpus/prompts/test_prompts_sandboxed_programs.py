"""Hostile programs in supplied traces are stopped, their records dropped with a reason, the stage goes on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sciloom.corpus.prompts.config import PromptsConfig
from sciloom.corpus.prompts.stage import run_prompts_stage
from sciloom.corpus.shards import read_documents, shard_files
from sciloom.corpus.stage import StageRun


def hostile_rows(outside: Path) -> list[dict]:
    """GSM8K's first problem with supplied programs; only the last one is honest."""
    question = (
        "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
        "How many clips did Natalia sell altogether in April and May?"
    )
    solution = (
        "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips.\n#### 72"
    )
    programs = {
        "loop": "while True:\n    pass\n",
        "fork": "import os\nos.fork()\nprint(72)\n",
        "write_outside": f"open({str(outside)!r}, 'w').write('pwned')\nprint(72)\n",
        "memory": "hog = bytearray(4 * 1024**3)\nprint(72)\n",
        "socket": "import socket\nsocket.create_connection(('example.com', 80))\nprint(72)\n",
        # issue 17's escapes from an in-process guard: a shell via _posixsubprocess, a dir_fd write,
        # the host's /etc/passwd copied into the record
        "fork_exec": (
            "import _posixsubprocess, os\nr, w = os.pipe()\n"
            f"_posixsubprocess.fork_exec([b'/bin/sh', b'-c', b'touch {outside}'], [b'/bin/sh'], True, (), None, "
            "None, -1, -1, -1, -1, -1, -1, r, w, True, False, 0, None, None, None, -1, None, False)\nprint(72)\n"
        ),
        "dir_fd": (
            f"import os\nfd = os.open({str(outside.parent)!r}, os.O_RDONLY)\n"
            "os.close(os.open('pwned.txt', os.O_CREAT | os.O_WRONLY, dir_fd=fd))\nprint(72)\n"
        ),
        "passwd": "print(open('/etc/passwd').read())\nprint(72)\n",
        "honest": "may = 48 / 2\nprint(int(48 + may))\n",
    }
    return [
        {"question": question, "answer": solution, "program": code, "name": name}
        for name, code in programs.items()
    ]


@pytest.mark.parametrize("kind", ["pot", "work"])
def test_hostile_programs_are_stopped_and_dropped_with_their_reason(kind: str, tmp_path: Path):
    outside = tmp_path / "outside" / "pwned.txt"
    outside.parent.mkdir()
    rows = hostile_rows(outside)
    if kind == "work":  # a <work> program reports through output.txt, as Galactica's do
        rows[-1]["program"] = (
            "may = 48 / 2\nwith open('output.txt', 'w') as f:\n    f.write(str(int(48 + may)))\n"
        )
    problems = tmp_path / "hostile.jsonl"
    problems.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = PromptsConfig(timeout_s=2.0, parallel=6)
    manifest = run_prompts_stage(kind, [str(problems)], config, StageRun(kind, tmp_path / "out"))
    t = manifest.totals
    assert t.docs["in"] == 9 and t.docs["kept"] == 1 and t.docs["dropped"] == 8
    assert t.dropped_reasons == {
        "program_timeout": 1,
        "program_forbidden_operation": 1,
        "program_forbidden_write": 1,
        "program_forbidden_import": 1,
        "program_memory": 1,
        "program_forbidden_syscall": 1,
        "program_forbidden_read": 2,
    }
    assert list(outside.parent.iterdir()) == []
    assert manifest.extra["prompts"]["sandbox"]["isolation"] == "bwrap"
    (kept,) = read_documents(shard_files(tmp_path / "out"))
    assert kept.metadata["program_origin"] == "supplied"
    assert "72" in kept.text.rsplit("```", 1)[1]


def test_work_program_that_writes_no_output_file_is_dropped(tmp_path: Path):
    row = hostile_rows(tmp_path / "unused")[-1] | {"program": "print(72)\n"}  # prints, but no output.txt
    problems = tmp_path / "p.jsonl"
    problems.write_text(json.dumps(row) + "\n")
    manifest = run_prompts_stage("work", [str(problems)], PromptsConfig(), StageRun("work", tmp_path / "out"))
    assert manifest.totals.dropped_reasons == {"no_output_file": 1}
