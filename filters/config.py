"""Config dataclasses of the three filter stages: `[filters]`, `[dedup]`, `[decontam]` recipe sections.

Plain dataclasses with defaults; every field says its unit and where its default comes from, and
`__post_init__` rejects a bad value with a `RecipeError` that names the field
(`filters.min_words`), as the recipe loader does for unknown keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sciloom.corpus.errors import RecipeError

DEDUP_MODES = ("local", "datatrove", "incremental")
DECONTAM_ACTIONS = ("drop", "mask")
KEEP_RULES = ("longest",)


def _check(cond: bool, section: str, name: str, value: object, why: str) -> None:
    if not cond:
        raise RecipeError(f"{section}.{name} = {value!r}: {why}")


def _fraction(section: str, name: str, value: float) -> None:
    _check(isinstance(value, (int, float)) and 0.0 <= value <= 1.0, section, name, value, "must be in [0, 1]")


@dataclass
class FilterConfig:
    """Language id and math-aware quality rules (`[filters]`)."""

    languages: list[str] = field(default_factory=lambda: ["en"])
    """ISO 639-1 codes to keep (fastText lid.176 labels). Default English, as Minerva/OpenWebMath."""
    min_language_score: float = 0.5
    """Minimum LID probability of the best kept language, measured on the text with math removed.
    0.5 is between MathPile's 0.3 (too loose on mixed pages) and FineWeb's 0.65 (drops math pages)."""
    arxiv_sources: list[str] = field(default_factory=lambda: ["arxiv"])
    """Source names (or name prefixes) that get the light arXiv LaTeX rules; every other source gets
    the web rules."""
    skip_sources: list[str] = field(default_factory=list)
    """Source names passed through untouched (e.g. curated prompt data)."""
    min_words: int = 50
    """Web: minimum words of prose plus math spans (Gopher: 50)."""
    max_words: int = 200_000
    """Web: maximum words (Gopher: 100,000; doubled because display math inflates word counts)."""
    arxiv_min_chars: int = 500
    """arXiv: minimum characters of the extracted paper (a stub or a withdrawn notice is shorter)."""
    max_symbol_word_ratio: float = 0.1
    """Web: maximum ratio of `#` and `...` symbols to words, math masked (Gopher: 0.1)."""
    max_non_alpha_words: float = 0.5
    """Web: maximum fraction of prose words without a letter, math masked (Gopher keeps 80% with a
    letter, i.e. 0.2; MathPile 0.8 on unmasked text; 0.5 since tables of numbers are math content)."""
    max_bullet_lines: float = 0.9
    """Web: maximum fraction of lines starting with a bullet (Gopher: 0.9)."""
    max_ellipsis_lines: float = 0.3
    """Web: maximum fraction of lines ending with an ellipsis (Gopher: 0.3)."""
    max_duplicate_line_fraction: float = 0.5
    """Web: maximum fraction of duplicated lines of 4+ words, formulas hashed (Gopher: 0.3). Real math
    forums quote earlier posts and repeat footers: a Math Help Forum thread measures 0.32, the
    tetration forum thread of web-math 0.30; spam that repeats itself measures 0.6+."""
    max_duplicate_line_char_fraction: float = 0.5
    """Web: maximum fraction of characters in duplicated lines (Gopher: 0.2; the quoting forum
    thread measures 0.43)."""
    max_duplicate_5gram_fraction: float = 0.5
    """Web: maximum fraction of characters in duplicated word 5-grams; 6- to 10-grams scale down to
    `max_duplicate_10gram_fraction` (Gopher: 0.15 .. 0.10; real math pages of web-math measure up to
    0.38, the quoting forum thread; a page that repeats one paragraph measures 0.8+)."""
    max_duplicate_10gram_fraction: float = 0.45
    """Web: the same for word 10-grams (Gopher: 0.10; the quoting forum thread measures 0.37)."""
    max_top_2gram_fraction: float = 0.2
    """Both: maximum character fraction of the most frequent prose word 2-gram (Gopher: 0.2)."""
    min_stop_words: int = 2
    """Web: minimum English stop words in the prose (Gopher: 2); applied only when `en` is the
    detected language."""
    max_non_alnum_fraction: float = 0.5
    """arXiv: maximum fraction of characters that are neither alphanumeric nor whitespace, over the
    whole text (LaTeX included). Real papers measure 0.08-0.25; tables of digits and TikZ dumps exceed."""
    max_line_repeat_fraction: float = 0.5
    """arXiv: maximum fraction of non-empty lines that repeat an earlier line (generated garbage)."""
    require_math_web: bool = True
    """Web: drop pages without any math signal (TeX span, TeX command, or formula-like line); the
    web source of a math corpus is math pages (OpenWebMath's MathScore plays this role)."""

    def __post_init__(self) -> None:
        s = "filters"
        _check(
            isinstance(self.languages, list) and all(isinstance(x, str) for x in self.languages),
            s,
            "languages",
            self.languages,
            "must be a list of language codes",
        )
        for name in (
            "min_language_score",
            "max_symbol_word_ratio",
            "max_non_alpha_words",
            "max_bullet_lines",
            "max_ellipsis_lines",
            "max_duplicate_line_fraction",
            "max_duplicate_line_char_fraction",
            "max_top_2gram_fraction",
            "max_non_alnum_fraction",
            "max_line_repeat_fraction",
        ):
            _fraction(s, name, getattr(self, name))
        for name in ("min_words", "max_words", "arxiv_min_chars", "min_stop_words"):
            v = getattr(self, name)
            _check(isinstance(v, int) and v >= 0, s, name, v, "must be a non-negative integer")
        _check(
            self.max_words > self.min_words, s, "max_words", self.max_words, "must exceed filters.min_words"
        )


@dataclass
class DedupConfig:
    """Exact and MinHash near-duplicate removal (`[dedup]`)."""

    mode: str = "local"
    """`local` (numpy, one machine), `datatrove` (its 4-stage MinHash on its executors) or
    `incremental` (datasketch MinHashLSH against `index`). Same parameters give the same clusters."""
    exact: bool = True
    """Drop exact duplicates (same normalised text hash) before MinHash (NeMo: up to 40% of dups)."""
    near: bool = True
    """Run MinHash near-duplicate detection."""
    ngram: int = 5
    """Shingle size in normalised words (datatrove, FineWeb: 5)."""
    num_bands: int = 16
    """LSH bands b (FIELD-NOTES 6: 16x8 gives P(candidate | J=0.8) = 0.95; never datasketch's optimiser)."""
    rows_per_band: int = 8
    """LSH rows per band r; b * r hashes per signature (128)."""
    threshold: float = 0.7
    """Candidate verification: minimum signature similarity (estimated Jaccard). 0.7 keeps ~99.8% of
    pairs at J=0.8 (sd 0.035 with 128 hashes) and rejects band collisions of pairs below 0.5."""
    seed: int = 1
    """Seed of the 128 hash permutations; signatures are only comparable with the same seed."""
    keep: str = "longest"
    """Which document of a cluster survives: `longest` (most non-whitespace characters, ties -> smallest id).
    In incremental mode a document of the existing corpus always wins."""
    index: str | None = None
    """Incremental mode: an earlier dedup stage folder (or its `minhash/` folder) whose stored
    signatures the new documents are checked against; none means a first dump (empty index)."""
    paragraph_dedup: bool = False
    """Remove paragraphs that occur in at least `paragraph_min_docs` documents (boilerplate)."""
    paragraph_min_docs: int = 3
    """Paragraph dedup: a paragraph seen in this many documents is boilerplate (CCNet removes any
    repeated line; 3 keeps a paragraph two papers happen to share)."""
    paragraph_min_chars: int = 20
    """Paragraph dedup: shorter paragraphs (`Proof.`, `$$x=1$$`) are never removed."""
    batch_size: int = 256
    """Documents per vectorised signature batch (256: the per-batch arrays stay in cache; measured
    faster than 1024 on the 2-core box, bench/dedup_signatures.py)."""

    def __post_init__(self) -> None:
        s = "dedup"
        _check(self.mode in DEDUP_MODES, s, "mode", self.mode, f"must be one of {', '.join(DEDUP_MODES)}")
        _check(self.keep in KEEP_RULES, s, "keep", self.keep, f"must be one of {', '.join(KEEP_RULES)}")
        for name in ("ngram", "num_bands", "rows_per_band", "paragraph_min_docs", "batch_size"):
            v = getattr(self, name)
            _check(isinstance(v, int) and v >= 1, s, name, v, "must be a positive integer")
        _check(
            isinstance(self.paragraph_min_chars, int) and self.paragraph_min_chars >= 0,
            s,
            "paragraph_min_chars",
            self.paragraph_min_chars,
            "must be a non-negative integer",
        )
        _check(self.num_perm <= 1024, s, "num_bands", self.num_bands, "bands x rows must be at most 1024")
        _fraction(s, "threshold", self.threshold)
        _check(
            self.index is None or self.mode == "incremental",
            s,
            "index",
            self.index,
            "an index is only read in incremental mode",
        )

    @property
    def num_perm(self) -> int:
        return self.num_bands * self.rows_per_band


@dataclass
class DecontamConfig:
    """Benchmark decontamination (`[decontam]`)."""

    benchmarks: list[str] = field(default_factory=list)
    """Extra benchmark JSONL files (fields like question/problem/query and answer/solution/response)."""
    builtin: bool = True
    """Also check against the shipped GSM8K test and MATH test (MATH-500 is a subset) sets."""
    ngram: int = 13
    """Word n-gram size on normalised words, digits kept (Galactica, FineMath, MegaMath: 13)."""
    min_solution_ngrams: int = 4
    """A document contains an item when it shares one n-gram of the item's question, or this many
    n-grams of its solution (single solution sentences recur in unrelated problems; GSM8K train vs
    test: solution-only overlaps of 1-3 n-grams, all unrelated; a copied solution shares dozens)."""
    min_solution_share: float = 0.3
    """... and at least this share of the solution's n-grams (a copied solution shares most of them;
    a generic sentence such as "60 seconds in a minute and 60 minutes in an hour" a few)."""
    containment_min_tokens: int = 3
    """A question without an indexable n-gram (shorter than `ngram` tokens: 430 of the 5000 MATH
    test problems; or all formula) is matched by containment of its whole folded token sequence
    when it has at least this many tokens (MATH-500's shortest: "Evaluate $\\log_264$.", 3) ..."""
    containment_min_chars: int = 12
    """... and at least this many characters in them: "What is 2+2?" (9) is a phrase of ordinary
    text; 3 of the 5000 MATH test problems are left unmatched (docs/filters.md lists them)."""
    audit_ngram: int = 30
    """A longer n-gram whose hits are counted for audit only (Llemma analysed 30-grams)."""
    action: str = "drop"
    """`drop` the whole document or `mask` only its matching paragraphs."""
    mask_sources: list[str] = field(default_factory=lambda: ["arxiv"])
    """Sources (names or prefixes) whose documents get paragraph masking even when `action` is drop:
    a paper that quotes one problem keeps the rest of its text (FIELD-NOTES 6)."""
    max_hits_reported: int = 1000
    """Cap on the (benchmark item, document) hit pairs listed in the manifest."""

    def __post_init__(self) -> None:
        s = "decontam"
        _check(
            self.action in DECONTAM_ACTIONS,
            s,
            "action",
            self.action,
            f"must be one of {', '.join(DECONTAM_ACTIONS)}",
        )
        for name in (
            "ngram",
            "audit_ngram",
            "max_hits_reported",
            "containment_min_tokens",
            "containment_min_chars",
            "min_solution_ngrams",
        ):
            v = getattr(self, name)
            _check(isinstance(v, int) and v >= 1, s, name, v, "must be a positive integer")
        _check(
            self.audit_ngram >= self.ngram, s, "audit_ngram", self.audit_ngram, "must be >= decontam.ngram"
        )
        _check(isinstance(self.benchmarks, list), s, "benchmarks", self.benchmarks, "must be a list of paths")
        _check(
            self.builtin or bool(self.benchmarks),
            s,
            "builtin",
            self.builtin,
            "with builtin = false, name at least one benchmark file",
        )
