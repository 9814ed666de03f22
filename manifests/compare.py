"""`sciloom manifest diff A B`: what changed between two builds (or two stage folders).

Reports recipe keys that differ (dotted paths), and per stage and source the change in document
counts, drop/quarantine reasons and mix proportions, so a user sees the effect of one threshold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sciloom.manifests.render import summary


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(d, list) and d and all(isinstance(x, dict) and "name" in x for x in d):
        out = {}
        for x in d:
            out.update(flatten({k: v for k, v in x.items() if k != "name"}, f"{prefix}[{x['name']}]"))
        return out
    return {prefix: d}


def _recipe(path: Path) -> dict[str, Any]:
    import json

    f = path / "recipe.json"
    return json.loads(f.read_text()) if f.is_file() else {}


def diff(a: str | Path, b: str | Path) -> dict[str, Any]:
    a, b = Path(a), Path(b)
    ra, rb = flatten(_recipe(a)), flatten(_recipe(b))
    recipe_changes = {
        k: {"a": ra.get(k), "b": rb.get(k)} for k in sorted(set(ra) | set(rb)) if ra.get(k) != rb.get(k)
    }
    sa, sb = summary(a), summary(b)
    stages_a = {s["stage"]: s for s in sa["stages"]}
    stages_b = {s["stage"]: s for s in sb["stages"]}
    stages: dict[str, Any] = {}
    for name in list(dict.fromkeys([*stages_a, *stages_b])):
        xa, xb = stages_a.get(name), stages_b.get(name)
        if xa is None or xb is None:
            stages[name] = {"only_in": "a" if xb is None else "b"}
            continue
        per_source: dict[str, Any] = {}
        for src in sorted(set(xa["sources"]) | set(xb["sources"])):
            ca = flatten(xa["sources"].get(src, {}))
            cb = flatten(xb["sources"].get(src, {}))
            changed = {
                k: {"a": ca.get(k, 0), "b": cb.get(k, 0), "delta": (cb.get(k, 0) or 0) - (ca.get(k, 0) or 0)}
                for k in sorted(set(ca) | set(cb))
                if ca.get(k, 0) != cb.get(k, 0) and not k.startswith("bytes.")
            }
            if changed:
                per_source[src] = changed
        extra_a, extra_b = flatten(xa.get("extra", {})), flatten(xb.get("extra", {}))
        extra = {
            k: {"a": extra_a.get(k), "b": extra_b.get(k)}
            for k in sorted(set(extra_a) | set(extra_b))
            if extra_a.get(k) != extra_b.get(k)
            and isinstance(extra_a.get(k, 0), (int, float, type(None)))
            and isinstance(extra_b.get(k, 0), (int, float, type(None)))
        }
        if per_source or extra:
            stages[name] = {"sources": per_source, "extra": extra}
    found = (a / "recipe.json").is_file() and (b / "recipe.json").is_file()
    return {"a": str(a), "b": str(b), "recipe": recipe_changes, "recipes_found": found, "stages": stages}


def render_diff(d: dict[str, Any], console=None) -> None:
    from rich.table import Table

    from sciloom.manifests.render import wide_console

    console = console or wide_console()
    if not d.get("recipes_found", True):
        console.print("no recipe.json beside these folders (stage folders): recipe not compared")
    elif d["recipe"]:
        t = Table(title="recipe changes")
        for col in ("key", "A", "B"):
            t.add_column(col)
        for k, v in d["recipe"].items():
            t.add_row(k, str(v["a"]), str(v["b"]))
        console.print(t)
    else:
        console.print("recipes are the same")
    t = Table(title=f"counts: A={d['a']}  B={d['b']}")
    for col in ("stage", "source", "count", "A", "B", "B-A"):
        t.add_column(col, justify="right" if col in ("A", "B", "B-A") else "left")
    for stage, v in d["stages"].items():
        if "only_in" in v:
            t.add_row(stage, "", f"only in {v['only_in']}", "", "", "")
            continue
        for src, changes in v["sources"].items():
            for k, c in changes.items():
                t.add_row(
                    stage,
                    src,
                    k,
                    str(c["a"]),
                    str(c["b"]),
                    f"{c['delta']:+d}" if isinstance(c["delta"], int) else str(c["delta"]),
                )
        for k, c in v["extra"].items():
            t.add_row(stage, "(extra)", k, str(c["a"]), str(c["b"]), "")
    console.print(t)
