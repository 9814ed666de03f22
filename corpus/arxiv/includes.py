"""The files of a submission as clean TeX, and `\\input`-like commands inlined into the token stream.

`SourceTree` decodes each file once (recording its encoding), removes comments and dead
conditionals, and resolves include names the way LaTeX does: against the main file's folder
(TeX's working directory) as `NAME.tex` then `NAME` (FIELD-NOTES 4, "Flattening"), then against
the including file's folder (`\\subimport`, and authors who think in relative paths), then
case-insensitively, then by a unique base name anywhere in the submission.

`Includer` plugs into the macro `Expander` as hooks, so includes happen *after* expansion and
in document order: includes produced by a macro (`\\inputtikz{x}` -> `\\input{tex/x.tex}`) work,
and macros defined in an included preamble file apply to everything after it. An include chain
deeper than `max_include_depth` or a file that includes itself is noted and skipped; a missing
file is noted, never fatal. A `.sty` of the submission named by `\\usepackage` is read for its
definitions only. An included file that is a standalone document (`\\documentclass{standalone}`,
`subfiles`) contributes its body only.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from sciloom.corpus.arxiv.comments import conditional_switches, strip_comments, strip_conditionals
from sciloom.corpus.arxiv.encoding import decode
from sciloom.corpus.arxiv.latex_text import BIBLIOGRAPHY_COMMAND
from sciloom.corpus.arxiv.macros import DISCARD_OFF, DISCARD_ON, Expander, tokenize

TEX_SUFFIXES = (".tex", ".ltx", ".latex")
BEGIN_DOCUMENT = re.compile(r"\\begin\s*\{document\}")
END_DOCUMENT = re.compile(r"\\end\s*\{document\}")
DOCUMENTCLASS = re.compile(r"\\document(?:class|style)\s*(?:\[[^\]]*\])?\s*\{([^}]*)\}")
EOF_MARK = "\x00eof"
# Files a paper may \input that come from the TeX distribution, not the submission.
SYSTEM_INPUTS = frozenset(
    "epsf psfig epsfig amssym amssym.def amssym.tex mssymb harvmac amstex pictex xy diagrams "
    "tcilatex prepictex postpictex feynmf axodraw".split()
)
INCLUDE_COMMANDS = (
    "\\input",
    "\\@input",
    "\\include",
    "\\subfile",
    "\\import",
    "\\subimport",
    "\\inputfrom",
    "\\subinputfrom",
    "\\includefrom",
    "\\subincludefrom",
)


@dataclass
class SourceTree:
    """Decoded, comment-free TeX of one submission's files, by path."""

    files: dict[str, bytes | None]
    encodings: dict[str, str] = field(default_factory=dict)
    replaced_chars: int = 0
    _clean: dict[str, str] = field(default_factory=dict)
    _lower: dict[str, str] = field(default_factory=dict)
    _by_base: dict[str, list[str]] = field(default_factory=dict)
    newifs: set[str] = field(default_factory=set)
    switches: dict[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for path in self.files:
            self._lower.setdefault(path.lower(), path)
            self._by_base.setdefault(posixpath.basename(path).lower(), []).append(path)
        texts = [self.decoded(p) or "" for p in self.tex_paths()]
        self.newifs, self.switches = conditional_switches(texts)

    def tex_paths(self) -> list[str]:
        return sorted(
            p for p, data in self.files.items() if data is not None and p.lower().endswith(TEX_SUFFIXES)
        )

    def decoded(self, path: str) -> str | None:
        data = self.files.get(path)
        if data is None:
            return None
        if path not in self.encodings:
            result = decode(data)
            self.encodings[path] = result.encoding
            self.replaced_chars += result.replaced
            self._clean[path + "\x00raw"] = result.text
        return self._clean[path + "\x00raw"]

    def clean(self, path: str) -> str | None:
        """The file without comments, comment environments and dead conditional branches."""
        if path in self._clean:
            return self._clean[path]
        raw = self.decoded(path)
        if raw is None:
            return None
        text = strip_conditionals(strip_comments(raw), self.newifs, self.switches)
        self._clean[path] = text
        return text

    def resolve(
        self, name: str, base_dirs: list[str], suffixes: tuple[str, ...] = (".tex", "")
    ) -> str | None:
        name = name.strip().strip('"').replace("\\", "/").lstrip("/")
        if not name:
            return None
        for folder in base_dirs:
            stem = posixpath.normpath(posixpath.join(folder, name))
            for suffix in suffixes:
                cand = stem + suffix if not (suffix and stem.lower().endswith(suffix)) else stem
                if self.files.get(cand) is not None:
                    return cand
                low = self._lower.get(cand.lower())
                if low is not None and self.files.get(low) is not None:
                    return low
        base = posixpath.basename(name).lower()
        for suffix in suffixes:
            matches = [p for p in self._by_base.get(base + suffix, []) if self.files.get(p) is not None]
            if len(matches) == 1:
                return matches[0]
        return None


def document_body(text: str) -> str:
    """Text between `\\begin{document}` and `\\end{document}` (or all of it)."""
    m = BEGIN_DOCUMENT.search(text)
    if m is None:
        return text
    body = text[m.end() :]
    end = END_DOCUMENT.search(body)
    return body[: end.start()] if end else body


def cut_after_end_document(text: str) -> str:
    end = END_DOCUMENT.search(text)
    return text[: end.end()] if end else text


class Includer:
    """Expander hooks that inline included files and the bibliography."""

    def __init__(self, tree: SourceTree, main: str, max_depth: int):
        self.tree = tree
        self.main = main
        self.main_dir = posixpath.dirname(main)
        self.max_depth = max_depth
        self.chain: list[str] = [main]
        self.included: list[str] = []
        self.missing: list[str] = []
        self.system: list[str] = []
        self.skipped: list[str] = []  # cycles and depth limit
        self.packages: list[str] = []
        self.bbl: str | None = None
        self.bibliography_calls = 0

    def hooks(self) -> dict:
        table = dict.fromkeys(INCLUDE_COMMANDS, self._include)
        table.update(
            {
                "\\usepackage": self._usepackage,
                "\\RequirePackage": self._usepackage,
                "\\bibliography": self._bibliography,
                "\\printbibliography": self._bibliography,
            }
        )
        return table

    def install(self, ex: Expander) -> None:
        ex.hooks.update(self.hooks())
        ex.markers[EOF_MARK] = self._end_of_file

    # -- includes -------------------------------------------------------------------------------
    def _include(self, ex: Expander, cmd: str) -> None:
        folder = ""
        if cmd in (
            "\\import",
            "\\subimport",
            "\\inputfrom",
            "\\subinputfrom",
            "\\includefrom",
            "\\subincludefrom",
        ):
            ex.read_star()
            group = ex.read_group() if ex.peek() == "{" else None
            folder = ex.expand_isolated(group) if group is not None else ""
        name = self._read_file_name(ex)
        if name is None:
            return
        current = posixpath.dirname(self.chain[-1])
        if cmd in ("\\subimport", "\\subinputfrom", "\\subincludefrom"):
            bases = [posixpath.join(current, folder), posixpath.join(self.main_dir, folder)]
        elif folder:
            bases = [posixpath.join(self.main_dir, folder), folder, posixpath.join(current, folder)]
        else:
            bases = [self.main_dir, current]
        suffixes = (".tex",) if cmd == "\\include" else (".tex", "")
        target = posixpath.join(folder, name) if folder else name
        path = self.tree.resolve(name, bases, suffixes) or self.tree.resolve(name, bases, (".tex", ""))
        if path is None:
            stem = posixpath.basename(name).lower()
            (
                self.system if stem in SYSTEM_INPUTS or stem.endswith((".sty", ".def")) else self.missing
            ).append(target)
            return
        if path in self.chain or len(self.chain) > self.max_depth:
            self.skipped.append(path)
            return
        text = self.tree.clean(path) or ""
        if BEGIN_DOCUMENT.search(text) and DOCUMENTCLASS.search(text):
            text = document_body(text)  # a standalone/subfiles document: its body only
        self.included.append(path)
        self.chain.append(path)
        ex.push([*tokenize(text), EOF_MARK])

    def _read_file_name(self, ex: Expander) -> str | None:
        tok = ex.peek()
        if tok is None:
            return None
        if tok == "{":
            group = ex.read_group()
            return ex.expand_isolated(group) if group is not None else None
        # TeX syntax `\input file.tex`: the name runs to the next blank.
        parts: list[str] = []
        while ex.stack and not ex.stack[-1].isspace() and ex.stack[-1][0] not in "\\{}" and len(parts) < 20:
            parts.append(ex.stack.pop())
        return "".join(parts) or None

    def _end_of_file(self, ex: Expander, tok: str) -> None:
        if len(self.chain) > 1:
            self.chain.pop()

    def _usepackage(self, ex: Expander, cmd: str) -> None:
        ex.read_optional()
        group = ex.read_group() if ex.peek() == "{" else None
        if group is None:
            return
        ex.read_optional()  # date
        for name in ex.expand_isolated(group).split(","):
            name = name.strip()
            path = self.tree.resolve(name, [self.main_dir], (".sty",)) if name else None
            if path is None or path in self.chain or len(self.chain) > self.max_depth:
                continue
            self.packages.append(path)
            self.chain.append(path)
            ex.push(
                [DISCARD_ON, "\\makeatletter", *tokenize(self.tree.clean(path) or ""), DISCARD_OFF, EOF_MARK]
            )

    # -- bibliography ---------------------------------------------------------------------------
    def _bibliography(self, ex: Expander, cmd: str) -> None:
        names: list[str] = []
        if cmd == "\\bibliography":
            group = ex.read_group() if ex.peek() == "{" else None
            if group is not None:
                names = [n.strip() for n in ex.expand_isolated(group).split(",") if n.strip()]
        else:
            ex.read_optional()
        self.bibliography_calls += 1
        bbl = self.find_bbl(names)
        if bbl is not None and self.bibliography_calls == 1:
            text = self.tree.clean(bbl) or ""
            if "\\bibitem" in text:
                self.bbl = bbl
                self.included.append(bbl)
                self.chain.append(bbl)
                ex.push([*tokenize(text), EOF_MARK])
                return
        ex.push(["\\" + BIBLIOGRAPHY_COMMAND])  # rendered from .bib/biblatex entries

    def find_bbl(self, names: list[str]) -> str | None:
        stems = [posixpath.splitext(self.main)[0], *(posixpath.join(self.main_dir, n) for n in names)]
        for stem in stems:
            for cand in (stem + ".bbl", stem):
                if cand.lower().endswith(".bbl") and self.tree.files.get(cand) is not None:
                    return cand
        bbls = [p for p, d in self.tree.files.items() if p.lower().endswith(".bbl") and d]
        return bbls[0] if len(bbls) == 1 else None
