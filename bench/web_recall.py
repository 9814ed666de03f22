"""Formula recall of web extractors, side by side, on every page set with a ground truth.

    .venv/bin/python bench/web_recall.py [--set NAME=DIR ...] [--owm-python /tmp/owmvenv/bin/python]
        [--append bench/RESULTS.md]

Sets (default: both): `shared` = ../shared/data/web-math (15 pages with a hand-checked ground
truth), `wild` = tests/data/web-wild (pages gathered for issue 16, ground truth derived from each
page's markup by its derive.py). Each set's pages are extracted by

- sciloom through the CLI (`sciloom extract web DIR --out OUT --workers 1`, default settings);
- datatrove 0.10.1's `Trafilatura` step (its `extract()`, defaults), after decoding like
  datatrove's readers (UTF-8, then cchardet);
- OpenWebMath's `extract_text` (openwebmath-text-extract 0.1.3, resiliparse 0.16, run in the
  venv named by `--owm-python`, its randomised config fixed to the most likely values);

and scored by ../shared/data/web-math/score_recall.py against the set's formulas.jsonl: micro
recall over TeX-source pages, macro (mean per page), display/inline right. Speed is measured by
bench/web_extract.py, not here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "web-math"
SETS = {"shared": SHARED, "wild": REPO / "tests" / "data" / "web-wild"}
SCORE_LINE = re.compile(
    r"recall (?P<micro>[\d.]+) \((?P<hit>\d+)/(?P<n>\d+)\) macro (?P<macro>[\d.]+) .*"
    r"\| display/inline right (?P<mode>[\d.]+)"
)
OWM_SCRIPT = r"""
import json, sys
from resiliparse.parse.encoding import bytes_to_str, detect_encoding
from text_extract.extract import extract_text
config = {
    "markdown_headings": True, "markdown_code": True,
    "boilerplate_config": {"ratio_threshold": 0.18, "absolute_threshold": 10, "end_threshold": 15, "enable": True},
    "remove_buttons": True, "remove_image_figures": True, "remove_link_clusters": True,
    "table_config": {"min_rows": 2, "min_cols": 3, "format": "plain"},
    "remove_chinese": True, "remove_edit_buttons": True, "extract_latex": True,
}
out = open(sys.argv[2], "w")
for path in (l.strip() for l in open(sys.argv[1])):
    html = open(path, "rb").read()
    try:
        res = extract_text(bytes_to_str(html, detect_encoding(html)), config)
        text = res[0] if res else ""
    except Exception:
        text = ""
    out.write(json.dumps({"text": text or "", "where": path}) + "\n")
"""


def score(webmath: Path, formulas_dir: Path, docs: Path) -> dict[str, float]:
    """The shared scorer's summary line for `docs` against `formulas_dir/formulas.jsonl`."""
    res = subprocess.run(
        [sys.executable, str(webmath / "score_recall.py"), str(formulas_dir), str(docs)],
        capture_output=True,
        text=True,
        check=True,
    )
    m = SCORE_LINE.search(res.stdout.strip().splitlines()[-1])
    return {k: float(v) for k, v in m.groupdict().items()}


def pages_of(folder: Path) -> list[Path]:
    return sorted((folder / "pages").glob("*.html"))


def run_sciloom(folder: Path, out: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "sciloom.corpus.cli.main",
            "extract",
            "web",
            str(folder / "pages"),
            "--out",
            str(out),
        ]
        + ["--workers", "1"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return out


def run_datatrove(folder: Path, out: Path) -> Path:
    import cchardet
    from datatrove.pipeline.extractors import Trafilatura

    step = Trafilatura(timeout=60)
    with open(out, "w") as fh:
        for page in pages_of(folder):
            data = page.read_bytes()
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode(cchardet.detect(data)["encoding"] or "utf-8", errors="replace")
            fh.write(json.dumps({"text": step.extract(text) or "", "where": str(page)}) + "\n")
    return out


def run_owm(folder: Path, out: Path, python: str, work: Path) -> Path:
    listing, script = work / "owm_pages.txt", work / "owm.py"
    listing.write_text("\n".join(str(p) for p in pages_of(folder)))
    script.write_text(OWM_SCRIPT)
    subprocess.run([python, str(script), str(listing), str(out)], check=True, capture_output=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", action="append", default=[], help="NAME=DIR with pages/ and formulas.jsonl")
    ap.add_argument("--owm-python", help="python of a venv with openwebmath-text-extract and resiliparse<1")
    ap.add_argument("--append", type=Path, help="append the table to this Markdown file")
    args = ap.parse_args(argv)
    sets = dict(s.split("=", 1) for s in args.set) if args.set else {k: str(v) for k, v in SETS.items()}

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, folder in sets.items():
            folder = Path(folder)
            n_pages = len(pages_of(folder))
            runs = {
                "sciloom": run_sciloom(folder, work / f"{name}-sciloom"),
                "datatrove Trafilatura": run_datatrove(folder, work / f"{name}-datatrove.jsonl"),
            }
            if args.owm_python:
                runs["OpenWebMath"] = run_owm(folder, work / f"{name}-owm.jsonl", args.owm_python, work)
            for extractor, docs in runs.items():
                rows.append((name, n_pages, extractor, score(SHARED, folder, docs)))

    lines = [
        f"machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"command: bench/web_recall.py{' --owm-python ...' if args.owm_python else ''}",
        "",
        "| set | pages | extractor | formulas | micro recall | macro recall | display/inline right |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for name, n_pages, extractor, r in rows:
        lines.append(
            f"| {name} | {n_pages} | {extractor} | {int(r['n'])} | {r['micro']:.3f} | {r['macro']:.3f} | {r['mode']:.3f} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.append:
        with open(args.append, "a") as fh:
            fh.write("\n" + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
