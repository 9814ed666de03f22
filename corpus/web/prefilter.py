"""Raw-HTML math prefilter: does a page hold any math markup at all? One byte scan, no parse.

In a crawl, 90% or more of the pages hold no math, and a math corpus build wants none of them;
decoding, parsing and extracting such a page costs ~20 ms, scanning its bytes ~0.1 ms
(bench/RESULTS.md, web section). A page the scan finds nothing in is dropped before it is
decoded (`no_math_markers`, counted in the manifest); every other page is extracted as usual,
so the scan may let a non-math page through, never the other way round.

What counts as a marker is every markup family the extractor recovers formulas from
(math_recovery.py), case-blind:

1. anywhere in the page, scripts and attributes included: the renderers and their configs
   (`MathJax`, `KaTeX`, `AsciiMath`, `text/x-mathjax-config`), MathJax script types (`math/tex`,
   `text/tex`, `math/asciimath`, `math/mml`), MathML (`<math`, `<m:math`), MathJax 3 and custom
   math elements (`<mjx-container>`, `<dt-math>`, `<math-tex>`, `<formula>`), Wikipedia's
   `mwe-math-element`, a class naming math (`class="math inline"`, `math-container`, `wp-latex`,
   `equation`), `data-tex`/`data-latex`/`data-formula`/`data-math`, formula-image renderers
   (`latex.php`, CodeCogs, mimeTeX, mathTeX, QuickLaTeX, Google Charts `cht=tx`, Wikimedia's
   `/media/math/`) and an `alt` that holds TeX (`ALT="$x_1$"`, `alt="\\frac..."`);
2. in the text outside `<script>`/`<style>` (jQuery's `$(...)` and template literals' `${}` are
   not math): `$$`, `\\(`, `\\[`, `\\begin{`, BBCode `[tex]`, `[itex]`, `[math]`, `[imath]`,
   `[latex]`, and a `$...$` pair within one text run whose content looks like TeX: a backslash,
   `^`, `_`, `=`, braces, `&lt;`/`&gt;`, a Greek letter or a math symbol (`$n ≥ 2$`), or a short
   token (`$x$`). Two prices (`$5 and $10`) are not a formula.

Not markers: `<sub>`/`<sup>` alone (chemical formulas and footnote marks, not math pages).
Pages in UTF-16/32 (NUL bytes) cannot be scanned as bytes and always pass.

Why Hyperscan rather than `re`: the markers are ~40 alternatives, and Python's `re` tries each at
every byte (~5 ms for one 80 KB page as one regex, ~2 ms as literal `in` probes plus a script
strip), more than the parse it is meant to save; Hyperscan matches them all in one pass of a
compiled automaton (~0.1 ms), and reports script boundaries in the same pass.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

NO_MATH_MARKERS = "no_math_markers"

# One pattern per event kind; ids are the indexes.
STRONG, OPEN, CLOSE, TEXT_TEX = 0, 1, 2, 3
# fmt: off
PATTERNS = (
    # Alternatives as separate expressions: one alternation compiles ~3x slower (0.6 s vs 0.2 s).
    (STRONG, rb"mathjax|katex|asciimath|jsmath|mwe-math|<mjx-"),
    (STRONG, rb"math/(tex|asciimath|mml)|text/(x-)?(tex|latex|asciimath|mml)"),
    (STRONG, rb"<(m:|mml:)?math[\s>/]"),
    (STRONG, rb"data-(tex|latex|formula|math)\b"),
    # custom elements whose name has a math part: <dt-math>, <d-math>, <math-tex>, <x-latex>
    (STRONG, rb"<[a-z0-9]+-(math|tex|latex|katex|formula|equation)[\s>/]"),
    (STRONG, rb"<(math|tex|latex|katex|formula)-[a-z]|<(formula|tex|latex)[\s>]"),
    (STRONG, rb"class\s*=\s*[\"']?[^\"'>]*\b(math|tex|latex|equation|formula|arithmatex)\b"),
    (STRONG, rb"latex\.php|codecogs|mimetex|mathtex|quicklatex|cht=tx|/media/math/|/latexrender|/tex2img"),
    # an `alt` that holds TeX: LaTeX2HTML's `ALT="$x_1$"`, `alt="\frac..."` from any generator
    (STRONG, rb"alt\s*=\s*[\"']\s*(\$|\\[a-z(\[])"),
    (STRONG, rb"alt\s*=\s*[\"'][^\"'>]*\\[a-z]{2,}"),
    (OPEN, rb"<(script|style)\b"),
    (CLOSE, rb"</(script|style)\b"),
    (TEXT_TEX, rb"\$\$|\\\(|\\\[|\\begin\{|\[/?i?(tex|math|latex)\]"),
    # A `$...$` pair in one text run (no tag inside; a raw `a < b` is fine) holding a TeX signal:
    # a backslash, ^ _ = { }, &lt; &gt;, a Greek letter (U+0391..U+03C9) or an arrow or math
    # operator (U+2190..U+22FF) in UTF-8.
    (TEXT_TEX, rb"\$([^$<]|<[\s\d=])*([\\^_={}]|&lt;|&gt;|[\xce\xcf][\x80-\xbf]|\xe2[\x86-\x8b][\x80-\xbf])"
               rb"([^$<]|<[\s\d=])*\$"),
    # ... or a short token: `$x$`, `$n$`, `$f'$`.
    (TEXT_TEX, rb"\$\s*[^\s$<]{1,4}\s*\$"),
)
# fmt: on
_local = threading.local()


def _cache_file() -> Path | None:
    """A user-owned file for the serialised database, named by a hash of the patterns and the
    Hyperscan version (never the shared /tmp), or None when no cache folder can be made."""
    import hyperscan

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sciloom"
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    key = hashlib.sha256(repr((PATTERNS, getattr(hyperscan, "__version__", "0"))).encode()).hexdigest()[:16]
    return base / f"prefilter-{key}.hsdb"


def _compile():
    import hyperscan

    cache = _cache_file()
    if cache is not None and cache.is_file():
        try:  # a database for another CPU or a truncated file fails to load: compile afresh
            db = hyperscan.loadb(cache.read_bytes(), mode=hyperscan.HS_MODE_BLOCK)
            db.scratch = hyperscan.Scratch(db)  # compile() allocates it, loadb() does not
            return db
        except Exception:  # noqa: BLE001
            pass
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(
        expressions=[p for _, p in PATTERNS],
        ids=[i for i, _ in PATTERNS],
        elements=len(PATTERNS),
        flags=[hyperscan.HS_FLAG_CASELESS] * len(PATTERNS),
    )
    if cache is not None:
        try:
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(hyperscan.dumpb(db))
            tmp.replace(cache)  # atomic: parallel workers never read a half-written file
        except OSError:
            pass
    return db


def _database():
    """The Hyperscan database, once per thread (a scan needs its own scratch space). Compiling
    takes ~0.2 s, loading the cached copy from the user cache folder ~1 ms; it is never pickled,
    so the reader step stays cheap to ship to datatrove's workers."""
    db = getattr(_local, "db", None)
    if db is None:
        db = _local.db = _compile()
    return db


class _Scan:
    """Match handler: math found as soon as a STRONG marker or a TEXT_TEX match outside a
    script/style body is seen (Hyperscan reports matches in order of their end offset)."""

    __slots__ = ("in_script", "found")

    def __init__(self) -> None:
        self.in_script = False
        self.found = False

    def __call__(self, id_: int, start: int, end: int, flags: int, context: object) -> bool:  # noqa: ARG002
        if id_ == OPEN:
            self.in_script = True
        elif id_ == CLOSE:
            self.in_script = False
        elif id_ == STRONG or not self.in_script:
            self.found = True
            return True  # stop the scan
        return False


def has_math_markers(data: bytes) -> bool:
    """True when the raw page `data` holds any markup the extractor could take a formula from."""
    if b"\x00" in data[:4096]:
        return True  # UTF-16/32: not scannable as bytes
    import hyperscan

    scan = _Scan()
    try:
        _database().scan(data, match_event_handler=scan)
    except hyperscan.ScanTerminated:
        pass  # raised when the handler stops the scan at the first marker
    return scan.found
