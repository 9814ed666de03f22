"""How time and memory grow with the corpus: every stage and a whole build at 10^4 .. 10^6 documents.

    .venv/bin/python bench/scale.py --sizes 10000,100000 --workers 1,2      # measure (appends JSON)
    .venv/bin/python bench/scale.py --sizes 1000000 --stages dedup,decontam,mix,tokenize --workers 1
    .venv/bin/python bench/scale.py --kill-resume 100000                     # kill -9 and resume
    .venv/bin/python bench/scale.py --report                                  # table + plot from JSON

Corpora come from bench/scale_corpus.py (~2 KB math documents, planted near/exact duplicates
and contamination, JSONL shards; `--work` caches them). Each stage runs as the CLI in a
subprocess, chained as a build chains them (filter -> dedup -> decontam -> mix -> tokenize; without
`filter` in `--stages`, dedup reads the corpus), and a whole `sciloom build` runs on a recipe over
the same corpus. Per run: wall time, CPU time of the process tree (user + sys of the child and
its reaped workers, from `os.wait4`: the machine is shared, so CPU seconds are the per-core
figure), peak RSS (the largest single process of the tree, `ru_maxrss`), documents in and docs/s.
The growth exponent is the least-squares slope of log(CPU s) and log(peak RSS) over log(docs).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_corpus import write_corpus, write_prompt_rows, write_recipe  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCILOOM = [sys.executable, "-m", "sciloom.corpus.cli.main"]
STAGES = ("filter", "dedup", "decontam", "mix", "tokenize", "build")
RESULTS_JSON = REPO / "bench" / "scale_results.json"
PLOT = REPO / "bench" / "scale.png"
VOCAB = 8000


def measure(cmd: list[str], log: Path) -> dict:
    """Run `cmd`, return wall s, CPU s of its process tree and its peak RSS in MiB."""
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}); see {log}")
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def docs_in(folder: Path) -> int:
    return int(json.loads((folder / "manifest.json").read_text())["totals"]["docs"]["in"])


def corpus(work: Path, n: int) -> Path:
    folder = work / f"corpus-{n}"
    if not (folder / ".done").is_file():
        write_corpus(folder, n, shards=max(4, n // 25_000))
        (folder / ".done").write_text("")
    return folder


def tokenizer(work: Path) -> Path:
    model = work / "tokenizer" / "tokenizer.model"
    if not model.is_file():
        cmd = [*SCILOOM, "tokenizer", "train", str(corpus(work, 10_000)), "--out", str(model.parent)]
        measure([*cmd, "--vocab-size", str(VOCAB)], work / "logs" / "tokenizer.log")
    return model


def run_size(
    work: Path, n: int, workers: int, stages: list[str], save=lambda row: None, build_filters: bool = True
) -> list[dict]:
    src, model = corpus(work, n), tokenizer(work)
    base = work / f"run-{n}-w{workers}"
    rows, previous = [], src
    for stage in stages:
        out = base / stage
        w = ["--workers", str(workers)]
        if stage == "build":
            prompts = write_prompt_rows(base / "prompts.jsonl", max(100, n // 100))
            recipe = write_recipe(
                base / "recipe.toml", src, prompts, workers=workers, vocab_size=VOCAB, filters=build_filters
            )
            cmd = [*SCILOOM, "build", str(recipe), "--out", str(out), "--no-progress"]
        elif stage == "mix":
            cmd = [*SCILOOM, "mix", f"web={previous}", "--out", str(out), "--weight", "web=1"]
            cmd += ["--tokenizer-model", str(model)]
        elif stage == "tokenize":
            cmd = [*SCILOOM, "tokenize", str(previous), "--tokenizer", str(model), "--out", str(out), *w]
        else:
            cmd = [*SCILOOM, stage, str(previous), "--out", str(out), *w]
        _fresh(out)
        m = measure(cmd, base / "logs" / f"{stage}.log")
        n_in = n if stage == "build" else docs_in(out)
        m.update(stage=stage, size=n, workers=workers, docs_in=n_in)
        if stage == "build" and not build_filters:
            m["note"] = "[filters] enabled = false"
        m["docs_per_s"] = round(n_in / m["wall_s"], 1)
        m["docs_per_cpu_s"] = round(n_in / max(m["cpu_s"], 1e-9), 1)
        rows.append(m)
        save(m)
        print(json.dumps(m), flush=True)
        if stage != "build":
            previous = out
    return rows


def _fresh(folder: Path) -> None:
    import shutil

    if folder.exists():
        shutil.rmtree(folder)


def _tree_hashes(build: Path) -> dict:
    """Per stage: its counts and shard hashes; and the Megatron files' hashes."""
    top = json.loads((build / "manifest.json").read_text())
    out = {}
    for s in top["stages"]:
        m = build / s["dir"] / "manifest.json"
        if m.is_file():
            d = json.loads(m.read_text())
            out[s["name"]] = {
                "sources": d["sources"],
                "shards": [(x["path"], x["sha256"]) for x in d["shards"]],
            }
    # .bin/.idx only: the tokenizer.meta.json copied beside them names its inputs by absolute path
    for p in sorted([*build.glob("*-tokenize/tokens/*.bin"), *build.glob("*-tokenize/tokens/*.idx")]):
        out[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def kill_resume(work: Path, n: int, workers: int, build_filters: bool = True) -> dict:
    """kill -9 a build of n docs once its second stage finished, rerun it, compare with a full run."""
    reference = work / f"run-{n}-w{workers}" / "build"
    if not (reference / "manifest.json").is_file():
        run_size(work, n, workers, ["build"], build_filters=build_filters)
    recipe = reference.parent / "recipe.toml"
    out = work / f"killresume-{n}-w{workers}"
    _fresh(out)
    cmd = [*SCILOOM, "build", str(recipe), "--out", str(out), "--no-progress"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    second = json.loads((reference / "stages.json").read_text())[1]  # e.g. 02-filter
    while not (out / second / "manifest.json").is_file():
        if proc.poll() is not None:
            raise SystemExit("the build ended before it could be killed")
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    _, status, usage = os.wait4(proc.pid, 0)
    killed_after = time.perf_counter() - start
    stages_done_names = stages_done(out)
    finished = {
        p: p.stat().st_mtime_ns for d in (out / f for f in stages_done(out)) for p in d.glob("docs/*.parquet")
    }
    resumed = measure(cmd, work / "logs" / f"killresume-{n}.log")
    redone = [str(p) for p, t in finished.items() if p.stat().st_mtime_ns != t]
    same = _tree_hashes(out) == _tree_hashes(reference)
    result = {
        "size": n,
        "workers": workers,
        "killed_after_s": round(killed_after, 1),
        "killed_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "resume": resumed,
        "killed_after_stage": second,
        "finished_stages_at_kill": stages_done_names,
        "finished_shards_rewritten": redone,
        "same_counts_and_hashes_as_uninterrupted": same,
    }
    print(json.dumps(result), flush=True)
    return result


def stages_done(build: Path) -> list[str]:
    """Stage folders of a (killed) build whose manifest was written."""
    return sorted(p.parent.name for p in build.glob("[0-9][0-9]-*/manifest.json"))


def slope(xs: list[float], ys: list[float]) -> float | None:
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    den = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / den if den else None


def report(results: dict, plot: Path) -> str:
    rows = results.get("runs", [])
    lines = [
        "| stage | workers | docs | wall s | CPU s | peak RSS MB | docs/s (wall) | docs/CPU s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    key = lambda r: (STAGES.index(r["stage"]), r["workers"], r["size"])  # noqa: E731
    for r in sorted(rows, key=key):
        lines.append(
            f"| {r['stage']} | {r['workers']} | {r['size']:,} | {r['wall_s']} | {r['cpu_s']} | "
            f"{r['peak_rss_mb']} | {r['docs_per_s']:,} | {r['docs_per_cpu_s']:,} |"
        )
    lines += ["", "| stage | workers | sizes | exponent CPU s | exponent peak RSS |", "|---|---|---|---|---|"]
    groups: dict[tuple[str, int], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["stage"], r["workers"]), []).append(r)
    for (stage, w), rs in sorted(groups.items(), key=lambda kv: (STAGES.index(kv[0][0]), kv[0][1])):
        rs = sorted(rs, key=lambda r: r["size"])
        ec = slope([r["size"] for r in rs], [r["cpu_s"] for r in rs])
        em = slope([r["size"] for r in rs], [r["peak_rss_mb"] for r in rs])
        fmt = lambda v: "" if v is None else f"{v:.2f}"  # noqa: E731
        sizes = ", ".join(f"{r['size']:,}" for r in rs)
        lines.append(f"| {stage} | {w} | {sizes} | {fmt(ec)} | {fmt(em)} |")
    _plot(groups, plot)
    return "\n".join(lines)


def _plot(groups: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for (stage, w), rs in sorted(groups.items()):
        rs = sorted(rs, key=lambda r: r["size"])
        xs = [r["size"] for r in rs]
        style = "-o" if w == 1 else "--s"
        label = f"{stage} w{w}"
        axes[1].loglog(xs, [r["peak_rss_mb"] for r in rs], style, label=label)
        if w == 1 or stage == "mix":  # datatrove's forkserver workers escape wait4: no CPU for w2
            axes[0].loglog(xs, [r["cpu_s"] for r in rs], style, label=label)
            axes[2].semilogx(xs, [r["docs_per_cpu_s"] for r in rs], style, label=label)
    for ax, title in zip(
        axes, ("CPU seconds (process tree)", "peak RSS MiB (largest process)", "docs per CPU second")
    ):
        ax.set_title(title)
        ax.set_xlabel("documents")
        ax.grid(True, which="both", alpha=0.3)
    axes[1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="", help="comma-separated document counts, e.g. 10000,100000")
    p.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    p.add_argument("--stages", default=",".join(STAGES), help=f"subset of {','.join(STAGES)}")
    p.add_argument("--work", type=Path, default=Path("/tmp/sciloom-scale"), help="corpora and stage outputs")
    p.add_argument("--results", type=Path, default=RESULTS_JSON, help="JSON the measurements go to")
    p.add_argument("--merge", type=Path, nargs="*", default=[], help="more result JSON files for --report")
    p.add_argument(
        "--kill-resume", type=int, default=0, metavar="N", help="kill -9 / resume a build of N docs"
    )
    p.add_argument("--report", action="store_true", help="print the tables and write the plot")
    p.add_argument("--plot", type=Path, default=PLOT)
    p.add_argument("--build-filters", choices=("on", "off"), default="on", help="the build's [filters] stage")
    args = p.parse_args(argv)
    results = json.loads(args.results.read_text()) if args.results.is_file() else {"runs": []}
    stages = [s for s in args.stages.split(",") if s]
    for s in stages:
        if s not in STAGES:
            p.error(f"unknown stage {s!r}")

    def save(row: dict) -> None:
        same = (row["stage"], row["size"], row["workers"])
        results["runs"] = [r for r in results["runs"] if (r["stage"], r["size"], r["workers"]) != same]
        results["runs"].append(row)
        results["machine"] = _machine()
        args.results.write_text(json.dumps(results, indent=1) + "\n")

    for n in [int(float(s)) for s in args.sizes.split(",") if s]:
        for w in [int(x) for x in args.workers.split(",")]:
            run_size(args.work, n, w, stages, save, build_filters=args.build_filters == "on")
    if args.kill_resume:
        results.setdefault("kill_resume", []).append(
            kill_resume(args.work, args.kill_resume, 2, args.build_filters == "on")
        )
        args.results.write_text(json.dumps(results, indent=1) + "\n")
    if args.report:
        for extra in args.merge:
            more = json.loads(extra.read_text())
            results["runs"] += more.get("runs", [])
            results.setdefault("kill_resume", []).extend(more.get("kill_resume", []))
        print(report(results, args.plot))
        for kr in results.get("kill_resume", []):
            print(json.dumps(kr))
    return 0


def _machine() -> dict:
    return {"cpus": os.cpu_count(), "load_avg": os.getloadavg(), "python": sys.version.split()[0]}


if __name__ == "__main__":
    raise SystemExit(main())
