"""A bad line costs that line alone, in every stage: real GSM8K rows around a broken JSON line, a
latin-1 byte in UTF-8 JSONL and a truncated .jsonl.gz go through filter, dedup, decontam,
prompts, tokenize and mix. Each stage, run on the bad inputs, keeps exactly what it keeps from
the same inputs without the bad lines, quarantines the bad lines with their line numbers, and
balances `in = kept + dropped + quarantined`."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import pytest

from sciloom.corpus.cli.main import main
from sciloom.corpus.shards import read_documents, shard_files
from sciloom.manifests.schema import read_manifest_dict

BROKEN_AT = 40  # line numbers (1-based) of the bad lines in good.jsonl
LATIN1_AT = 95
ROWS = 160


def gsm8k_rows(shared_data: Path, start: int, count: int) -> list[dict]:
    rows = []
    with open(shared_data / "problems" / "gsm8k" / "train.jsonl", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i < start:
                continue
            if len(rows) == count:
                break
            row = json.loads(line)
            rows.append({"id": f"gsm8k-train-{i}", "question": row["question"], "answer": row["answer"]})
    for row in rows:  # a document view of each problem, for the document stages
        row["text"] = f"{row['question']}\n{row['answer']}"
    return rows


def line(row: dict) -> bytes:
    return json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, shared_data):
    """bad/ (the broken inputs) and clean/ (the same rows without what cannot be read)."""
    root = tmp_path_factory.mktemp("recovery")
    bad, clean = root / "bad", root / "clean"
    bad.mkdir()
    clean.mkdir()
    rows = gsm8k_rows(shared_data, 0, ROWS)
    lines = [line(r) for r in rows]
    lines[BROKEN_AT - 1] = lines[BROKEN_AT - 1][:60] + b"\n"  # cut inside a string: not JSON
    # The same row with one character written in latin-1 (0xE9 for e-acute): not UTF-8.
    latin = dict(rows[LATIN1_AT - 1], text=rows[LATIN1_AT - 1]["text"] + " caf\u00e9")
    lines[LATIN1_AT - 1] = line(latin).replace("\u00e9".encode(), b"\xe9")
    (bad / "good.jsonl").write_bytes(b"".join(lines))
    kept_rows = [r for n, r in enumerate(rows, 1) if n not in (BROKEN_AT, LATIN1_AT)]
    (clean / "good.jsonl").write_bytes(b"".join(line(r) for r in kept_rows))

    more = gsm8k_rows(shared_data, 5000, ROWS)
    packed = gzip.compress(b"".join(line(r) for r in more))
    cut = packed[: len(packed) * 2 // 3]
    (bad / "cut.jsonl.gz").write_bytes(cut)
    readable = zlib.decompressobj(31).decompress(cut).count(b"\n")  # complete lines before the break
    assert 0 < readable < ROWS
    (clean / "cut.jsonl.gz").write_bytes(gzip.compress(b"".join(line(r) for r in more[:readable])))
    expected = {
        ("good.jsonl", f"line {BROKEN_AT}", "bad_json_line"),
        ("good.jsonl", f"line {LATIN1_AT}", "invalid_utf8"),
        ("cut.jsonl.gz", f"line {readable + 1} onwards", "truncated_gzip"),
    }
    return {"bad": bad, "clean": clean, "expected": expected, "good_rows": len(kept_rows) + readable}


@pytest.fixture(scope="module")
def tokenizer_model(tmp_path_factory, inputs) -> Path:
    out = tmp_path_factory.mktemp("spm") / "tok"
    args = ["tokenizer", "train", str(inputs["clean"]), "--out", str(out), "--vocab-size", "600"]
    assert main([*args, "--threads", "2"]) == 0
    return out / "tokenizer.model"


def run_both(
    tmp_path: Path, inputs: dict, command: list[str], options: tuple[str, ...] = (), named: bool = False
) -> tuple[dict, dict]:
    manifests = {}
    for which in ("bad", "clean"):
        source = f"general={inputs[which]}" if named else str(inputs[which])
        out = tmp_path / which
        assert main([*command, source, *options, "--out", str(out)]) == 0
        manifests[which] = {"dir": out, **read_manifest_dict(out)}
    return manifests["bad"], manifests["clean"]


def kept(stage: dict, by: str) -> list[str]:
    return sorted(str(getattr(d, by)) for d in read_documents(shard_files(stage["dir"])))


def totals(stage: dict) -> dict:
    docs = {"in": 0, "added": 0, "kept": 0, "dropped": 0, "quarantined": 0}
    for counts in stage["sources"].values():
        for key in docs:
            docs[key] += counts["docs"].get(key, 0)
    return docs


def check(bad: dict, clean: dict, inputs: dict, by: str = "id") -> None:
    quarantined = {(Path(q["input"]).name, q["member"], q["reason"]) for q in bad["quarantine"]}
    assert quarantined == inputs["expected"]
    t, c = totals(bad), totals(clean)
    assert t["in"] + t["added"] == t["kept"] + t["dropped"] + t["quarantined"]
    assert t["quarantined"] == 3 and c["quarantined"] == 0
    assert t["kept"] == c["kept"] and t["dropped"] == c["dropped"]
    assert kept(bad, by) == kept(clean, by)


@pytest.mark.parametrize(
    "command",
    [["filter"], ["dedup"], ["decontam"]],
    ids=["filter", "dedup", "decontam"],
)
def test_every_good_line_survives_its_bad_neighbours(tmp_path, inputs, command):
    bad, clean = run_both(tmp_path, inputs, command)
    check(bad, clean, inputs)
    assert totals(clean)["in"] == inputs["good_rows"]


def test_prompts_read_every_good_problem_around_the_bad_lines(tmp_path, inputs):
    bad, clean = run_both(tmp_path, inputs, ["prompts", "cot"])
    check(bad, clean, inputs, by="text")  # prompt ids name the input line, which moved in clean/


def test_tokenize_encodes_every_good_line(tmp_path, inputs, tokenizer_model):
    bad, clean = run_both(tmp_path, inputs, ["tokenize"], ("--tokenizer", str(tokenizer_model)))
    check(bad, clean, inputs)
    got, want = bad["extra"]["tokenize"]["datasets"], clean["extra"]["tokenize"]["datasets"]
    # the same token stream, byte for byte: nothing of a good line was lost or changed
    assert {k: v["bin_sha256"] for k, v in got.items()} == {k: v["bin_sha256"] for k, v in want.items()}
    assert bad["extra"]["tokenize"]["documents"] == inputs["good_rows"]


def test_mix_mixes_every_good_line(tmp_path, inputs):
    bad, clean = run_both(tmp_path, inputs, ["mix"], ("--weight", "general=1"), named=True)
    check(bad, clean, inputs)


def test_tokenizer_training_sample_skips_only_the_bad_lines(inputs):
    from sciloom.tokenizer.sample import SampleStats, sample_lines

    files = [str(inputs["bad"] / "cut.jsonl.gz"), str(inputs["bad"] / "good.jsonl")]
    stats = SampleStats()
    list(sample_lines(files, 10**9, 0, 16384, stats))
    assert stats.documents == inputs["good_rows"]
    skipped = {(Path(s["input"]).name, s["member"], s["reason"]) for s in stats.skipped_inputs}
    assert skipped == inputs["expected"]


def test_dedup_reads_a_third_party_parquet_row_by_row_in_both_passes(tmp_path, shared_data):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sciloom.corpus.jsonl_reader import ReadLimits

    rows = gsm8k_rows(shared_data, 0, 20)
    texts = [r["text"] for r in rows]
    texts[7] = "x" * (ReadLimits().max_document_bytes + 1)  # over the cap: quarantined in both passes
    path = tmp_path / "theirs.parquet"  # no id column, a column of their own
    pq.write_table(pa.table({"text": texts, "lang": ["en"] * len(texts)}), path)
    out = tmp_path / "out"
    assert main(["dedup", str(path), "--out", str(out)]) == 0
    manifest = read_manifest_dict(out)
    assert [(q["member"], q["reason"]) for q in manifest["quarantine"]] == [("row 8", "document_too_large")]
    t = totals({"dir": out, **manifest})
    assert t["in"] == 20 and t["kept"] + t["dropped"] == 19
    assert "theirs.parquet:8" not in kept({"dir": out}, "id")
