"""Errors of the manifests package (it imports nothing from the rest of sciloom)."""


class ManifestError(Exception):
    """A manifest is missing, unreadable or inconsistent with its shards."""

    exit_code = 1


class InvariantError(ManifestError):
    """`in = kept + dropped + quarantined` (+ added) does not hold: a step lost or invented documents."""
