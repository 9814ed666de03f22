"""`ArxivExtractor`: a reader step turning arXiv sources into one document per submission.

The work is done by the pure modules (`archive`, `main_file`, `includes`, `macros`,
`latex_text`, `bibliography`); this file wires them and turns failures into quarantine
entries: an unreadable input or bulk-tar member is quarantined alone, with its reason, and the
rest of the input goes on.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from datatrove.data import Document

from sciloom.corpus.arxiv.archive import FailedSubmission, Submission, iter_submissions
from sciloom.corpus.arxiv.bibliography import Reference, parse_bib, parse_bibitems, parse_biblatex_bbl
from sciloom.corpus.arxiv.config import ArxivConfig
from sciloom.corpus.arxiv.includes import (
    BEGIN_DOCUMENT,
    END_DOCUMENT,
    Includer,
    SourceTree,
    cut_after_end_document,
)
from sciloom.corpus.arxiv.latex_text import LatexToText
from sciloom.corpus.arxiv.macros import Expander, join_tokens, tokenize
from sciloom.corpus.arxiv.main_file import choose_main_file
from sciloom.corpus.errors import InputError
from sciloom.corpus.record import make_document
from sciloom.corpus.step import SciloomReader

logger = logging.getLogger(__name__)

EXTRACTOR = "sciloom.arxiv"
PDFPAGES_WRAPPER = "pdfpages_wrapper"
EMPTY_TEXT = "empty_text"
EXTRACTION_ERROR = "extraction_error"
TITLE = re.compile(r"\\title\s*(?:\[[^\]]*\])?\s*\{")
PREAMBLE_ABSTRACT = re.compile(r"\\(?:abstract|Abstract)\s*\{")  # classes taking the abstract as an argument
STAT_PREFIX = "arxiv_"
WORD = re.compile(r"[A-Za-z]{2,}")
FORMULA = re.compile(r"\$[^$]*\$")
CONTROL_WORD = re.compile(r"\\[A-Za-z@]+")


@dataclass
class Extraction:
    """One paper's text and what the extractor knows about it."""

    text: str
    provenance: dict[str, Any] = field(default_factory=dict)
    signals: dict[str, Any] = field(default_factory=dict)


def extract_submission(sub: Submission, config: ArxivConfig) -> Extraction:
    """Files of one submission -> text, provenance and quality signals. Raises InputError."""
    tree = SourceTree(sub.files)
    choice = choose_main_file(tree)
    includer = Includer(tree, choice.path, config.max_include_depth)
    expander = Expander(config.max_macro_expansions)
    includer.install(expander)
    main = cut_after_end_document(tree.clean(choice.path) or "")
    expanded = join_tokens(expander.expand(tokenize(main)))

    begin = BEGIN_DOCUMENT.search(expanded)
    preamble, body = (expanded[: begin.start()], expanded[begin.end() :]) if begin else ("", expanded)
    end = END_DOCUMENT.search(body)
    body = body[: end.start()] if end else body

    converter = LatexToText(theorems=expander.theorems, keep_bibliography=config.keep_bibliography)
    converter.refs = collect_references(tree, expanded, converter.text_of)
    converted = converter.convert(body)
    title = _title(preamble, converter)
    abstract = _preamble_abstract(preamble, converter) if "## Abstract" not in converted.text else ""
    text = (
        (f"# {title}\n\n" if title and title not in converted.text[:500] else "")
        + (f"## Abstract\n\n{abstract}\n\n" if abstract else "")
        + converted.text
    )

    if "\\includepdf" in body:  # the word count is only needed here (6% of the time if done always)
        words = len(WORD.findall(FORMULA.sub(" ", converted.text)))
        if words < config.min_pdfpages_words:
            raise InputError(
                PDFPAGES_WRAPPER, f"body is \\includepdf of a PDF with {words} words of TeX text"
            )
    if not text.strip():
        raise InputError(EMPTY_TEXT, f"main file {choice.path} has no text")

    leftover = _count_leftover(text, set(expander.macros))
    unresolved_macros = leftover + (expander.num_unresolved if expander.limit_hit else 0)
    provenance = {
        "input": sub.input,
        "member": sub.member,
        "sha256": sub.sha256,
        "extractor": EXTRACTOR,
        "container": sub.container,
        "arxiv_id": sub.arxiv_id,
        "main_file": choice.path,
        "main_file_reason": choice.reason,
        "main_candidates": list(choice.candidates),
        "encoding": tree.encodings.get(choice.path, "utf-8"),
        "encodings": {
            p: e
            for p, e in sorted(tree.encodings.items())
            if e not in ("utf-8", "utf-8-sig") or p == choice.path
        },
        "included_files": includer.included,
        "missing_includes": includer.missing,
        "system_includes": includer.system,
        "skipped_includes": includer.skipped,
        "packages_read": includer.packages,
        "bbl": includer.bbl,
        "macros_defined": expander.num_definitions,
        "macros_expanded": expander.num_expansions,
        "notes": sub.notes,
    }
    signals = {
        "length_chars": len(text),
        "math_fraction": round(converted.math_chars / max(1, len(text)), 4),
        "num_formulas": converted.num_formulas,
        "num_cites": converted.num_cites,
        "num_cites_resolved": converted.num_cites_resolved,
        "unresolved_macros": unresolved_macros,
        "unresolved_includes": len(includer.missing) + len(includer.skipped),
        "replaced_chars": tree.replaced_chars,
        "macro_limit_hit": expander.limit_hit,
    }
    return Extraction(text, provenance, signals)


def collect_references(tree: SourceTree, expanded: str, to_text) -> dict[str, Reference]:
    """Citation key -> reference: the paper's \\bibitems beat biblatex .bbl entries beat .bib files."""
    refs: dict[str, Reference] = {}
    for path in sorted(p for p, d in tree.files.items() if d and p.lower().endswith(".bib")):
        refs.update(parse_bib(tree.decoded(path) or "", to_text))
    for path in sorted(p for p, d in tree.files.items() if d and p.lower().endswith(".bbl")):
        text = tree.decoded(path) or ""
        if "\\entry" in text:
            refs.update(parse_biblatex_bbl(text, to_text))
    if "\\bibitem" in expanded:
        refs.update(parse_bibitems(expanded, to_text))
    return refs


def _title(preamble: str, converter: LatexToText) -> str:
    from sciloom.corpus.arxiv.bibliography import balanced_group

    m = TITLE.search(preamble)
    if m is None:
        return ""
    group, _ = balanced_group(preamble, m.end() - 1)
    return converter.text_of(group)


def _preamble_abstract(preamble: str, converter: LatexToText) -> str:
    from sciloom.corpus.arxiv.bibliography import balanced_group

    m = PREAMBLE_ABSTRACT.search(preamble)
    if m is None:
        return ""
    group, _ = balanced_group(preamble, m.end() - 1)
    return converter.text_of(group)


def _count_leftover(text: str, names: set[str]) -> int:
    """User macros still present as `\\name` (not followed by a letter) in the output."""
    if not names:
        return 0
    return sum(1 for word in CONTROL_WORD.findall(text) if word in names)


def document_id(sub: Submission) -> str:
    if sub.arxiv_id:
        return f"arxiv:{sub.arxiv_id}"
    name = posixpath.basename(sub.member or sub.name)
    for suffix in (".tar.gz", ".tgz", ".gz", ".tar", ".zip", ".tex"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return f"arxiv:{name}"


class ArxivExtractor(SciloomReader):
    """Reader step: arXiv source files (submissions or bulk tars) -> one Document per paper."""

    name = "arxiv extract"

    def __init__(self, paths: list[str], source: str = "arxiv", config: ArxivConfig | None = None) -> None:
        super().__init__(paths, source)
        self.config = config or ArxivConfig()

    def read(self, path: str) -> Iterable[Document]:
        for item in iter_submissions(path, self.config):
            if isinstance(item, FailedSubmission):
                self._quarantine(item.input, item.member, item.error, item.data, item.nbytes)
                continue
            if item.sha256 is None and item.member is None:
                item.sha256 = _file_sha256(path)
            with self.track_time():
                try:
                    result = extract_submission(item, self.config)
                except InputError as err:
                    self._quarantine(item.input, item.member, err, None, item.nbytes)
                    continue
                except (RecursionError, ValueError, IndexError, KeyError, TypeError, AttributeError) as err:
                    # A bug or a pathological source must cost one paper, not the stage: the paper is
                    # quarantined with the exception, and the log keeps the traceback.
                    logger.exception("extraction failed for %s %s", item.input, item.member or "")
                    err_input = InputError(EXTRACTION_ERROR, f"{type(err).__name__}: {err}")
                    self._quarantine(item.input, item.member, err_input, None, item.nbytes)
                    continue
            self.count_in(self.source, item.nbytes)
            for key in ("unresolved_macros", "unresolved_includes", "num_formulas", "num_cites"):
                self.stat_update(STAT_PREFIX + key, value=int(result.signals[key]))
            yield make_document(
                document_id(item),
                result.text,
                self.source,
                url=f"https://arxiv.org/abs/{item.arxiv_id}" if item.arxiv_id else None,
                metadata={"arxiv": result.signals},
                provenance=result.provenance,
            )

    def _quarantine(
        self, input: str, member: str | None, err: InputError, data: bytes | None, nbytes: int
    ) -> None:
        self.quarantine(
            input=input,
            member=member,
            reason=err.reason,
            detail=err.detail,
            source=self.source,
            data=data,
            nbytes=nbytes if data is None else None,
            count_in=True,
        )


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
