"""`sciloom eval --completions` reproduces accuracy, maj@k and pass@k computed here independently."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sciloom.corpus.cli.main import main


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run_json(capsys, argv: list[str]) -> dict:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def pass_at_k_bruteforce(n: int, c: int, k: int) -> float:
    """Fraction of k-subsets of n samples (c correct) that contain a correct one."""
    return 1 - math.comb(n - c, k) / math.comb(n, k)


@pytest.fixture(scope="module")
def gsm8k(shared_data: Path) -> list[dict]:
    return read_jsonl(shared_data / "problems" / "gsm8k" / "test.jsonl")


@pytest.fixture(scope="module")
def math500(shared_data: Path) -> list[dict]:
    return read_jsonl(shared_data / "problems" / "math500" / "test.jsonl")


def gsm8k_samples(item: dict, pattern: str) -> list[str]:
    """Completions of one GSM8K item: `c` = the real reference solution, `w` = a wrong final
    answer (reference + 7), `n` = no number at all, `r` = right answer as 'The answer is N.'"""
    solution = item["answer"]
    final = int(solution.rsplit("####", 1)[1].strip().replace(",", ""))
    body = solution.rsplit("####", 1)[0]
    forms = {
        "c": solution,
        "r": f"Let me think. The answer is {final:,}.",
        "w": f"{body}#### {final + 7}",
        "n": "I cannot solve this one.",
    }
    return [forms[ch] for ch in pattern]


# per-item sample patterns; counted below without the scorer
GSM8K_PATTERNS = [
    "ccc",
    "cww",
    "wcc",
    "wwc",
    "nnn",
    "rww",
    "wnw",
    "ncr",
    "www",
    "crn",
    "wrc",
    "nwn",
    "cwn",
    "wcn",
]


def test_gsm8k_completions_reproduce_exact_accuracy_maj_and_pass(tmp_path, capsys, gsm8k):
    rows = []
    for i, pattern in enumerate(GSM8K_PATTERNS):
        line_number = 3 * i + 5  # ids are 0-based line numbers of the benchmark file
        for completion in gsm8k_samples(gsm8k[line_number], pattern):
            rows.append({"id": line_number, "completion": completion})
    completions = tmp_path / "gsm8k_completions.jsonl"
    completions.write_text("".join(json.dumps(r) + "\n" for r in rows))

    summary = run_json(capsys, ["eval", "--task", "gsm8k", "--completions", str(completions), "--json"])

    n = len(GSM8K_PATTERNS)
    correct = [[ch in "cr" for ch in p] for p in GSM8K_PATTERNS]
    # wrong answers are all reference+7, so they agree with each other; ties go to the first seen
    majority = []
    for p in GSM8K_PATTERNS:
        good, bad = sum(ch in "cr" for ch in p), sum(ch == "w" for ch in p)
        first_good = min((i for i, ch in enumerate(p) if ch in "cr"), default=99)
        first_bad = min((i for i, ch in enumerate(p) if ch == "w"), default=99)
        majority.append(good > bad or (good == bad and good > 0 and first_good < first_bad))
    assert summary["n"] == n
    assert summary["k"] == 3
    assert summary["accuracy"] == sum(c[0] for c in correct) / n == 5 / 14
    assert summary["maj@k"] == summary["maj@3"] == sum(majority) / n == 6 / 14
    expected_pass = sum(pass_at_k_bruteforce(3, sum(c), 3) for c in correct) / n
    assert summary["pass@k"] == pytest.approx(expected_pass, abs=1e-12)
    assert summary["pass@3"] == pytest.approx(10 / 14)


def test_math500_completions_use_unique_ids_and_real_solutions(tmp_path, capsys, math500):
    rows, expected_first, expected_majority = [], [], []
    chosen = math500[:40:4]
    for j, item in enumerate(chosen):
        other = math500[(math500.index(item) + 1) % len(math500)]
        right, wrong = item["solution"], other["solution"]  # the next item's answer is a different one
        samples = (
            [right, wrong, right, wrong, right]
            if j % 2 == 0
            else [wrong, right, wrong, wrong, "no boxed answer"]
        )
        rows += [{"id": item["unique_id"], "completion": s} for s in samples]
        expected_first.append(samples[0] is right)
        expected_majority.append(j % 2 == 0)
    completions = tmp_path / "math_completions.jsonl"
    completions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "scored"

    summary = run_json(
        capsys, ["eval", "--task", "math500", "--completions", str(completions), "--json", "--out", str(out)]
    )

    n = len(chosen)
    assert summary["n"] == n and summary["k"] == 5
    assert summary["accuracy"] == sum(expected_first) / n == 0.5
    assert summary["maj@5"] == sum(expected_majority) / n == 0.5
    expected_pass = sum(pass_at_k_bruteforce(5, 3 if j % 2 == 0 else 1, 5) for j in range(n)) / n
    assert summary["pass@5"] == pytest.approx(expected_pass)
    records = read_jsonl(out / "math500.jsonl")
    assert [r["id"] for r in records] == [item["unique_id"] for item in chosen]
    assert all(len(r["samples"]) == 5 for r in records)
    assert records[0]["reference"] == chosen[0]["answer"]
    assert json.loads((out / "summary.json").read_text())["math500"] == summary
    # accuracy by subject and level, from the benchmark's own fields
    for field, key in (("subject", "by_subject"), ("level", "by_level")):
        groups: dict[str, list[bool]] = {}
        for item, first in zip(chosen, expected_first):
            groups.setdefault(str(item[field]), []).append(first)
        assert summary[key] == {
            v: {"n": len(f), "accuracy": sum(f) / len(f)} for v, f in sorted(groups.items())
        }


def test_single_sample_summary_has_accuracy_only(tmp_path, capsys, gsm8k):
    completions = tmp_path / "one.jsonl"
    lines = [{"id": i, "completion": gsm8k[i]["answer"] if i % 3 else "#### -1"} for i in range(9)]
    completions.write_text("".join(json.dumps(r) + "\n" for r in lines))
    summary = run_json(capsys, ["eval", "--task", "gsm8k", "--completions", str(completions), "--json"])
    assert summary["n"] == 9 and summary["k"] == 1
    assert summary["accuracy"] == 6 / 9
    assert "maj@k" not in summary and "pass@k" not in summary


def test_pot_completions_are_executed_in_the_sandbox(tmp_path, capsys, gsm8k):
    # item 0: 16 - 3 - 4 eggs at $2 -> 18
    programs = [
        "eggs = 16 - 3 - 4\nprint(eggs * 2)\n```",
        "print(eggs)\n```",  # NameError: no answer
        "import socket\nprint(18)\n```",  # forbidden: no answer
    ]
    completions = tmp_path / "pot.jsonl"
    completions.write_text("".join(json.dumps({"id": 0, "completion": p}) + "\n" for p in programs))
    out = tmp_path / "pot"
    summary = run_json(
        capsys,
        [
            "eval",
            "--task",
            "gsm8k",
            "--mode",
            "pot",
            "--completions",
            str(completions),
            "--json",
            "--out",
            str(out),
        ],
    )
    assert summary["accuracy"] == 1.0 and summary["pass@3"] == 1.0
    samples = read_jsonl(out / "gsm8k.jsonl")[0]["samples"]
    assert [s["answer"] for s in samples] == ["18", None, None]
    assert [s["program_error"] for s in samples] == [None, "nonzero_exit", "forbidden_import"]


def test_explicit_benchmark_file_and_table_output(tmp_path, capsys, shared_data):
    bench = shared_data / "problems" / "metamath" / "GSM8K_test.jsonl"  # same items, MetaMath schema
    completions = tmp_path / "c.jsonl"
    completions.write_text(json.dumps({"id": "0", "completion": "The answer is 18."}) + "\n")
    capsys.readouterr()
    code = main(
        ["eval", "--task", "gsm8k", "--completions", str(completions), "--benchmark-file", str(bench)]
    )
    table = capsys.readouterr().out
    assert code == 0
    assert table.splitlines()[0].split() == [
        "task",
        "mode",
        "n",
        "k",
        "accuracy",
        "maj@k",
        "pass@k",
        "answered",
    ]
    assert table.splitlines()[1].split()[:5] == ["gsm8k", "cot", "1", "1", "100.00%"]


def test_unknown_ids_and_missing_task_are_usage_errors(tmp_path, capsys):
    completions = tmp_path / "bad.jsonl"
    completions.write_text(json.dumps({"id": "test/nope/1.json", "completion": "x"}) + "\n")
    assert main(["eval", "--task", "math500", "--completions", str(completions)]) == 2
    assert "not in the math500 benchmark" in capsys.readouterr().err
    assert main(["eval", "--completions", str(completions)]) == 2
    assert main(["eval", "--tasks", "gsm8k"]) == 2
