"""Options of the arXiv extractor (the `[sources.<name>]` options of an arXiv source in a recipe)."""

from __future__ import annotations

from dataclasses import dataclass

from sciloom.corpus.errors import RecipeError

MiB = 1024 * 1024


@dataclass
class ArxivConfig:
    """Limits and output options of `ArxivExtractor`.

    The size limits guard against archive bombs. arXiv caps a submission at 50 MB compressed
    (arxiv.org/help/sizes); the expanded limit leaves room for a 10x ratio of real TeX sources.
    """

    keep_bibliography: bool = True
    """Keep the references as a final `References` section (False: drop them; citations stay)."""
    max_include_depth: int = 20
    """Nesting depth of \\input/\\include/\\subfile/\\import chains; deeper includes are noted, not read.
    TeX Live's own limit on open input files is 15; 20 leaves room for macro-driven includes."""
    max_macro_expansions: int = 200_000
    """User-macro expansions per paper before expansion stops (recursive `\\def\\a{\\a}` guard).
    Real papers need a few thousand (robust-sls: about 2,000)."""
    max_archive_bytes: int = 512 * MiB
    """Total expanded bytes of one submission, nested archives included (zip/gzip bomb guard)."""
    max_input_bytes: int = 256 * MiB
    """Largest single (non-tar) input file read into memory; bulk tars are streamed and exempt."""
    max_members: int = 10_000
    """Members of one submission, nested archives included."""
    max_nesting_depth: int = 3
    """Archives inside archives unpacked (arXiv's file manager unpacks nested uploads in place)."""
    max_text_member_bytes: int = 32 * MiB
    """Largest TeX/bib member kept in memory; larger ones are skipped with a note."""
    min_pdfpages_words: int = 100
    """A body that calls \\includepdf and has fewer words than this is a PDF wrapper (quarantined)."""

    def __post_init__(self) -> None:
        for name in (
            "max_include_depth",
            "max_macro_expansions",
            "max_archive_bytes",
            "max_input_bytes",
            "max_members",
            "max_text_member_bytes",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise RecipeError(f"arxiv.{name} must be a positive integer, got {value!r}")
        for name in ("max_nesting_depth", "min_pdfpages_words"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise RecipeError(f"arxiv.{name} must be a non-negative integer, got {value!r}")
        if not isinstance(self.keep_bibliography, bool):
            raise RecipeError(
                f"arxiv.keep_bibliography must be true or false, got {self.keep_bibliography!r}"
            )
