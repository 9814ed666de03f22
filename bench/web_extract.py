"""Benchmark web extractors on the same math pages in one run: formula recall and pages/s per core.

    .venv/bin/python bench/web_extract.py [--webmath ../shared/data/web-math] [--repeat 10]
        [--owm-python /tmp/owmvenv/bin/python] [--append bench/RESULTS.md]

Extractors, all on the 24 pages of web-math (pages/, pages-negative/, pages-extra/), each copied
`--repeat` times so fixed start-up costs are paid once per run, not once per page:

- sciloom end to end through the CLI: `sciloom extract web DIR --out OUT --workers 1`, a child
  process, start-up, Parquet writing and manifest included;
- sciloom in-process (`extract_page`), for reference;
- datatrove 0.10.1's `Trafilatura` step, in-process: its `extract()` (the step's `run()` adds a
  sandbox process per task; calling `extract` directly is the fastest datatrove can be), with its
  defaults (favour_precision=True, deduplicate=True, include_comments=False), after decoding like
  datatrove's WarcReader (UTF-8, then cchardet);
- OpenWebMath's extractor (`openwebmath-text-extract` 0.1.3 with resiliparse 0.16, which needs a
  throwaway venv: resiliparse 2.x crashes it), if `--owm-python` names that venv's python. Its
  randomised config is fixed to the most likely value of every option.

With `--crawl`, the same run also measures a crawl-like mix: real pages without math
(tests/data/web-crawl, the two non-math news pages of pages-negative, and any `--non-math DIR`)
and the math pages of pages/ and pages-extra/, `--crawl-pages` in all, at each math share of
`--crawl-shares` (default 0.10, 0.05 and 0.01; a crawl holds ~1% math pages or less), through
the CLI with its default raw-HTML prefilter. Its pages/s is compared with the CLI's rate on the
math pages above. At a math share p the ratio cannot exceed 1/p (the math pages alone take
p/rate of the time), so 10x needs p < 0.1.
It also lists the math pages (pages/, pages-extra/, tests/data/web-wild) the prefilter would drop.

Recall comes from the data folder's own scorer (`score_recall.py`). Speed is pages per CPU-second
of the process that did the work (children included for the CLI), so other load on a shared
machine disturbs it less than wall time; wall-clock rates are printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SUBFOLDERS = ("pages", "pages-negative", "pages-extra")
SCORE_LINE = re.compile(
    r"recall (?P<recall>[\d.]+) .*\| converted (?P<converted>[\d.]+) .*\| display/inline right (?P<mode>[\d.]+)"
)

OWM_SCRIPT = r"""
import json, sys, time
from resiliparse.parse.encoding import bytes_to_str, detect_encoding
from text_extract.extract import extract_text
config = {
    "markdown_headings": True, "markdown_code": True,
    "boilerplate_config": {"ratio_threshold": 0.18, "absolute_threshold": 10, "end_threshold": 15, "enable": True},
    "remove_buttons": True, "remove_image_figures": True, "remove_link_clusters": True,
    "table_config": {"min_rows": 2, "min_cols": 3, "format": "plain"},
    "remove_chinese": True, "remove_edit_buttons": True, "extract_latex": True,
}
paths = [l.strip() for l in open(sys.argv[1])]
htmls = [open(p, "rb").read() for p in paths]
out = open(sys.argv[2], "w")
t0, c0, failed = time.time(), time.process_time(), 0
for path, html in zip(paths, htmls):
    try:
        res = extract_text(bytes_to_str(html, detect_encoding(html)), config)
        text = res[0] if res else ""
    except Exception:
        text, failed = "", failed + 1
    out.write(json.dumps({"text": text or "", "where": path}) + "\n")
print(json.dumps({"cpu": time.process_time() - c0, "wall": time.time() - t0, "failed": failed}))
"""


def score(webmath: Path, docs: Path) -> dict[str, float]:
    res = subprocess.run(
        [sys.executable, str(webmath / "score_recall.py"), str(webmath), str(docs)],
        capture_output=True,
        text=True,
        check=True,
    )
    m = SCORE_LINE.search(res.stdout.strip().splitlines()[-1])
    return {k: float(v) for k, v in m.groupdict().items()}


def copy_pages(webmath: Path, work: Path, repeat: int) -> list[Path]:
    out = []
    for r in range(repeat):
        for sub in SUBFOLDERS:
            dest = work / f"rep{r}" / sub
            dest.mkdir(parents=True)
            for page in sorted((webmath / sub).glob("*.html")):
                shutil.copy(page, dest / page.name)
                out.append(dest / page.name)
    return out


def decode_like_datatrove(data: bytes) -> str:
    import cchardet

    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        enc = cchardet.detect(data)["encoding"] or "utf-8"
        return data.decode(enc, errors="replace")


def run_sciloom_cli(pages_dir: Path, out: Path, *flags: str) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "sciloom.corpus.cli.main",
            "extract",
            "web",
            str(pages_dir),
            *flags,
            "--out",
            str(out),
            "--workers",
            "1",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.time() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"cpu": cpu, "wall": wall}


def crawl_mix(webmath: Path, extra: list[Path], dest: Path, total: int, share: float) -> dict[str, int]:
    """`total` pages, `share` of them math pages, the rest real non-math pages, cycled."""
    from sciloom.corpus.web.prefilter import has_math_markers

    math = sorted((webmath / "pages").glob("*.html")) + sorted((webmath / "pages-extra").glob("*.html"))
    non_math = [webmath / "pages-negative" / n for n in ("math_dollar.html", "math_zeenews.html")]
    non_math += sorted((REPO / "tests" / "data" / "web-crawl" / "pages").glob("*.html"))
    for folder in extra:
        non_math += sorted(folder.rglob("*.htm*"))
    n_math = round(total * share)
    dest.mkdir(parents=True)
    for i in range(total):
        src = math[i % len(math)] if i < n_math else non_math[(i - n_math) % len(non_math)]
        shutil.copy(src, dest / f"{i:06d}-{src.name}")
    return {
        "math": n_math,
        "non_math": total - n_math,
        "distinct_non_math": len(non_math),
        "non_math_passing": sum(has_math_markers(p.read_bytes()) for p in non_math),
        "math_rejected": sum(not has_math_markers(p.read_bytes()) for p in math),
        "bytes": sum(p.stat().st_size for p in dest.iterdir()),
    }


def prefilter_losses(webmath: Path) -> list[str]:
    """Math pages the raw-HTML prefilter would drop, per test set (the issue's goal is none)."""
    from sciloom.corpus.web.prefilter import has_math_markers

    sets = {
        "shared pages/": webmath / "pages",
        "shared pages-extra/": webmath / "pages-extra",
        "tests/data/web-wild": REPO / "tests" / "data" / "web-wild" / "pages",
    }
    out = []
    for name, folder in sets.items():
        pages = sorted(p for p in folder.rglob("*.htm*") if p.is_file())
        lost = [p.name for p in pages if not has_math_markers(p.read_bytes())]
        out.append(f"{name} {len(lost)} of {len(pages)}" + (f" ({', '.join(lost)})" if lost else ""))
    return out


def run_in_process(pages: list[Path], extract, out: Path) -> dict[str, float]:
    datas = [p.read_bytes() for p in pages]
    extract(decode_like_datatrove(datas[0]))  # warm-up: imports and lazy models, not timed
    t0, c0 = time.time(), time.process_time()
    rows = []
    for path, data in zip(pages, datas):
        rows.append({"text": extract(data) or "", "where": str(path)})
    cpu, wall = time.process_time() - c0, time.time() - t0
    with open(out, "w") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    return {"cpu": cpu, "wall": wall}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--webmath", type=Path, default=REPO.parent / "shared" / "data" / "web-math")
    ap.add_argument("--repeat", type=int, default=10, help="copies of the page set (default 10)")
    ap.add_argument("--owm-python", help="python of a venv with openwebmath-text-extract and resiliparse<1")
    ap.add_argument("--append", type=Path, help="append a results section to this Markdown file")
    ap.add_argument("--crawl", action="store_true", help="also measure crawl-like mixes (see above)")
    ap.add_argument("--crawl-pages", type=int, default=1000, help="pages per crawl mix (default 1000)")
    ap.add_argument("--crawl-shares", default="0.10,0.05,0.01", help="math shares of the mixes")
    ap.add_argument("--non-math", type=Path, action="append", default=[], help="more real non-math pages")
    args = ap.parse_args(argv)

    from datatrove.pipeline.extractors import Trafilatura

    from sciloom.corpus.web.html_decode import decode_html
    from sciloom.corpus.web.html_text import ExtractOptions, extract_page

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pages = copy_pages(args.webmath, work / "in", args.repeat)
        n = len(pages)

        results["sciloom CLI --workers 1"] = run_sciloom_cli(work / "in", work / "sciloom")
        results["sciloom CLI --workers 1"].update(score(args.webmath, work / "sciloom"))
        name = "sciloom CLI --workers 1 --keep-non-math"
        results[name] = run_sciloom_cli(work / "in", work / "sciloom_all", "--keep-non-math")
        results[name].update(score(args.webmath, work / "sciloom_all"))

        results["sciloom in-process"] = run_in_process(
            pages,
            lambda d: (
                extract_page(decode_html(d).text).text if isinstance(d, bytes) else extract_page(d).text
            ),
            work / "sciloom_inproc.jsonl",
        )
        results["sciloom in-process"].update(score(args.webmath, work / "sciloom_inproc.jsonl"))

        traf = ExtractOptions(main_content="trafilatura")
        name = "sciloom in-process, main_content=trafilatura"
        results[name] = run_in_process(
            pages,
            lambda d: extract_page(decode_html(d).text if isinstance(d, bytes) else d, traf).text,
            work / "sciloom_traf.jsonl",
        )
        results[name].update(score(args.webmath, work / "sciloom_traf.jsonl"))

        dt = Trafilatura(timeout=60)
        results["datatrove Trafilatura in-process"] = run_in_process(
            pages,
            lambda d: dt.extract(decode_like_datatrove(d) if isinstance(d, bytes) else d),
            work / "datatrove.jsonl",
        )
        results["datatrove Trafilatura in-process"].update(score(args.webmath, work / "datatrove.jsonl"))

        if args.owm_python:
            listing = work / "owm_pages.txt"
            listing.write_text("\n".join(str(p) for p in pages))
            script = work / "owm.py"
            script.write_text(OWM_SCRIPT)
            res = subprocess.run(
                [args.owm_python, str(script), str(listing), str(work / "owm.jsonl")],
                capture_output=True,
                text=True,
                check=True,
            )
            results["OpenWebMath extract_text (resiliparse 0.16)"] = json.loads(
                res.stdout.strip().splitlines()[-1]
            )
            results["OpenWebMath extract_text (resiliparse 0.16)"].update(
                score(args.webmath, work / "owm.jsonl")
            )

        crawl = []
        if args.crawl:
            for share in (float(x) for x in args.crawl_shares.split(",")):
                mix = work / f"crawl-{share}"
                info = crawl_mix(args.webmath, args.non_math, mix, args.crawl_pages, share)
                info.update(run_sciloom_cli(mix, work / f"crawl-out-{share}"), share=share)
                crawl.append(info)

    base = n / results["datatrove Trafilatura in-process"]["cpu"]
    lines = [
        f"pages: {n} ({n // args.repeat} web-math pages x {args.repeat}); machine: {platform.node()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end",
        "",
        "| extractor | recall TeX pages | recall converted | display/inline right | pages/s per core (CPU) | pages/s wall | vs datatrove |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        rate = n / r["cpu"]
        lines.append(
            f"| {name} | {r['recall']:.3f} | {r['converted']:.3f} | {r['mode']:.3f} | {rate:.1f} | "
            f"{n / r['wall']:.1f} | {rate / base:.2f}x |"
        )
    if crawl:
        math_rate = n / results["sciloom CLI --workers 1"]["cpu"]
        lines += [
            "",
            f"crawl-like mixes, {args.crawl_pages} pages each, `sciloom extract web --workers 1` (prefilter on); "
            f"math-page rate above: {math_rate:.1f} pages/s per core",
            "",
            "| math share | math pages | non-math pages (distinct) | non-math passing the prefilter (distinct) "
            "| math pages rejected (distinct) | MB | pages/s per core (CPU) | pages/s wall | vs math-page rate |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for c in crawl:
            rate = args.crawl_pages / c["cpu"]
            lines.append(
                f"| {c['share']:.2f} | {c['math']} | {c['non_math']} ({c['distinct_non_math']}) | "
                f"{c['non_math_passing']} | {c['math_rejected']} | {c['bytes'] / 1e6:.1f} | {rate:.1f} | "
                f"{args.crawl_pages / c['wall']:.1f} | {rate / math_rate:.1f}x |"
            )
        lines += ["", "math pages the prefilter drops: " + "; ".join(prefilter_losses(args.webmath))]
    table = "\n".join(lines)
    print(table)
    if args.append:
        with open(args.append, "a") as fh:
            fh.write("\n" + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
