"""Each synth kind end to end through `sciloom synth` on real GSM8K train problems and a scripted model.

The scripted model (`synth_server.GsmOracle`) answers problem k, sample s right or wrong by the
rule `(k + s) % 4` (0: the reference solution, 1: the same equations in other words, 2: a wrong
final answer, 3: a wrong calculator result with the right final answer); the expected counts
below follow from that rule and the kind's method, and the manifest must give them by reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sciloom.corpus.cli.main import main
from sciloom.corpus.shards import read_documents, shard_files
from sciloom.manifests.schema import read_manifest_dict

N = 8  # problems in gsm8k_file


def synth(kind: str, server, inputs: list[Path], out: Path, *extra: str) -> dict:
    argv = ["synth", kind, *map(str, inputs), "--out", str(out), "--backend", "openai", "--model", "oracle"]
    argv += ["--base-url", server.url, "--concurrency", "4", *extra]
    assert main(argv) == 0
    return read_manifest_dict(out)


def totals(manifest: dict) -> dict:
    (counts,) = manifest["sources"].values()
    d = counts["docs"]
    assert d["in"] + d["added"] == d["kept"] + d["dropped"] + d["quarantined"]
    return counts


def docs(out: Path) -> list:
    return list(read_documents(shard_files(out)))


def options(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "options.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_rft_keeps_one_correct_distinct_path_per_problem_and_drops_by_reason(
    serve, oracle, gsm8k_file, tmp_path
):
    server = serve(oracle.respond)
    out = tmp_path / "rft"
    m = synth("rft", server, [gsm8k_file], out, "--samples", "4")
    c = totals(m)
    assert c["docs"]["in"] == N and c["docs"]["added"] == 3 * N and c["docs"]["kept"] == N
    assert c["dropped_reasons"] == {"answer_mismatch": N, "calculation_wrong": N, "duplicate_equations": N}
    records = docs(out)
    assert len(records) == N
    for doc in records:
        k = oracle.questions.index(doc.text.split("\n\n")[0].removeprefix("Question: "))
        assert doc.text.endswith(f"The answer is {oracle.answers[k]}.")
        assert "<<" not in doc.text  # annotations removed from the reading text
        assert "drop_reason" not in doc.metadata  # a sibling's drop does not leak into a kept record
        assert doc.id.endswith(f":rft{doc.metadata['sample_index']}")
        prov = doc.metadata["provenance"]["synth"]
        assert prov["backend"] == "openai" and prov["model"] == "oracle" and prov["base_url"] == server.url
        assert prov["parent_problem_id"] == doc.metadata["parent_problem_id"]
        assert prov["calls"]["solve"]["sampling"]["temperature"] == 0.7
        assert prov["prompt_template_sha256"] == m["extra"]["synth"]["prompt_template_sha256"]
    assert m["extra"]["synth"]["parameters"]["samples"] == 4
    assert m["extra"]["synth"]["sandbox"]["isolation"] == "bwrap"  # the calculation checks ran isolated
    assert len(server.requests) == 4 * N
    solve = m["extra"]["synth"]["templates"]["solve_gsm8k"]
    assert solve.endswith("Q: {question}\nA:") and solve.count("Q: ") == 5  # 4 exemplars, as sent
    sent = {b["prompt"] for _, b in server.requests}
    assert sent == {solve.replace("{question}", q) for q in oracle.questions}


def test_rephrase_keeps_rephrasings_whose_answer_matches(serve, oracle, gsm8k_file, tmp_path):
    server = serve(oracle.respond)
    m = synth("rephrase", server, [gsm8k_file], tmp_path / "r", "--samples", "2")
    c = totals(m)
    # k % 3 == 2 (k = 2, 5) comes back unchanged; the answer to k = 6 is wrong ((6 + 0) % 4 == 2)
    assert c["dropped_reasons"] == {"unchanged_question": 4, "answer_mismatch": 2}
    assert c["docs"]["kept"] == 10 and c["docs"]["added"] == N
    for doc in docs(tmp_path / "r"):
        assert doc.text.startswith("Question: Consider the following. ")
        assert doc.metadata["rephrased_from"] in doc.text


def test_fobar_keeps_backward_answers_equal_to_the_masked_number(serve, oracle, gsm8k_file, tmp_path):
    server = serve(oracle.respond)
    m = synth("fobar", server, [gsm8k_file], tmp_path / "f")
    c = totals(m)
    # the answer to a backward question of problem k is wrong when (k + 0) % 4 == 2: k = 2, 6;
    # problem 7 (Ken's care package) has no number used once in the question and in a calculation
    assert c["docs"]["in"] == N and c["docs"]["kept"] == N - 3
    assert c["dropped_reasons"] == {"answer_mismatch": 2, "no_maskable_number": 1}
    for doc in docs(tmp_path / "f"):
        assert "what is the value of unknown variable x?" in doc.text
        assert doc.text.endswith(f"The value of x is {doc.metadata['masked_number']}.")


def test_sv_rewrites_with_the_model_and_checks_the_answer(serve, oracle, gsm8k_file, tmp_path):
    server = serve(oracle.respond)
    m = synth("sv", server, [gsm8k_file], tmp_path / "sv")
    c = totals(m)
    # as for FOBAR: wrong answers for k = 2, 6; nothing to mask in problem 7
    assert c["dropped_reasons"] == {"answer_mismatch": 2, "no_maskable_number": 1}
    kept = docs(tmp_path / "sv")
    assert c["docs"]["kept"] == len(kept) == N - 3
    for doc in kept:
        question = doc.text.split("\n\nAnswer: ")[0]
        assert "The total is" in question and question.endswith("What is the value of unknown variable x?")
        assert set(doc.metadata["provenance"]["synth"]["calls"]) == {"rewrite", "answer"}


def test_sv_refuses_a_rewrite_that_still_asks_or_loses_the_unknown(serve, oracle, gsm8k_file, tmp_path):
    def rewrite_badly(path, body, attempt):
        from synth_server import completion

        if "declarative statement" in body["prompt"]:
            k = int(body["seed"] >> 16) % 2
            return 200, {}, completion(path, " How much did he pay?" if k else " He paid 110 dollars."), 0
        return oracle.respond(path, body, attempt)

    c = totals(synth("sv", serve(rewrite_badly), [gsm8k_file], tmp_path / "bad"))
    assert c["dropped_reasons"] == {"bad_statement": N - 1, "no_maskable_number": 1}


def test_augment_votes_answers_over_temperatures(serve, oracle, gsm8k_file, tmp_path):
    server = serve(oracle.respond)
    opts = options(tmp_path, 'augmentations = ["numbers", "condition"]\nsamples = 1\n')
    m = synth("augment", server, [gsm8k_file], tmp_path / "a", "--options", str(opts))
    c = totals(m)
    # changed numbers: a problem the model does not know, answers all differ; an added condition:
    # the same problem, the majority of 6 answers (3 temperatures x 2) is right
    assert c["dropped_reasons"] == {"no_majority": N}
    assert c["docs"]["kept"] == N and c["docs"]["added"] == N
    for doc in docs(tmp_path / "a"):
        assert doc.metadata["augmentation"] == "condition"
        assert doc.metadata["vote"]["agreeing"] >= 3 and doc.metadata["vote"]["total"] == 6
    assert m["extra"]["synth"]["parameters"]["vote_temperatures"] == [0.3, 0.7, 1.0]


def test_evol_drops_unanswerable_and_disagreeing_evolutions(serve, oracle, gsm8k_file, tmp_path):
    server = serve(oracle.respond)
    m = synth("evol", server, [gsm8k_file], tmp_path / "e")
    c = totals(m)
    # upward: kept; downward: "What is y?" (even k) is unanswerable, changed numbers (odd k) disagree
    assert c["dropped_reasons"] == {"unanswerable": N // 2, "no_majority": N // 2}
    assert c["docs"]["kept"] == N
    assert {d.metadata["evolution"][0] for d in docs(tmp_path / "e")} == {"up"}


def test_opro_scores_instructions_on_a_decontaminated_dev_split(
    serve, oracle, gsm8k_file, tmp_path, shared_data
):
    test_row = (shared_data / "problems" / "gsm8k" / "test.jsonl").read_text(encoding="utf-8").splitlines()[0]
    dev = tmp_path / "dev.jsonl"
    dev.write_text(gsm8k_file.read_text(encoding="utf-8") + test_row + "\n", encoding="utf-8")
    server = serve(oracle.respond)
    opts = options(tmp_path, "opro_steps = 2\nopro_proposals = 2\n")
    out = tmp_path / "o"
    m = synth("opro", server, [dev], out, "--options", str(opts))
    c = totals(m)
    traj = m["extra"]["opro"]["trajectory"]
    assert [t["step"] for t in traj] == [0, 1, 1, 2, 2]
    for t in traj:  # the scorer's rule: right when (k + len(instruction)) % 3 != 0
        right = sum((k + len(t["instruction"])) % 3 != 0 for k in range(N))
        assert t["score"] == round(100 * right / N, 2)
    best = m["extra"]["opro"]["best"]
    assert best["score"] == max(t["score"] for t in traj)
    assert (out / "opro" / "best_prompt.txt").read_text().strip() == best["instruction"]
    kept = sum((k + len(best["instruction"])) % 3 != 0 for k in range(N))
    assert c["docs"]["in"] == N + 1 and c["docs"]["kept"] == kept
    # the GSM8K test problem never reaches the scorer
    assert c["dropped_reasons"] == {"contaminated_gsm8k_test": 1, "answer_mismatch": N - kept}
    assert not any(json.loads(test_row)["question"] in str(b) for _, b in server.requests)


def test_a_rerun_with_the_same_cache_makes_no_request(serve, oracle, gsm8k_file, tmp_path):
    server = serve(oracle.respond)
    cache = tmp_path / "cache"
    first = synth("rft", server, [gsm8k_file], tmp_path / "one", "--samples", "2", "--cache-dir", str(cache))
    sent = len(server.requests)
    assert sent == 2 * N
    renamed = tmp_path / "renamed.jsonl"  # seeds follow the prompt, not the file name or line ids
    renamed.write_text(gsm8k_file.read_text())
    second = synth("rft", server, [renamed], tmp_path / "two", "--samples", "2", "--cache-dir", str(cache))
    assert len(server.requests) == sent
    assert second["extra"]["synth"]["usage"]["backend"] == {
        "requests_sent": 0,
        "cache_hits": 2 * N,
        "retries": 0,
        "tokens_generated": 0,
    }
    assert [d.text for d in docs(tmp_path / "one")] == [d.text for d in docs(tmp_path / "two")]
    assert first["sources"] == second["sources"]


def test_failed_generations_are_quarantined_and_past_the_share_fail_the_task(
    serve, oracle, gsm8k_file, tmp_path
):
    bad = oracle.questions[3]

    def partial(path, body, attempt):
        prompt = body.get("prompt", "")
        if prompt.rsplit("Q: ", 1)[-1].startswith(bad):
            return 503, {}, {"error": "overloaded"}, 0
        return oracle.respond(path, body, attempt)

    server = serve(partial)
    opts = options(tmp_path, "max_failed_share = 0.2\n[backend]\nmax_retries = 1\nbackoff_s = 0.01\n")
    m = synth("rft", server, [gsm8k_file], tmp_path / "p", "--samples", "1", "--options", str(opts))
    c = totals(m)
    assert c["quarantined_reasons"] == {"generation_failed": 1}
    assert c["docs"]["in"] == N and c["docs"]["quarantined"] == 1
    quarantine = "".join(p.read_text() for p in (tmp_path / "p" / "quarantine").glob("*.jsonl"))
    assert "http_503 after 2 attempts" in quarantine
    # with no failure allowed the task fails (exit 1) and a rerun retries only what failed
    strict = options(tmp_path, "max_failed_share = 0.0\n[backend]\nmax_retries = 0\n")
    argv = [
        "synth",
        "rft",
        str(gsm8k_file),
        "--out",
        str(tmp_path / "s"),
        "--backend",
        "openai",
        "--model",
        "oracle",
    ]
    argv += ["--base-url", server.url, "--samples", "1", "--options", str(strict)]
    before = len(server.requests)
    assert main(argv) == 1
    assert len(server.requests) - before == N
    server.respond = oracle.respond  # the outage is over
    before = len(server.requests)
    assert main(argv) == 0
    assert len(server.requests) - before == 1  # the seven others come from the cache
    assert totals(read_manifest_dict(tmp_path / "s"))["docs"]["quarantined"] == 0


def test_math_problems_are_checked_as_latex_answers(serve, shared_data, tmp_path):
    rows = [
        json.loads(x)
        for x in (shared_data / "problems" / "math500" / "test.jsonl").read_text().splitlines()[:4]
    ]

    def answer(path, body, attempt):
        from synth_server import completion

        prompt = body["prompt"]
        problem = prompt.rsplit("Problem:\n", 1)[1].split("\n\nSolution:")[0]
        row = next(r for r in rows if r["problem"] == problem)
        s = body["seed"] & 0xFFFF
        ans = row["answer"] if s == 0 else "\\frac{1}{1000}"
        return (
            200,
            {},
            completion(path, f"Reasoning.\nFinal Answer: The final answer is ${ans}$. I hope it is correct."),
            0,
        )

    server = serve(answer)
    src = tmp_path / "math.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    m = synth("rft", server, [src], tmp_path / "m", "--samples", "2")
    c = totals(m)
    assert c["docs"]["kept"] == 4 and c["dropped_reasons"] == {"answer_mismatch": 4}


def test_synth_output_mixes_like_a_prompt_source(serve, oracle, gsm8k_file, tmp_path):
    server = serve(oracle.respond)
    out = tmp_path / "rft"
    synth("rft", server, [gsm8k_file], out, "--samples", "4")
    mixed = tmp_path / "mix"
    assert main(["mix", f"gsm8k_rft={out}", "--out", str(mixed), "--weight", "gsm8k_rft=1"]) == 0
    m = read_manifest_dict(mixed)
    assert sum(c["docs"]["kept"] for c in m["sources"].values()) == N
    texts = {d.text for d in docs(mixed)}
    assert texts == {d.text for d in docs(out)}


@pytest.mark.parametrize("kind", ["rft", "opro"])
def test_bad_rows_are_quarantined_with_the_reason(serve, oracle, gsm8k_file, tmp_path, kind):
    src = tmp_path / "mixed.jsonl"
    src.write_text(gsm8k_file.read_text() + "not json\n" + json.dumps({"question": "no answer"}) + "\n")
    server = serve(oracle.respond)
    extra = (
        ("--options", str(options(tmp_path, "opro_steps = 0\n"))) if kind == "opro" else ("--samples", "1")
    )
    c = totals(synth(kind, server, [src], tmp_path / kind, *extra))
    assert c["quarantined_reasons"] == {"bad_json_line": 1, "no_final_answer": 1}


def test_a_wrong_key_stops_the_stage_with_one_line_and_exit_2(serve, gsm8k_file, tmp_path, capsys):
    server = serve(lambda path, body, attempt: (401, {}, {"error": {"message": "Incorrect API key"}}, 0))
    argv = ["synth", "rft", str(gsm8k_file), "--out", str(tmp_path / "k"), "--backend", "openai"]
    assert main([*argv, "--model", "m", "--base-url", server.url, "--concurrency", "4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("sciloom synth: error: ") and "HTTP 401 Incorrect API key" in err[-1]
    assert len(server.requests) <= 4  # not retried; only the requests already in flight (--concurrency 4)


def test_evol_rounds_evolve_the_kept_problems_again(serve, oracle, gsm8k_file, tmp_path):
    server = serve(oracle.respond)
    opts = options(tmp_path, 'evol_directions = ["up"]\nevol_rounds = 2\n')
    c = totals(synth("evol", server, [gsm8k_file], tmp_path / "e2", "--options", str(opts)))
    assert c["docs"]["kept"] == 2 * N and c["docs"]["added"] == N and c["dropped_reasons"] == {}
    second = [d for d in docs(tmp_path / "e2") if d.metadata["round"] == 1]
    assert len(second) == N
    for d in second:
        assert d.metadata["evolution"] == ["up", "up"] and d.id.endswith(":up0:up1")
        assert d.text.count("Give the answer as a whole number.") == 2


def test_opro_optimizer_can_be_another_model_on_another_server(serve, oracle, gsm8k_file, tmp_path):
    scorer, optimizer = serve(oracle.respond), serve(oracle.respond)
    opts = options(
        tmp_path,
        f'opro_steps = 1\nopro_proposals = 2\n[optimizer]\nname = "openai"\napi = "chat"\n'
        f'model = "big"\nbase_url = "{optimizer.url}"\n',
    )
    m = synth("opro", scorer, [gsm8k_file], tmp_path / "o2", "--options", str(opts))
    assert [p for p, _ in optimizer.requests] == ["/v1/chat/completions"] * 2
    assert all(
        b["model"] == "big" and "Write the text in square brackets." in b["messages"][0]["content"]
        for _, b in optimizer.requests
    )
    assert all("square brackets" not in b["prompt"] for _, b in scorer.requests)
    assert len(scorer.requests) == 3 * N  # the initial instruction and two proposals, on every dev problem
    params = m["extra"]["synth"]["parameters"]
    assert params["optimizer"]["model"] == "big" and params["scorer"]["model"] == "oracle"
    assert m["extra"]["synth"]["usage"]["optimizer"]["requests_sent"] == 2


def test_bad_options_are_usage_errors_naming_the_key(gsm8k_file, tmp_path, capsys):
    argv = ["synth", "rft", str(gsm8k_file), "--out", str(tmp_path / "x"), "--model", "m"]
    assert main([*argv, "--options", str(options(tmp_path, "sampels = 3\n"))]) == 2
    assert "unknown key synth.sampels" in capsys.readouterr().err
    assert main([*argv, "--temperature", "-1"]) == 2
    assert "synth.temperature: out of range" in capsys.readouterr().err
