"""Stage progress: documents and rates while one big input is read, on stderr and in the log."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from sciloom.corpus.progress import ReadMeter, Snapshot, format_line, read_snapshot


def _as_documents(src, dst, copies: int = 1) -> int:
    """GSM8K rows -> JSONL documents (`id`, `text`): a real, single big input file."""
    n = 0
    with open(src) as fin, open(dst, "w") as fout:
        rows = [json.loads(line) for line in fin]
        for c in range(copies):
            for i, row in enumerate(rows):
                text = f"{row['question']}\n\n{row['answer']}"
                fout.write(json.dumps({"id": f"gsm8k-{c}-{i}", "text": text}) + "\n")
                n += 1
    return n


def test_a_single_big_input_reports_documents_read_before_its_task_ends(tmp_path, shared_data):
    src = tmp_path / "gsm8k.jsonl"
    total = _as_documents(shared_data / "problems" / "gsm8k" / "train.jsonl", src)
    out = tmp_path / "out"
    env = {**os.environ, "SCILOOM_PROGRESS_INTERVAL_S": "0.5"}
    env.pop("SCILOOM_NO_PROGRESS", None)
    cmd = [sys.executable, "-m", "sciloom.corpus.cli.main", "filter", str(src), "--out", str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    # stderr is a pipe here, as in CI logs and sbatch output: plain lines, no bar.
    lines = [line for line in proc.stderr.splitlines() if line.startswith("sciloom: filter: ")]
    assert lines, proc.stderr
    pattern = re.compile(r"(\d+)/1 tasks, ([\d,]+) docs read \(([\d,]+) docs/s, [\d.]+ MB/s\)")
    seen = [pattern.search(line) for line in lines]
    assert all(seen), lines
    during = [int(m.group(2).replace(",", "")) for m in seen if m.group(1) == "0"]
    assert any(0 < n < total for n in during), lines  # counted while the only task still ran
    assert during == sorted(during)
    log = (out / "logs" / "sciloom.log").read_text()
    assert f"filter: 1/1 tasks, {total:,} docs read" in log and "(done)" in log


def test_rates_count_only_what_this_run_read(tmp_path):
    logs = tmp_path / "logs"
    for rank, docs in ((0, 10), (1, 5)):
        meter = ReadMeter(logs / "progress", rank)
        for _ in range(docs):
            meter.tick(100)
        meter.flush()
    (logs / "completions").mkdir()
    (logs / "completions" / "00000").touch()
    snap = read_snapshot(logs)
    assert snap == Snapshot(tasks_done=1, docs=15, bytes=1500)
    # A resumed run that started at 10 documents and has read 5 more in 2 s.
    line = format_line("dedup", 2, snap, Snapshot(0, 10, 1000), elapsed_s=2.0)
    assert line == "dedup: 1/2 tasks, 15 docs read (2 docs/s, 0.0 MB/s), 0:00:02"
