"""`sciloom manifest verify`: re-hash shards, re-check the ledger, check the stage chain.

Checks, per stage folder: every shard listed exists and has the recorded sha256 and row count;
no unlisted shard lies in `docs/`; the per-source counts balance; the kept count equals the rows
on disk; each `input_manifests` entry still matches the manifest of the stage it names (so a
stage's input is the previous stage's output as it is now). For a build: each stage manifest's
sha256 matches the build manifest. Returns a list of problems (empty = verified).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from sciloom.manifests.checksums import sha256_file
from sciloom.manifests.errors import ManifestError
from sciloom.manifests.ledger import Counts
from sciloom.manifests.schema import MANIFEST_NAME, read_manifest_dict


def verify_stage(folder: Path) -> list[str]:
    problems: list[str] = []
    m = read_manifest_dict(folder)
    name = m.get("stage", folder.name)
    listed = set()
    rows_on_disk = 0
    for shard in m.get("shards", []):
        path = folder / shard["path"]
        listed.add(path.resolve())
        if not path.is_file():
            problems.append(f"{name}: shard {shard['path']} is missing")
            continue
        if sha256_file(path) != shard["sha256"]:
            problems.append(f"{name}: shard {shard['path']} was modified (sha256 differs)")
            continue
        rows = pq.ParquetFile(path).metadata.num_rows
        rows_on_disk += rows
        if rows != shard["rows"]:
            problems.append(f"{name}: shard {shard['path']} has {rows} rows, manifest says {shard['rows']}")
    for path in sorted((folder / "docs").glob("*.parquet")):
        if path.resolve() not in listed:
            problems.append(f"{name}: shard docs/{path.name} is not in the manifest")
    kept = 0
    for source, c in m.get("sources", {}).items():
        counts = Counts.from_dict(c)
        kept += counts.docs["kept"]
        if not counts.balanced():
            d = counts.docs
            problems.append(
                f"{name}: {source} does not balance: in {d['in']} + added {d['added']} != kept {d['kept']}"
                f" + dropped {d['dropped']} + quarantined {d['quarantined']}"
            )
    if (
        m.get("shards") is not None
        and kept != rows_on_disk
        and not any("missing" in p or "modified" in p for p in problems)
    ):
        problems.append(f"{name}: manifest keeps {kept} documents but the shards hold {rows_on_disk}")
    problems.extend(verify_token_files(name, m, folder))
    for ref in m.get("input_manifests", []):
        # A sibling folder of that name first (a build moved or copied as a whole), else the path.
        src = folder.parent / Path(ref["dir"]).name
        if not (src / MANIFEST_NAME).is_file():
            src = Path(ref["dir"])
        manifest = src / MANIFEST_NAME
        if not manifest.is_file():
            problems.append(f"{name}: input stage {ref['dir']} has no manifest")
        elif "sha256" in ref and sha256_file(manifest) != ref["sha256"]:
            problems.append(f"{name}: input stage {src.name} changed since this stage read it")
    return problems


def verify_token_files(name: str, m: dict, folder: Path) -> list[str]:
    """Re-hash the Megatron datasets a tokenize stage recorded (`extra.tokenize.datasets`)."""
    problems = []
    datasets = ((m.get("extra") or {}).get("tokenize") or {}).get("datasets") or {}
    for source, info in datasets.items():
        # `path` is relative to the stage folder (survives moving the build), `prefix` absolute.
        prefix = str(folder / info["path"]) if info.get("path") else info.get("prefix")
        for suffix in ("bin", "idx"):
            digest = info.get(f"{suffix}_sha256")
            if not prefix or not digest:
                continue
            path = Path(f"{prefix}.{suffix}")
            if not path.is_file():
                problems.append(f"{name}: {source} dataset {path.name} is missing")
            elif sha256_file(path) != digest:
                problems.append(f"{name}: {source} dataset {path.name} was modified (sha256 differs)")
    return problems


def verify(path: str | Path) -> list[str]:
    """Verify a build folder or a single stage folder."""
    path = Path(path)
    top = read_manifest_dict(path)
    if top.get("kind") == "stage":
        return verify_stage(path)
    if top.get("kind") != "build":
        raise ManifestError(f"{path}: unknown manifest kind {top.get('kind')!r}")
    problems: list[str] = []
    for stage in top.get("stages", []):
        folder = path / stage["dir"]
        manifest = folder / MANIFEST_NAME
        if not manifest.is_file():
            if "manifest_sha256" in stage:
                problems.append(f"{stage['name']}: stage manifest is missing")
            continue
        if "manifest_sha256" in stage and sha256_file(manifest) != stage["manifest_sha256"]:
            problems.append(f"{stage['name']}: stage manifest differs from the one the build recorded")
        problems.extend(verify_stage(folder))
    outputs = top.get("outputs") or {}
    if outputs.get("tokenizer") and outputs.get("tokenizer_sha256"):
        tok = path / outputs["tokenizer"]
        if not tok.is_file() or sha256_file(tok) != outputs["tokenizer_sha256"]:
            problems.append(f"tokenizer {outputs['tokenizer']} is missing or modified")
    return problems
