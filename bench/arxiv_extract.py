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

- RedPajama v1 (optional peer, `--redpajama PATH`, PATH = a checkout's
  `data_prep/arxiv/arxiv_cleaner.py` of togethercomputer/RedPajama-Data, Apache-2.0, not shipped
  here): its loader's logic (a tar's `.tex` members, else a gzipped file; strict UTF-8) on the same
  bytes, then its `clean_tex_files`. Its fastText language id is not run (not part of cleaning).

Run: `.venv/bin/python bench/arxiv_extract.py [--repeat 3] [--redpajama PATH] [--profile N]`
(`--profile N`: cProfile of sciloom's runs, top N functions by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import importlib.util
import io
import json
import pstats
import re
import sys
import tarfile
import time
import types
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


def load_redpajama(path: str):
    """`clean_tex_files` from RedPajama's cleaner file; its fastText/utils imports get stand-ins."""
    ft = types.ModuleType("fasttext")
    ft.FastText = types.SimpleNamespace()
    utils = types.ModuleType("utils")
    utils.predict_lang = utils.get_timestamp = utils.format_arxiv_id = lambda *a, **k: None
    sys.modules.setdefault("fasttext", ft)
    sys.modules.setdefault("utils", utils)
    spec = importlib.util.spec_from_file_location("redpajama_arxiv_cleaner", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.clean_tex_files


def redpajama_run(data: bytes, clean_tex_files) -> str | None:
    """RedPajama's `_tex_proj_loader` logic on bytes (tar `.tex` members, else gzip), then its cleaner."""
    texts: list[str] = []
    try:
        try:
            with tarfile.open(fileobj=io.BytesIO(data)) as tf:
                for member in tf.getmembers():
                    if member.name.endswith(".tex"):
                        texts.append(tf.extractfile(member).read().decode("utf-8"))
        except tarfile.ReadError:
            texts = [gzip.decompress(data).decode("utf-8")]
        text = clean_tex_files(texts)
    except Exception:  # its loader and create_record return None for any failure
        return None
    return text or None


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
    parser.add_argument("--redpajama", help="path to RedPajama-Data's data_prep/arxiv/arxiv_cleaner.py")
    parser.add_argument("--profile", type=int, default=0, help="print the top N of a cProfile of sciloom")
    args = parser.parse_args()
    files = sorted(
        p for d in ("good", "bad", "papers") for p in (DATA / d).iterdir() if p.suffix not in (".json", ".md")
    )
    blobs = [(p.name, p.read_bytes()) for p in files]
    nbytes = sum(len(b) for _, b in blobs)
    config = ArxivConfig()
    sentinels = json.loads((DATA / "papers" / "sentinels.json").read_text())

    clean_tex_files = load_redpajama(args.redpajama) if args.redpajama else None
    methods = ["sciloom", "naive"] + (["redpajama"] if clean_tex_files else [])
    best = {}
    outputs: dict[str, dict[str, object]] = {m: {} for m in methods}
    for _ in range(args.repeat):  # methods alternate, so load changes hit them alike
        for method in methods:
            start = time.process_time()
            for name, data in blobs:
                if method == "sciloom":
                    outputs[method][name] = sciloom_run(name, data, config)
                elif method == "naive":
                    outputs[method][name] = naive_run(data)
                else:
                    outputs[method][name] = redpajama_run(data, clean_tex_files)
            best[method] = min(best.get(method, 1e9), time.process_time() - start)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for name, data in blobs:
            sciloom_run(name, data, config)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)

    texts = {
        m: {n: (o[1].text if o[1] else None) if m == "sciloom" else o for n, o in outputs[m].items()}
        for m in methods
    }
    ref_total = 0
    kept = dict.fromkeys(methods, 0)
    for name, _ in blobs:
        sub, result = outputs["sciloom"][name]
        if result is None:
            continue
        ref = reference_formulas(sub, result)
        ref_total += ref
        for m in methods:
            kept[m] += min(ref, count_formulas(texts[m][name] or ""))
    mb = nbytes / 1e6
    print(f"inputs: {len(blobs)} files, {mb:.2f} MB; best of {args.repeat} runs, one core, process CPU time")
    print("| method | docs | papers/s per core | MB/s per core | formulas kept | sentinel papers clean |")
    print("|---|---|---|---|---|---|")
    labels = {"sciloom": "sciloom", "naive": "naive pylatexenc", "redpajama": "RedPajama v1 clean_tex_files"}
    for m in methods:
        docs = sum(1 for t in texts[m].values() if t)
        sent = sum(sentinel_ok(texts[m][n], spec) for n, spec in sentinels.items() if texts[m][n])
        t = best[m]
        print(
            f"| {labels[m]} | {docs} | {docs / t:.1f} | {mb / t:.2f} | {kept[m]}/{ref_total} "
            f"({kept[m] / max(1, ref_total):.1%}) | {sent}/{len(sentinels)} |"
        )
    print(
        "time: "
        + ", ".join(f"{m} {best[m]:.3f} s ({best[m] / best['sciloom']:.2f}x sciloom)" for m in methods)
    )


if __name__ == "__main__":
    main()
