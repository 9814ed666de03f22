"""Synthetic math corpora of any size for the scale benchmark and the kill -9 resume test.

A document (~2 KB) is a title, real GSM8K train sentences (../shared/data/problems, MIT) and
templated exercises with LaTeX and random numbers ("Let $f(x) = 3x^2 + 5x - 7$. Compute $f(4)$."),
so the filters, the tokenizer and MinHash see math text. Planted, at fixed rates:
- near duplicates (8%): a copy with 2% of its words replaced;
- exact duplicates (3%);
- contamination (0.2%): a GSM8K test question inside the document, for decontamination to find.
Everything is drawn from one seeded generator: the same (n, seed) gives the same bytes.
Written as JSONL shards (`id`, `text`), the format a recipe's `kind = "jsonl"` source reads.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# ../shared/data beside the repository, or $SCILOOM_SHARED_DATA (as in tests/conftest.py)
PROBLEMS = Path(os.environ.get("SCILOOM_SHARED_DATA", REPO.parent / "shared" / "data")) / "problems"

NEAR_DUPLICATES = 0.08
EXACT_DUPLICATES = 0.03
CONTAMINATED = 0.002
DOC_BYTES = 2000

TITLES = ("Worked examples", "Practice set", "Homework notes", "Review problems", "Exercises")
TEMPLATES = (
    "Let $f(x) = {a}x^2 + {b}x - {c}$. Compute $f({d})$ and $f(-{e})$.",
    "Solve for $x$: ${a}x + {b} = {c}x - {d}$.",
    "Find the sum of the first ${n}$ terms of the arithmetic sequence with first term ${a}$ "
    "and common difference ${d}$.",
    r"Simplify $\frac{{{a}x^{{{n}}}}}{{{b}x^{{{d}}}}}$ for $x \neq 0$.",
    "A rectangle has a perimeter of ${p}$ cm and one side of ${a}$ cm. What is its area?",
    r"Evaluate $\sum_{{k=1}}^{{{n}}} ({a}k + {b})$.",
    "How many positive divisors does ${p}$ have?",
    r"If $\sqrt{{{a}x + {b}}} = {c}$, what is $x$?",
)


def _sentences() -> list[str]:
    out = []
    with open(PROBLEMS / "gsm8k" / "train.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            text = re.sub(r"<<[^<>]*>>", "", row["question"] + " " + row["answer"].replace("####", "Answer:"))
            out += [s for s in re.split(r"(?<=[.?!])\s+", text) if len(s) > 20]
    return out


def _test_questions() -> list[str]:
    with open(PROBLEMS / "gsm8k" / "test.jsonl", encoding="utf-8") as fh:
        return [json.loads(line)["question"] for line in fh]


def _exercise(rng: random.Random) -> str:
    values = {k: rng.randint(2, 99) for k in "abcde"}
    values["n"] = rng.randint(5, 40)
    values["p"] = rng.randint(20, 400)
    return rng.choice(TEMPLATES).format(**values)


def documents(n: int, seed: int = 0) -> Iterator[tuple[str, str]]:
    """`n` documents `(id, text)`, duplicates and contamination planted (see the module)."""
    rng = random.Random(seed)
    pool, tests = _sentences(), _test_questions()
    made = 0
    i = 0
    while made < n:
        parts = [f"{rng.choice(TITLES)} {i}."]
        length = len(parts[0])
        while length < DOC_BYTES:
            s = _exercise(rng) if rng.random() < 0.3 else rng.choice(pool)
            parts.append(s)
            length += len(s) + 1
        if rng.random() < CONTAMINATED:
            parts.insert(rng.randrange(1, len(parts)), rng.choice(tests))
        text = " ".join(parts)
        yield f"doc{i:08d}", text
        made += 1
        r = rng.random()
        if r < NEAR_DUPLICATES and made < n:
            words = text.split(" ")
            for _ in range(max(1, len(words) // 50)):
                words[rng.randrange(1, len(words))] = rng.choice(pool).split(" ")[0]
            yield f"doc{i:08d}n", " ".join(words)
            made += 1
        elif r < NEAR_DUPLICATES + EXACT_DUPLICATES and made < n:
            yield f"doc{i:08d}x", text
            made += 1
        i += 1


def write_corpus(folder: Path, n: int, shards: int, seed: int = 0) -> list[Path]:
    """`n` documents as `shards` JSONL files in `folder` (round robin); returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"part-{k:05d}.jsonl" for k in range(shards)]
    handles = [open(p, "w", encoding="utf-8") for p in paths]
    try:
        for k, (doc_id, text) in enumerate(documents(n, seed)):
            handles[k % shards].write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
    finally:
        for h in handles:
            h.close()
    return paths


def write_prompt_rows(path: Path, n: int, contaminated: int = 2, seed: int = 0) -> Path:
    """MetaMathQA-style rows (`query`, `response`, `type`) from GSM8K train, the first
    `contaminated` of them asking a GSM8K test question instead (the decontam stage must drop them)."""
    rng = random.Random(seed)
    with open(PROBLEMS / "gsm8k" / "train.jsonl", encoding="utf-8") as fh:
        train = [json.loads(line) for line in fh]
    tests = _test_questions()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for k in range(n):
            row = rng.choice(train)
            answer = row["answer"].split("####")[-1].strip()
            query = tests[k] if k < contaminated else row["question"]
            response = re.sub(r"<<[^<>]*>>", "", row["answer"].split("####")[0]).strip()
            rec = {
                "query": query,
                "response": f"{response}\nThe answer is: {answer}",
                "type": "GSM_Rephrased",
            }
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def write_recipe(
    path: Path,
    corpus: Path,
    prompts: Path | None,
    workers: int = 1,
    vocab_size: int = 2000,
    seed: int = 1234,
    filters: bool = True,
) -> Path:
    """A build recipe over the corpus folder (and a prompt ingest source): every stage runs
    (but the language/quality filter without `filters`)."""
    prompt_source = (
        f'\n[[sources]]\nname = "metamath"\nkind = "prompts"\nprompt_kind = "ingest"\npaths = ["{prompts}"]\n'
        if prompts
        else ""
    )
    prompt_mix = 'prompt_sources = ["metamath"]\nprompt_fraction = 0.1\n' if prompts else ""
    path.write_text(
        f"""[build]
name = "scale"
seed = {seed}
workers = {workers}

[[sources]]
name = "web"
kind = "jsonl"
paths = ["{corpus}"]
{prompt_source}
[filters]
enabled = {"true" if filters else "false"}
[dedup]
[decontam]

[tokenizer]
vocab_size = {vocab_size}
model_type = "bpe"

[mix]
weights = {{ web = 1.0 }}
{prompt_mix}"""
    )
    return path
