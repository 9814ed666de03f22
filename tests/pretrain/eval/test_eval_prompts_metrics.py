"""Few-shot exemplars, PoT programs in the sandbox, pass@k and summaries."""

from __future__ import annotations

import itertools
import math

import pytest

from sciloom.corpus.answers import extract_answer, is_equivalent
from sciloom.pretrain.eval.benchmarks import default_benchmark_source, load_benchmark
from sciloom.pretrain.eval.metrics import format_summary, pass_at_k, score_item, summarize
from sciloom.pretrain.eval.pot import program_from_completion, run_program, run_programs
from sciloom.pretrain.eval.prompts import build_prompt, default_shots, exemplars, stop_sequences


def test_standard_exemplar_counts_and_formats():
    assert len(exemplars("gsm8k", "cot")) == 8 == default_shots("gsm8k")
    assert len(exemplars("math500", "cot")) == 4 == default_shots("math500")
    prompt = build_prompt("gsm8k", "How many?", 2)
    assert prompt.startswith("Q: There are 15 trees in the grove.")
    assert prompt.count("The answer is") == 2 and prompt.endswith("Q: How many?\nA:")
    prompt = build_prompt("math500", "Find $x$.", 4)
    assert prompt.count("Final Answer: The final answer is") == 4
    assert prompt.endswith("Problem:\nFind $x$.\n\nSolution:")
    assert build_prompt("gsm8k", "How many?", 0) == "Q: How many?\nA:"
    with pytest.raises(ValueError, match="shots=9"):
        build_prompt("gsm8k", "How many?", 9)


def test_cot_exemplars_state_answers_our_extractor_reads():
    answers = [extract_answer(sol, "gsm8k") for _, sol in exemplars("gsm8k", "cot")]
    assert answers == ["6", "5", "39", "8", "9", "29", "33", "8"]
    answers = [extract_answer(sol, "math") for _, sol in exemplars("math", "cot")]
    assert answers == ["[2,5)", "24", "16", "-\\frac{2}{3}"]


@pytest.mark.parametrize("task", ["gsm8k", "math500"])
def test_pot_exemplar_programs_print_the_cot_answers_in_the_sandbox(task):
    for (_, solution), (_, program) in zip(exemplars(task, "cot"), exemplars(task, "pot")):
        run = run_program(program + "\n```\n", timeout_s=30)
        assert run.error is None, run.stdout
        assert is_equivalent(run.answer, extract_answer(solution, task), task), (run.answer, solution)
    assert stop_sequences(task, "pot") == ("```",)
    assert build_prompt(task, "Q?", 1, "pot").endswith(
        "Let's write a program that prints the answer.\n```python\n"
    )


def test_program_extraction_from_fenced_and_open_completions():
    assert program_from_completion("x = 1\nprint(x)\n```\nQ: next") == "x = 1\nprint(x)"
    assert program_from_completion("\n```python\nprint(2)\n```\ntext") == "print(2)"
    assert run_program("   \n```").error == "empty_program"


def test_many_programs_run_concurrently_and_keep_their_order():
    programs = [f"import time\ntime.sleep(0.3)\nprint({i} ** 2)\n```" for i in range(8)] + [
        "while True: pass"
    ]
    runs = run_programs(programs, timeout_s=3, workers=4)
    assert [r.answer for r in runs] == [str(i**2) for i in range(8)] + [None]
    assert runs[-1].error == "timeout"


def test_pass_at_k_equals_the_fraction_of_k_subsets_with_a_correct_sample():
    for n in range(1, 7):
        for c in range(n + 1):
            for k in range(1, n + 1):
                flags = [True] * c + [False] * (n - c)
                subsets = list(itertools.combinations(flags, k))
                assert pass_at_k(n, c, k) == pytest.approx(sum(any(s) for s in subsets) / len(subsets))
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_summary_uses_the_smallest_sample_count_for_maj_and_pass(shared_data):
    item = load_benchmark("gsm8k")[0]  # answer 18
    assert item.id == "0" and item.answer == "18"
    r1 = score_item("gsm8k", "0", "18", ["#### 18", "#### 3", "#### 3", "#### 18"])
    r2 = score_item("gsm8k", "1", "3", ["#### 4", "#### 3", "#### 4"])
    assert r1["majority"] == "18" and r1["majority_correct"] and r1["num_correct"] == 2
    summary = summarize([r1, r2], "gsm8k")
    assert summary["k"] == 3 and summary["n"] == 2
    assert summary["accuracy"] == 0.5
    # first 3 samples of item 0 vote 3 (wrong); item 1 votes 4 (wrong)
    assert summary["maj@3"] == 0.0
    assert summary["pass@3"] == pytest.approx((pass_at_k(4, 2, 3) + pass_at_k(3, 1, 3)) / 2)
    assert math.isclose(summary["pass@k"], summary["pass@3"])
    table = format_summary([summary])
    assert "gsm8k" in table and "50.00%" in table


def test_math500_benchmark_ids_and_references(shared_data):
    items = load_benchmark("math500")
    assert len(items) == 500
    assert items[0].id == "test/precalculus/807.json"
    assert items[0].answer == "\\left( 3, \\frac{\\pi}{2} \\right)"
    full = {i.id: i for i in load_benchmark("math", shared_data / "problems" / "math" / "test.jsonl")}
    assert len(full) == 5000
    # the full set has no answer field: its reference is the solution's last \boxed{}
    assert is_equivalent(full[items[0].id].answer, items[0].answer, "math")


@pytest.mark.parametrize("task", ["gsm8k", "math500", "math"])
def test_default_benchmarks_give_the_items_of_the_shared_data_files(task, shared_data):
    source = default_benchmark_source(task)
    assert source.path.name.endswith(".jsonl.gz")  # the copies shipped with sciloom.filters
    shipped = load_benchmark(task)
    reference = load_benchmark(task, shared_data / "problems" / task / "test.jsonl")
    assert [(i.id, i.question, i.answer, i.meta) for i in shipped] == [
        (i.id, i.question, i.answer, i.meta) for i in reference
    ]
