"""RFT selection, public-set converters, and problem layouts, on real GSM8K / MATH / MetaMath rows."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from sciloom.corpus.errors import RecipeError
from sciloom.corpus.prompts.config import PromptsConfig
from sciloom.corpus.prompts.problems import GSM8K, MATH, load_problems
from sciloom.corpus.prompts.rft import equation_list
from sciloom.corpus.prompts.stage import run_prompts_stage
from sciloom.corpus.shards import read_documents, shard_files
from sciloom.corpus.stage import StageRun


def head(path: Path, n: int) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in itertools.islice(fh, n)]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def stage(kind: str, path: Path, out: Path, **config):
    manifest = run_prompts_stage(kind, [str(path)], PromptsConfig(**config), StageRun(kind, out))
    return manifest, list(read_documents(shard_files(out)))


# -- RFT ---------------------------------------------------------------------------------------


def sampled_completions(shared_data: Path) -> list[dict]:
    """Per GSM8K problem: the reference path, a rewording with the same equations, a wrong path,
    and a second correct path with other equations (the same total computed in another order)."""
    rows = []
    for row in head(shared_data / "problems/gsm8k/train.jsonl", 20):
        answer = row["answer"].rsplit("####", 1)[1].strip().replace(",", "")
        body = row["answer"].rsplit("####", 1)[0].strip()
        reworded = "Let me think. " + body.replace(". ", ", so ")
        wrong = body + f"\nThe answer is {int(float(answer)) + 1}."
        alternative = f"Directly: <<{answer}*1={answer}>>{answer}.\nThe answer is {answer}."
        completions = [
            body + f"\nThe answer is {answer}.",
            reworded + f"\nThe answer is {answer}.",
            wrong,
            alternative,
        ]
        rows.append({"question": row["question"], "answer": answer, "completion": completions})
    return rows


def test_rft_keeps_correct_completions_with_distinct_equation_lists(shared_data, tmp_path):
    path = write_jsonl(tmp_path / "samples.jsonl", sampled_completions(shared_data))
    manifest, docs = stage("rft", path, tmp_path / "rft")
    t = manifest.totals
    assert t.docs["in"] == 20 and t.added_reasons == {"variant": 60}
    assert t.docs["kept"] == 40
    assert t.dropped_reasons == {"duplicate_equations": 20, "incorrect_answer": 20}
    assert all(doc.text.startswith("Question: ") and "<<" not in doc.text for doc in docs)


def test_rft_copies_do_not_inherit_the_first_completions_drop(shared_data, tmp_path):
    # The first sampled path is wrong (dropped), the second right: the kept copy must be clean.
    rows = []
    for row in sampled_completions(shared_data)[:5]:
        wrong, right = row["completion"][2], row["completion"][0]
        rows.append({**row, "completion": [wrong, right]})
    path = write_jsonl(tmp_path / "samples.jsonl", rows)
    manifest, docs = stage("rft", path, tmp_path / "rft")
    assert manifest.totals.dropped_reasons == {"incorrect_answer": 5}
    assert len(docs) == 5
    for doc in docs:
        assert "drop_reason" not in doc.metadata and doc.metadata["prompt_kind"] == "rft"
        assert doc.text.startswith("Question: ")


def test_equation_list_reads_annotations_or_plain_equations():
    assert equation_list("48/2 = <<48/2=24>>24 and <<48+24=72>>72") == ("48/2=24", "48+24=72")
    assert equation_list("She pays 3 x 4 = 12 dollars, then 12 + 5 = 17.") == ("3*4=12", "12+5=17")


# -- ingest ------------------------------------------------------------------------------------


def test_ingest_converts_metamathqa_mathinstruct_and_prm800k_rows(shared_data, tmp_path):
    gsm = head(shared_data / "problems/gsm8k/train.jsonl", 3)
    math500 = head(shared_data / "problems/math500/test.jsonl", 2)
    rows = [
        # MetaMathQA schema (query/response/type), built from real GSM8K rows
        {
            "query": r["question"],
            "response": r["answer"].replace("####", "The answer is:"),
            "type": "GSM_AnsAug",
        }
        for r in gsm
    ]
    rows += [
        {
            "instruction": gsm[0]["question"],
            "output": "may = 48 // 2\nprint(48 + may)",
            "source": "data/PoT/gsm_gpt4.json",
        },
        {"instruction": gsm[1]["question"], "output": "while True: pass", "source": "data/PoT/gsm_gpt4.json"},
        {"instruction": gsm[2]["question"], "output": gsm[2]["answer"], "source": "data/CoT/gsm_rft.json"},
    ]
    for i, r in enumerate(math500):  # PRM800K layout: rated completions per step
        steps = [s for s in r["solution"].split(". ") if s]
        ratings = [1] * len(steps) if i == 0 else [1] * (len(steps) - 1) + [-1]
        rows.append(
            {
                "question": {"problem": r["problem"], "ground_truth_answer": r["answer"]},
                "label": {
                    "steps": [
                        {"completions": [{"text": s, "rating": rt}], "chosen_completion": 0}
                        for s, rt in zip(steps, ratings)
                    ],
                    "finish_reason": "solution" if i == 0 else "found_error",
                },
            }
        )
    rows.append({"foo": "bar"})
    rows.append(
        {
            "question": {"problem": "1+1?"},
            "label": {"steps": [{"completions": [{"text": "2", "rating": 1}], "chosen_completion": 3}]},
        }
    )
    path = write_jsonl(tmp_path / "mixed.jsonl", rows)
    manifest, docs = stage("ingest", path, tmp_path / "ingest", timeout_s=2.0)
    t = manifest.totals
    assert t.docs["kept"] == 6
    assert t.dropped_reasons == {"program_timeout": 1, "unfinished_solution": 1, "unknown_format": 1}
    assert t.quarantined_reasons == {"malformed_row": 1}
    by_format = {}
    for doc in docs:
        by_format.setdefault(doc.metadata["ingest_format"], []).append(doc)
    assert len(by_format["metamathqa"]) == 3
    (pot,) = [d for d in by_format["mathinstruct"] if d.metadata["style"] == "pot"]
    assert pot.text.endswith("Output: 72")
    (prm,) = by_format["prm800k"]
    assert prm.text.startswith(f"Question: {math500[0]['problem']}") and set(
        prm.metadata["step_ratings"]
    ) == {1}


# -- problem layouts ---------------------------------------------------------------------------


def test_layouts_find_final_answers_in_real_sets(shared_data):
    gsm = load_problems(str(shared_data / "problems/gsm8k/train.jsonl"), GSM8K)
    assert len(gsm) == 7473
    assert all(p.answer.lstrip("-").replace(".", "").isdigit() for p in gsm)  # `1,080` -> `1080`
    math = load_problems(str(shared_data / "problems/math/test.jsonl"), MATH)
    assert len(math) == 5000 and math[0].id == "test/algebra/1.json" and math[0].answer == "2"
    math500 = {
        json.loads(line)["unique_id"]: json.loads(line)["answer"]
        for line in open(shared_data / "problems/math500/test.jsonl")
    }
    by_id = {p.id: p.answer for p in math}
    same = sum(by_id[k].replace(" ", "") == v.replace(" ", "") for k, v in math500.items())
    assert same >= 0.95 * len(math500)  # last \boxed{} of the solution = MATH-500's answer field


def test_field_mapping_reads_metamath_schema(shared_data, tmp_path):
    path = shared_data / "problems/metamath/GSM8K_test.jsonl"
    manifest, docs = stage(
        "cot", path, tmp_path / "mm", layout="gsm8k", question_field="query", solution_field="response"
    )
    assert manifest.totals.docs["kept"] == 1319
    assert docs[0].text.startswith("Question: Janet’s ducks")


def test_bad_lines_are_quarantined_and_the_stage_goes_on(repo_root, tmp_path):
    good = (repo_root / "corpus/sample/problems/gsm8k_style.jsonl").read_text()
    path = tmp_path / "broken.jsonl"
    path.write_text(good + "{not json\n" + json.dumps({"question": "no solution here"}) + "\n")
    manifest, docs = stage("work", path, tmp_path / "out")
    t = manifest.totals
    assert t.docs["kept"] == 14 == len(docs)
    assert t.quarantined_reasons == {"bad_json_line": 1, "no_final_answer": 1}


def test_config_errors_name_the_field():
    with pytest.raises(RecipeError, match="prompts.layout"):
        PromptsConfig(layout="gsm9k")
    with pytest.raises(RecipeError, match="prompts.variants"):
        PromptsConfig(variants=0)


def test_cli_prompts_rft_and_work_write_stage_folders(shared_data, repo_root, tmp_path):
    from sciloom.corpus.cli.main import main
    from sciloom.manifests.schema import load_manifest

    rows = [
        {"q": r["question"], "sample": r["completion"], "ref": r["answer"]}
        for r in sampled_completions(shared_data)
    ]
    path = write_jsonl(tmp_path / "s.jsonl", rows)
    out = tmp_path / "rft"
    argv = ["prompts", "rft", str(path), "--question-field", "q", "--completion-field", "sample"]
    assert main([*argv, "--answer-field", "ref", "--out", str(out)]) == 0
    assert load_manifest(out).totals.docs["kept"] == 40
    work = tmp_path / "work"
    assert main(["prompts", "work", str(repo_root / "corpus/sample/problems"), "--out", str(work)]) == 0
    t = load_manifest(work).totals  # the MATH-style file has no calculations to run
    assert t.docs["kept"] == 14 and t.dropped_reasons == {"no_calculations": 6}
