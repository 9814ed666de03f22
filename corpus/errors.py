"""Typed errors for library code; only the CLI turns them into messages and exit codes.

Modelled on dolma's error classes: a `RecipeError` is the user's to fix (exit 2), an `InputError`
means one input cannot be processed and is quarantined while the build goes on, a `StageError`
aborts the current stage (exit 1).
"""

from __future__ import annotations


class SciloomError(Exception):
    """Base of every error sciloom raises on purpose."""

    exit_code = 1


class RecipeError(SciloomError):
    """A recipe, run config or command line that cannot be used as written."""

    exit_code = 2


class UsageError(SciloomError):
    """Bad command-line usage (missing input, unknown option value)."""

    exit_code = 2


class InputError(SciloomError):
    """One input (file, archive member, page) cannot be processed.

    `reason` is a snake_case constant that lands in the manifest's quarantine counts; `detail`
    is the human-readable explanation. Steps catch it and quarantine the input.
    """

    def __init__(self, reason: str, detail: str = "", *, path: str | None = None):
        self.reason = reason
        self.detail = detail
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(f"{where}{reason}" + (f" ({detail})" if detail else ""))


class StageError(SciloomError):
    """A stage could not run at all (no inputs, executor failure)."""
