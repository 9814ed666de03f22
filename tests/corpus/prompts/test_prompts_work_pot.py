"""<work> traces and PoT records from GSM8K train: every program ran, and matched the answer."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from sciloom.corpus.prompts.config import PromptsConfig
from sciloom.corpus.prompts.problems import GSM8K, load_problems
from sciloom.corpus.prompts.stage import run_prompts_stage
from sciloom.corpus.sandbox import run_python
from sciloom.corpus.shards import read_documents, shard_files
from sciloom.corpus.stage import StageRun

N_PROBLEMS = 200
KNOWN_DROP_REASONS = {"answer_mismatch", "no_calculations", "unsafe_expression"}
PROGRAM = re.compile(r"```python\n(.*?)```", re.S)


@pytest.fixture(scope="module")
def gsm8k_sample(shared_data: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gsm8k") / "train_head.jsonl"
    with open(shared_data / "problems/gsm8k/train.jsonl", encoding="utf-8") as src:
        out.write_text("".join(itertools.islice(src, N_PROBLEMS)), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def references(gsm8k_sample: Path) -> dict[str, str]:
    problems = load_problems(str(gsm8k_sample), GSM8K)
    return {p.id.rsplit(":", 1)[1]: p.answer for p in problems}


def build(kind: str, inputs: Path, out: Path):
    manifest = run_prompts_stage(kind, [str(inputs)], PromptsConfig(parallel=4), StageRun(kind, out))
    return manifest, list(read_documents(shard_files(out)))


@pytest.fixture(scope="module")
def work(gsm8k_sample, tmp_path_factory):
    return build("work", gsm8k_sample, tmp_path_factory.mktemp("work"))


@pytest.fixture(scope="module")
def pot(gsm8k_sample, tmp_path_factory):
    return build("pot", gsm8k_sample, tmp_path_factory.mktemp("pot"))


def line_of(doc) -> str:
    return str(doc.id).rsplit(":", 1)[1]


def test_work_traces_are_kept_for_most_problems_and_drops_have_reasons(work):
    manifest, docs = work
    t = manifest.totals
    assert t.docs["in"] == N_PROBLEMS
    assert t.docs["kept"] == len(docs) >= 0.9 * N_PROBLEMS
    assert t.docs["dropped"] == N_PROBLEMS - len(docs) > 0
    assert sum(t.dropped_reasons.values()) == t.docs["dropped"]
    assert set(t.dropped_reasons) <= KNOWN_DROP_REASONS


def test_work_trace_follows_galactica_layout(work):
    _, docs = work
    text = docs[0].text
    assert text.startswith("Question: Natalia sold clips")
    head, work_part = text.split("<work>\n", 1)
    assert "calculate.py\n```python\n" in work_part
    assert '<<run: "calculate.py">>\n<<read: "output.txt">>\n72\n</work>\nA: 72' in work_part
    assert "<<48/2=24>>" not in text  # calculator annotations become plain steps


def test_work_trace_programs_rerun_to_the_shown_output_and_the_reference(work, references):
    _, docs = work
    for doc in docs[:: max(1, len(docs) // 15)]:
        program = PROGRAM.search(doc.text).group(1)
        shown = doc.text.split('<<read: "output.txt">>\n', 1)[1].split("\n</work>", 1)[0]
        result = run_python(program + '\nprint(open("output.txt").read())\n')
        assert result.ok, result.stderr
        assert result.stdout.strip() == shown.strip()
        assert float(shown) == pytest.approx(float(references[line_of(doc)]))


def test_pot_programs_rerun_to_the_shown_output_and_the_reference(pot, references):
    manifest, docs = pot
    assert manifest.totals.docs["kept"] >= 0.9 * N_PROBLEMS
    assert set(manifest.totals.dropped_reasons) <= KNOWN_DROP_REASONS
    for doc in docs[:: max(1, len(docs) // 15)]:
        assert "Let's write a program." in doc.text
        program = PROGRAM.search(doc.text).group(1)
        shown = doc.text.split("Output: ", 1)[1].split("\n", 1)[0]
        result = run_python(program)
        assert result.ok, result.stderr
        assert result.stdout.strip() == shown
        assert float(shown) == pytest.approx(float(references[line_of(doc)]))
        assert doc.text.endswith(f"The answer is {shown}.")


def test_dropped_work_problem_is_one_whose_annotations_miss_the_answer(gsm8k_sample, work):
    _, docs = work
    kept_lines = {line_of(d) for d in docs}
    problems = load_problems(str(gsm8k_sample), GSM8K)
    dropped = [p for p in problems if p.id.rsplit(":", 1)[1] not in kept_lines]
    assert dropped
    # e.g. "Caleb spent $40 − $4 = $36": no annotation and no parsable last step either way
    for p in dropped:
        assert "<<" not in p.solution or p.answer not in re.findall(r"=([\d.]+)>>", p.solution)[-1:]
