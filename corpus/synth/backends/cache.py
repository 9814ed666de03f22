"""On-disk cache of completions, one small JSON file per (request, sample index).

The key is the sha256 of the backend identity (backend, model, API route: `completions` or
`chat`; not the host, so a server restarted on another node is still the same model), the prompt,
the sampling parameters, the seed and the sample index, so a resumed or repeated stage asks the model
only for what it has not got: paid API calls and GPU hours are spent once. Files are written to a
temporary name and renamed, so concurrent tasks and a kill mid-write never leave a torn entry;
a corrupt entry (disk trouble) is treated as missing. Failures are never cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def cache_key(identity: dict[str, Any], prompt: str, params: dict[str, Any], seed: int, index: int) -> str:
    blob = json.dumps(
        {"identity": identity, "prompt": prompt, "params": params, "seed": seed, "index": index},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class RequestCache:
    """`get(key)` / `put(key, text)` under `root/<2 hex>/<key>.json`; `root=None` disables it."""

    def __init__(self, root: str | os.PathLike | None) -> None:
        self.root = Path(root) if root is not None else None
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> str | None:
        if self.root is None:
            return None
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
            text = entry["text"]
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        self.hits += 1
        return text

    def put(self, key: str, text: str, meta: dict[str, Any] | None = None) -> None:
        if self.root is None:
            return
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"text": text, **(meta or {})}, fh, ensure_ascii=False)
        os.replace(tmp, path)
