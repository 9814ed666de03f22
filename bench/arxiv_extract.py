"""arXiv extraction speed and formula retention: sciloom vs the naive pylatexenc route.

Times are process CPU seconds (the box is shared, wall time is not). Inputs: every file of ../shared/data/arxiv-src/{good,bad,papers} (sentinels.json excepted), read on
one core (papers/s and MB/s are per core). Each method gets the same bytes from memory.

- sciloom: `iter_submissions` + `extract_submission` (archive safety, main file, includes,
  macros, comments, LaTeX -> text).
- naive baseline (what a user would otherwise write; FIELD-NOTES 4): open the archive with
  tarfile/zipfile/gzip, take the first member containing `\\documentclass`, run pylatexenc's
  `LatexNodes2Text(math_mode='verbatim')` on it, catching exceptions per paper.

Formulas kept: for each paper sciloom extracts, the reference count is the number of math spans
(`$..$`, `$$..$$`, `\\(..\\)`, `\\[..\\]`, math environments) in the comment-free sources of its main
file and every file it includes; each method's output is counted with the same counter, capped at
the reference, and summed. Sentinels: papers/ inputs passing every check of sentinels.json.

Run: `.venv/bin/python bench/arxiv_extract.py [--repeat 3]`
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import re
import tarfile
import time
import zipfile
from pathlib import Path

from sciloom.corpus.arxiv.archive import read_submission
from sciloom.corpus.arxiv.comments import strip_comments
from sciloom.corpus.arxiv.config import ArxivConfig
from sciloom.corpus.arxiv.extractor import extract_submission
from sciloom.corpus.arxiv.includes import SourceTree
from sciloom.corpus.errors import InputError

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv-src"
MATH = re.compile(
    r"\$\$.+?\$\$|(?<!\\)\$.+?(?<!\\)\$|\\\(.+?\\\)|\\\[.+?\\\]"
    r"|\\begin\{(equation|align|gather|multline|eqnarray|flalign|alignat|displaymath)(\*?)\}.+?\\end\{\1\2\}",
    re.DOTALL,
)


def count_formulas(text: str) -> int:
    return sum(1 for _ in MATH.finditer(text))


def sciloom_run(name: str, data: bytes, config: ArxivConfig):
    try:
        sub = read_submission(data, name, None, name, config)
        return sub, extract_submission(sub, config)
    except InputError:
        return None, None


def naive_run(data: bytes) -> str | None:
    from pylatexenc.latex2text import LatexNodes2Text

    texts: list[bytes] = []
    try:
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                texts = [zf.read(n) for n in zf.namelist() if n.endswith(".tex")]
        else:
            try:
                with tarfile.open(fileobj=io.BytesIO(data)) as tf:
                    for m in tf:
                        if m.isfile() and m.name.endswith(".tex"):
                            texts.append(tf.extractfile(m).read())
            except tarfile.TarError:
                texts = [data]
        main = next((t for t in texts if b"\\documentclass" in t), None)
        if main is None:
            return None
        return LatexNodes2Text(math_mode="verbatim").latex_to_text(main.decode("utf-8", errors="replace"))
    except Exception:  # the baseline's own per-paper catch-all (pylatexenc raises IndexError on \href)
        return None


def sentinel_ok(text: str, spec: dict) -> bool:
    squash = " ".join(text.split())
    present = all(" ".join(s.split()) in squash for s in spec["included_sentinels"] + spec["main_sentinels"])
    absent = all(" ".join(s.split()) not in squash for s in spec["absent_sentinels"])
    macros = all(not re.search(rf"\\{re.escape(m)}(?![A-Za-z@])", text) for m in spec["included_macro_names"])
    raw = not any(r in text for r in ("\\cite", "\\input", "\\documentclass", "\\usepackage"))
    return present and absent and macros and raw


def reference_formulas(sub, result) -> int:
    tree = SourceTree(sub.files)
    paths = [
        result.provenance["main_file"],
        *[p for p in result.provenance["included_files"] if p.endswith((".tex", ".tikz"))],
    ]
    total = 0
    for path in paths:
        text = strip_comments(tree.decoded(path) or "")
        if path == result.provenance["main_file"]:
            m = re.search(r"\\begin\{document\}(.*?)(\\end\{document\}|$)", text, re.DOTALL)
            text = m.group(1) if m else text
        total += count_formulas(text)
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = sorted(
        p for d in ("good", "bad", "papers") for p in (DATA / d).iterdir() if p.suffix not in (".json", ".md")
    )
    blobs = [(p.name, p.read_bytes()) for p in files]
    nbytes = sum(len(b) for _, b in blobs)
    config = ArxivConfig()
    sentinels = json.loads((DATA / "papers" / "sentinels.json").read_text())

    best = {}
    outputs: dict[str, dict[str, object]] = {"sciloom": {}, "naive": {}}
    for method in ("sciloom", "naive"):
        times = []
        for _ in range(args.repeat):
            start = time.process_time()
            for name, data in blobs:
                if method == "sciloom":
                    outputs[method][name] = sciloom_run(name, data, config)
                else:
                    outputs[method][name] = naive_run(data)
            times.append(time.process_time() - start)
        best[method] = min(times)

    ref_total = kept_s = kept_n = 0
    for name, _ in blobs:
        sub, result = outputs["sciloom"][name]
        if result is None:
            continue
        ref = reference_formulas(sub, result)
        ref_total += ref
        kept_s += min(ref, count_formulas(result.text))
        kept_n += min(ref, count_formulas(outputs["naive"][name] or ""))
    docs_s = sum(1 for _, r in outputs["sciloom"].values() if r is not None)
    docs_n = sum(1 for t in outputs["naive"].values() if t)
    sent_s = sum(
        sentinel_ok(outputs["sciloom"][n][1].text, s)
        for n, s in sentinels.items()
        if outputs["sciloom"][n][1]
    )
    sent_n = sum(
        sentinel_ok(outputs["naive"][n] or "", s) for n, s in sentinels.items() if outputs["naive"][n]
    )
    mb = nbytes / 1e6
    print(f"inputs: {len(blobs)} files, {mb:.2f} MB; best of {args.repeat} runs, one core")
    print("| method | docs | papers/s | MB/s | formulas kept | sentinel papers clean |")
    print("|---|---|---|---|---|---|")
    for method, docs, kept, sent in (
        ("sciloom", docs_s, kept_s, sent_s),
        ("naive pylatexenc", docs_n, kept_n, sent_n),
    ):
        t = best["sciloom" if method == "sciloom" else "naive"]
        print(
            f"| {method} | {docs} | {docs / t:.1f} | {mb / t:.2f} | {kept}/{ref_total} ({kept / max(1, ref_total):.1%}) "
            f"| {sent}/{len(sentinels)} |"
        )
    print(
        f"time: sciloom {best['sciloom']:.2f} s, naive {best['naive']:.2f} s ({best['naive'] / best['sciloom']:.2f}x)"
    )


if __name__ == "__main__":
    main()
