"""The training sample: long lines split losslessly at spaces, never inside a UTF-8 character."""

from __future__ import annotations

from sciloom.tokenizer.sample import SampleStats, estimate_text_bytes, sample_lines, split_line


def test_long_lines_split_at_spaces_within_the_byte_budget_and_rejoin_exactly(real_docs):
    line = " ".join(d["text"].replace("\n", " ") for d in real_docs if d["source"] == "web")
    pieces = split_line(line, 300)
    assert "".join(pieces) == line
    assert all(len(p.encode("utf-8")) <= 300 for p in pieces)
    assert sum(p.startswith(" ") for p in pieces[1:]) >= 0.9 * (len(pieces) - 1)


def test_a_line_without_spaces_is_cut_between_characters():
    line = "😀αβ∑" * 200  # 4, 2, 2 and 3 bytes per character
    pieces = split_line(line, 301)
    assert "".join(pieces) == line
    assert all(len(p.encode("utf-8")) <= 301 for p in pieces)


def test_sample_is_seeded_and_stops_near_the_byte_budget(shard_paths):
    def run(seed: int) -> tuple[list[str], SampleStats]:
        stats = SampleStats()
        return list(sample_lines(shard_paths, 1_000_000, seed, 16384, stats)), stats

    a, stats_a = run(1)
    b, _ = run(1)
    c, _ = run(2)
    assert a == b and a != c
    assert 1_000_000 <= stats_a.bytes < 1_000_000 + 400_000  # stops after the document that crosses it
    assert 0 < stats_a.rate < 0.2


def test_text_size_estimate_of_jsonl_is_its_size(shard_paths):
    import os

    assert estimate_text_bytes(shard_paths[0]) == os.path.getsize(shard_paths[0])


def test_a_truncated_input_is_skipped_from_the_break_and_recorded(tmp_path):
    import gzip
    import json

    from sciloom.tokenizer.sample import SampleStats, sample_lines

    rows = "\n".join(json.dumps({"id": i, "text": f"line {i} with some words"}) for i in range(400))
    data = gzip.compress(rows.encode())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"id": "g", "text": "a good document"}) + "\n")
    stats = SampleStats()
    lines = list(sample_lines([str(cut), str(good)], 10**9, 0, 16384, stats))
    assert "a good document" in lines and 0 < stats.documents < 401
    (skipped,) = stats.skipped_inputs
    assert skipped["input"] == str(cut) and skipped["reason"] == "truncated_gzip"
    assert skipped["member"] == f"line {stats.documents} onwards"  # every line before the break was read
