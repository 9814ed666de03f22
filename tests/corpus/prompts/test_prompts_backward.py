"""FOBAR and self-verification records from GSM8K train: the target is the masked number."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from sciloom.corpus.prompts.config import PromptsConfig
from sciloom.corpus.prompts.problems import GSM8K, load_problems
from sciloom.corpus.prompts.stage import run_prompts_stage
from sciloom.corpus.shards import read_documents, shard_files
from sciloom.corpus.stage import StageRun

N = 300
FOBAR_TAIL = re.compile(
    r"\nIf we know the answer to the above question is (.+?), what is the value of unknown variable x\?\n"
)


@pytest.fixture(scope="module")
def problems_file(shared_data: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gsm8k") / "train_head.jsonl"
    with open(shared_data / "problems/gsm8k/train.jsonl", encoding="utf-8") as src:
        out.write_text("".join(itertools.islice(src, N)), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def originals(problems_file: Path) -> dict[str, object]:
    return {p.id.rsplit(":", 1)[1]: p for p in load_problems(str(problems_file), GSM8K)}


def build(kind: str, problems_file: Path, out: Path, variants: int = 1):
    config = PromptsConfig(variants=variants)
    manifest = run_prompts_stage(kind, [str(problems_file)], config, StageRun(kind, out, seed=4))
    return manifest, list(read_documents(shard_files(out)))


def test_fobar_answer_is_the_masked_number_of_the_original_question(problems_file, originals, tmp_path):
    manifest, docs = build("fobar", problems_file, tmp_path / "fobar")
    assert len(docs) >= 0.9 * N
    assert set(manifest.totals.dropped_reasons) <= {"no_maskable_number"}
    for doc in docs:
        original = originals[str(doc.id).split(":")[1]]
        question, answer = doc.text.split("\n\nAnswer: ", 1)
        masked = question.removeprefix("Question: ")
        m = FOBAR_TAIL.search(masked + "\n")
        assert m and m.group(1) == original.answer
        value = doc.metadata["masked_number"]
        assert answer.endswith(f"The value of x is {value}.")
        # putting the number back where x stands gives the original question, word for word
        restored = re.sub(r"\bx\b", value, masked[: m.start()], count=1)
        assert restored.replace(",", "") == original.question.replace(",", "")


def test_fobar_variants_mask_different_numbers_and_are_announced_as_added(problems_file, tmp_path):
    manifest, docs = build("fobar", problems_file, tmp_path / "fobar3", variants=3)
    t = manifest.totals
    assert t.added_reasons.get("variant", 0) > 0
    assert t.docs["in"] + t.docs["added"] == t.docs["kept"] + t.docs["dropped"] + t.docs["quarantined"]
    by_problem: dict[str, list[str]] = {}
    for doc in docs:
        by_problem.setdefault(str(doc.id).split(":")[1], []).append(doc.metadata["masked_number"])
    assert max(len(v) for v in by_problem.values()) == 3
    assert all(len(set(v)) == len(v) for v in by_problem.values())


def test_self_verification_states_the_answer_and_asks_for_x(problems_file, originals, tmp_path):
    _, docs = build("sv", problems_file, tmp_path / "sv")
    assert len(docs) >= 0.9 * N
    for doc in docs[:50]:
        original = originals[str(doc.id).split(":")[1]]
        question = doc.text.split("\n\nAnswer: ", 1)[0]
        assert question.endswith("What is the value of unknown variable x?")
        assert f" is {original.answer}." in question
        assert doc.text.endswith(f"The value of x is {doc.metadata['masked_number']}.")


def test_cot_record_is_question_rationale_and_final_answer(problems_file, originals, tmp_path):
    manifest, docs = build("cot", problems_file, tmp_path / "cot")
    assert manifest.totals.docs["kept"] == N
    for doc in docs:
        original = originals[str(doc.id).split(":")[1]]
        assert doc.text.startswith(f"Question: {original.question}\n\nAnswer: ")
        assert doc.text.endswith(f"\nThe answer is {original.answer}.")
        assert "<<" not in doc.text and "####" not in doc.text


def test_math_layout_masks_inside_formulas_as_X(repo_root, tmp_path):
    manifest, docs = build("fobar", repo_root / "corpus/sample/problems/math_style.jsonl", tmp_path / "mf")
    assert manifest.totals.docs["kept"] == 6
    for doc in docs:
        assert "### If we know the answer to the above question is" in doc.text
        assert "$X$" in doc.text.split("###")[0] or re.search(r"\$[^$]*X[^$]*\$", doc.text.split("###")[0])
        assert doc.text.endswith(f"The value of X is {doc.metadata['masked_number']}.")


def test_same_seed_gives_identical_fobar_shards(problems_file, tmp_path):
    shas = []
    for name in ("a", "b"):
        config = PromptsConfig(variants=2)
        manifest = run_prompts_stage(
            "fobar", [str(problems_file)], config, StageRun("f", tmp_path / name, seed=4)
        )
        shas.append([s.sha256 for s in manifest.shards])
    assert shas[0] == shas[1]
