"""Readable views of manifests: the per-stage table of `sciloom manifest show`, one-line summaries.

Everything here reads manifest dicts/objects only; `--json` output is the same data as the table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sciloom.manifests.errors import ManifestError
from sciloom.manifests.schema import StageManifest, load_manifest, read_manifest_dict


def stage_line(manifest: StageManifest) -> str:
    """`in 12 -> kept 10, dropped 1 (too_short 1), quarantined 1 (bad_gzip 1)`."""
    t = manifest.totals
    d = t.docs
    parts = [f"in {d['in']}"]
    if d["added"]:
        parts[0] += f" + added {d['added']}"
    parts.append(f"kept {d['kept']}")
    rest = []
    if d["dropped"]:
        rest.append(f"dropped {d['dropped']} ({_top(t.dropped_reasons)})")
    if d["quarantined"]:
        rest.append(f"quarantined {d['quarantined']} ({_top(t.quarantined_reasons)})")
    return " -> ".join(parts) + ("" if not rest else ", " + ", ".join(rest))


def _top(reasons: dict[str, int], k: int = 3) -> str:
    items = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{r} {n}" for r, n in items[:k])
    return shown + (f", +{len(items) - k} more" if len(items) > k else "")


def print_stage_summary(manifest: StageManifest, console: Console | None = None) -> None:
    console = console or Console()
    console.print(f"{manifest.stage}: {stage_line(manifest)}")
    for q in manifest.quarantine[:20]:
        where = q["input"] + (f"::{q['member']}" if q.get("member") else "")
        console.print(f"  quarantined {where}: {q['reason']} {q.get('detail', '')[:120]}")


def stage_dirs(build_dir: Path) -> list[Path]:
    """Stage folders of a build in order (from the build manifest, else by name)."""
    try:
        d = read_manifest_dict(build_dir)
    except ManifestError:
        d = {}
    if d.get("kind") == "build":
        return [
            build_dir / s["dir"]
            for s in d.get("stages", [])
            if (build_dir / s["dir"] / "manifest.json").is_file()
        ]
    if d.get("kind") == "stage":
        return [build_dir]
    found = sorted(p.parent for p in build_dir.glob("*/manifest.json"))
    if not found:
        raise ManifestError(f"{build_dir}: neither a build nor a stage folder (no manifest.json)")
    return found


def summary(build_dir: str | Path) -> dict[str, Any]:
    """The data behind `manifest show`: per stage and source counts, reasons, extras, build info."""
    build_dir = Path(build_dir)
    top = read_manifest_dict(build_dir)
    out: dict[str, Any] = {"dir": str(build_dir), "kind": top.get("kind")}
    if top.get("kind") == "build":
        out["build"] = {
            "recipe_hash": top.get("recipe_hash"),
            "seed": top.get("seed"),
            "versions": top.get("versions"),
            "wall_time_s": top.get("wall_time_s"),
            "outputs": top.get("outputs"),
        }
    stages = []
    for folder in stage_dirs(build_dir):
        m = read_manifest_dict(folder)
        stages.append(
            {
                "stage": m["stage"],
                "dir": folder.name,
                "sources": m["sources"],
                "totals": m["totals"],
                "shards": len(m.get("shards", [])),
                "quarantine": m.get("quarantine", []),
                "extra": m.get("extra", {}),
                "recipe_hash": m.get("recipe_hash"),
            }
        )
    out["stages"] = stages
    return out


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _tokens_by_source(extra: dict[str, Any]) -> dict[str, int]:
    datasets = (extra.get("tokenize") or {}).get("datasets") or {}
    return {src: int(v.get("tokens", 0)) for src, v in datasets.items() if isinstance(v, dict)}


def wide_console() -> Console:
    """A console that does not squeeze the table when output is piped to a file or a test."""
    import sys

    return Console(width=None if sys.stdout.isatty() else 200)


def render_show(data: dict[str, Any], console: Console | None = None) -> None:
    console = console or wide_console()
    table = Table(title=f"sciloom manifest: {data['dir']}", show_lines=False)
    for col in (
        "stage",
        "source",
        "in",
        "added",
        "kept",
        "dropped",
        "quarantined",
        "bytes in",
        "bytes kept",
        "tokens",
        "top drop reasons",
    ):
        table.add_column(
            col, justify="right" if col not in ("stage", "source", "top drop reasons") else "left"
        )
    for st in data["stages"]:
        tokens = _tokens_by_source(st["extra"])
        for i, (src, c) in enumerate(st["sources"].items()):
            d, b = c["docs"], c["bytes"]
            reasons = {
                **c.get("dropped_reasons", {}),
                **{f"q:{k}": v for k, v in c.get("quarantined_reasons", {}).items()},
            }
            table.add_row(
                st["stage"] if i == 0 else "",
                src,
                str(d["in"]),
                str(d["added"]) if d["added"] else "",
                str(d["kept"]),
                str(d["dropped"]),
                str(d["quarantined"]),
                _fmt_bytes(b["in"]),
                _fmt_bytes(b["kept"]),
                f"{tokens[src]:,}" if src in tokens else "",
                _top(reasons) if reasons else "",
            )
        table.add_section()
    console.print(table)
    for st in data["stages"]:
        extra = st["extra"]
        shown = _render_known_extras(st["stage"], extra, console)
        for key, value in extra.items():
            if key in shown:
                continue
            if isinstance(value, dict) and "config" in value:  # the stage's settings: in --json only
                value = {k: v for k, v in value.items() if k != "config"}
                if not value:
                    continue
            console.print(f"[bold]{st['stage']}[/bold] {key}: {_compact(value)}")
        for q in st["quarantine"][:10]:
            where = q["input"] + (f"::{q['member']}" if q.get("member") else "")
            console.print(f"[bold]{st['stage']}[/bold] quarantined {where}: {q['reason']}")
    if "build" in data:
        b = data["build"]
        console.print(
            f"recipe hash {str(b['recipe_hash'])[:16]}  seed {b['seed']}  wall time {b['wall_time_s']} s"
        )
        outputs = b.get("outputs") or {}
        if outputs.get("tokenizer_sha256"):
            console.print(f"tokenizer {outputs.get('tokenizer')}  sha256 {outputs['tokenizer_sha256'][:16]}")
        decontam = outputs.get("decontamination") or {}
        if decontam:
            t = Table(title="decontamination per source (every feed of the mix)")
            for col in ("source", "stage", "documents", "hit", "dropped", "masked"):
                t.add_column(col, justify="left" if col in ("source", "stage") else "right")
            for name, v in decontam.items():
                t.add_row(
                    name,
                    str(v.get("stage", "")),
                    *(str(v.get(k, 0)) for k in ("documents", "documents_hit", "dropped", "masked")),
                )
            console.print(t)
        versions = b.get("versions") or {}
        console.print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))


def _render_known_extras(stage: str, extra: dict[str, Any], console: Console) -> set[str]:
    """Tables for the stage results a person reads most: mix shares, dedup clusters, decontam hits."""
    shown: set[str] = set()
    mix = extra.get("mix")
    if isinstance(mix, dict) and isinstance(mix.get("sources"), dict):
        t = Table(
            title=f"{stage}: target vs realised (preset {mix.get('preset')}, max error {mix.get('max_share_error')})"
        )
        for col in (
            "source",
            "target tokens %",
            "realised tokens %",
            "realised docs %",
            "tokens",
            "docs",
            "epochs",
        ):
            t.add_column(col, justify="left" if col == "source" else "right")
        for name, v in sorted(mix["sources"].items()):
            t.add_row(
                name,
                f"{100 * float(v.get('target_token_share', 0)):.2f}",
                f"{100 * float(v.get('realised_token_share', 0)):.2f}",
                f"{100 * float(v.get('realised_doc_share', 0)):.2f}",
                f"{int(v.get('realised_tokens', 0)):,}",
                str(v.get("realised_docs", "")),
                str(v.get("epochs", "")),
            )
        console.print(t)
        shown.add("mix")
    dedup = extra.get("dedup")
    if isinstance(dedup, dict) and isinstance(dedup.get("clusters"), dict):
        c = dedup["clusters"]
        params = dedup.get("params") or {}
        t = Table(
            title=f"{stage}: duplicates (mode {dedup.get('mode')}, {params.get('num_bands')}x{params.get('rows_per_band')} bands, threshold {params.get('threshold')})"
        )
        for col in ("kind", "clusters", "removed", "largest", "size distribution"):
            t.add_column(col)
        for kind in ("exact", "near"):
            k = c.get(kind) or {}
            dist = ", ".join(f"{size}: {n}" for size, n in (k.get("size_distribution") or {}).items())
            t.add_row(
                kind, str(k.get("clusters", 0)), str(k.get("removed", 0)), str(k.get("max_size", 0)), dist
            )
        console.print(t)
        shown.add("dedup")
    decontam = extra.get("decontam")
    if isinstance(decontam, dict) and "hits" in decontam:
        benches = ", ".join(f"{b} ({n} items)" for b, n in (decontam.get("benchmarks") or {}).items())
        console.print(
            f"[bold]{stage}[/bold] decontamination against {benches}: {decontam.get('documents_hit', 0)} documents hit, "
            f"{decontam.get('documents_dropped', 0)} dropped, {decontam.get('documents_masked', 0)} masked "
            f"({decontam.get('ngram')}-grams; {decontam.get('audit_documents', 0)} with {decontam.get('audit_ngram')}-gram overlap)"
        )
        by_source = decontam.get("hits_by_source") or {}
        if by_source:
            t = Table(title=f"{stage}: decontamination hits per source")
            for col in ("source", "documents hit", "dropped", "masked"):
                t.add_column(col, justify="left" if col == "source" else "right")
            for name, v in sorted(by_source.items()):
                t.add_row(
                    name, str(v.get("documents_hit", 0)), str(v.get("dropped", 0)), str(v.get("masked", 0))
                )
            console.print(t)
        for hit in decontam["hits"][:20]:
            kind = f" ({hit['kind']})" if hit.get("kind") else ""
            console.print(f"  {hit.get('item')}{kind}: {', '.join(map(str, hit.get('docs', [])[:5]))}")
        shown.add("decontam")
    shown |= _render_synth(stage, extra, console)
    tokenize = extra.get("tokenize")
    if isinstance(tokenize, dict) and tokenize.get("tokenizer_sha256"):
        console.print(
            f"[bold]{stage}[/bold] tokenizer sha256 {tokenize['tokenizer_sha256'][:16]}  vocab {tokenize.get('vocab_size')}  "
            f"dtype {tokenize.get('dtype')}  tokens {int(tokenize.get('tokens', 0)):,}  documents {tokenize.get('documents')}"
        )
        shown.add("tokenize")
    return shown


def _render_synth(stage: str, extra: dict[str, Any], console: Console) -> set[str]:
    """Model-generated data (`sciloom synth`): method, model, backend use; OPRO's trajectory."""
    shown: set[str] = set()
    synth = extra.get("synth")
    if isinstance(synth, dict) and "kind" in synth:
        backend = synth.get("backend") or {}
        usage = (synth.get("usage") or {}).get("backend") or {}
        params = ", ".join(
            f"{k}={v}" for k, v in (synth.get("parameters") or {}).items() if not isinstance(v, dict)
        )
        console.print(
            f"[bold]{stage}[/bold] synth {synth['kind']} with {backend.get('backend')} {backend.get('model')}"
            f"{' at ' + backend['base_url'] if backend.get('base_url') else ''}: {params}; "
            f"{usage.get('requests_sent', 0)} samples generated, {usage.get('cache_hits', 0)} from the cache, "
            f"{usage.get('retries', 0)} retries; templates sha256 {str(synth.get('prompt_template_sha256'))[:12]}"
        )
        shown.add("synth")
    opro = extra.get("opro")
    if isinstance(opro, dict) and isinstance(opro.get("trajectory"), list):
        t = Table(title=f"{stage}: OPRO trajectory (score = dev accuracy %)")
        for col in ("step", "score", "instruction"):
            t.add_column(col, justify="left" if col == "instruction" else "right")
        for point in opro["trajectory"][-25:]:
            t.add_row(
                str(point.get("step")), str(point.get("score")), _compact(point.get("instruction"), 100)
            )
        console.print(t)
        best = opro.get("best") or {}
        if best:
            console.print(f"  best instruction (score {best.get('score')}): {best.get('instruction')}")
        shown.add("opro")
    return shown


def _compact(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def load_stage(folder: str | Path) -> StageManifest:
    m = load_manifest(folder)
    if not isinstance(m, StageManifest):
        raise ManifestError(f"{folder}: not a stage folder")
    return m
