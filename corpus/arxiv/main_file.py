"""Choose the root document of a submission, deterministically, and say why.

The root is the file LaTeX would be run on: it has an (uncommented) `\\begin{document}`, its
`\\documentclass` is its own or comes from a file it inputs (LearningEquationalTheories keeps it
in `macros.tex`), and no other file includes it. Candidates are ranked by, in order:
1. arXiv's own directives: `00README.json` (`"usage": "toplevel"`) or `00README.XXX`
   (`name toplevelfile`; `name ignore` removes a file);
2. `\\begin{document}` present, then a `\\documentclass`/`\\documentstyle` (own or inherited);
3. not included by another file (`\\input{sections/intro}` makes intro.tex a part);
4. not a `standalone`/`subfiles` class (TikZ figures and chapters compiled on their own);
5. a conventional name (`main`, `ms`, `paper`, ...; FIELD-NOTES 4 "Main file");
6. the larger comment-free file, then the shorter path, then the path itself.
Comments are removed first, so a commented-out `%\\documentclass` decides nothing.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass

from sciloom.corpus.arxiv.includes import BEGIN_DOCUMENT, DOCUMENTCLASS, SourceTree
from sciloom.corpus.errors import InputError

NO_TEX_SOURCE = "no_tex_source"
NO_MAIN_FILE = "no_main_file"
EMPTY_ARCHIVE = "empty_archive"

HINT_NAMES = ("main", "ms", "paper", "article", "manuscript", "arxiv", "root")
SECONDARY_CLASSES = {"standalone", "subfiles"}
INCLUDE_ARG = re.compile(
    r"\\(?:input|include|subfile|@input|import|subimport)\s*\*?\s*(?:\{([^{}]*)\}\s*)?\{([^{}]*)\}"
)
INPUT_BARE = re.compile(r"\\input\s+([^\s{}\\]+)")
DOC_SUFFIXES = {".pdf": "PDF", ".ps": "PostScript", ".eps": "PostScript", ".htm": "HTML", ".html": "HTML"}


@dataclass(frozen=True)
class MainChoice:
    path: str
    reason: str
    candidates: tuple[str, ...]


def readme_directives(tree: SourceTree) -> tuple[set[str], set[str]]:
    """(toplevel files, ignored files) from arXiv's 00README.json / 00README.XXX."""
    top: set[str] = set()
    ignore: set[str] = set()
    for path, data in tree.files.items():
        base = posixpath.basename(path)
        if data is None or not base.startswith("00README"):
            continue
        folder = posixpath.dirname(path)
        text = (tree.decoded(path) or "").strip()
        if base == "00README.json":
            try:
                sources = json.loads(text).get("sources", [])
            except (ValueError, AttributeError):
                continue
            for src in sources if isinstance(sources, list) else []:
                if isinstance(src, dict) and src.get("filename"):
                    target = posixpath.join(folder, str(src["filename"]))
                    if src.get("usage") == "toplevel":
                        top.add(target)
                    elif src.get("usage") == "ignore":
                        ignore.add(target)
            continue
        for line in text.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[1] in ("toplevelfile", "toplevel"):
                top.add(posixpath.join(folder, parts[0]))
            elif len(parts) >= 2 and parts[1] == "ignore":
                ignore.add(posixpath.join(folder, parts[0]))
    return top, ignore


def referenced_paths(tree: SourceTree, paths: list[str]) -> set[str]:
    """Files that another file includes literally (`\\input{sections/intro}` -> sections/intro.tex)."""
    found: set[str] = set()
    for path in paths:
        text = tree.clean(path) or ""
        folder = posixpath.dirname(path)
        names = [m.group(2) for m in INCLUDE_ARG.finditer(text)] + INPUT_BARE.findall(text)
        for name in names:
            target = tree.resolve(name, [folder, ""])
            if target is not None and target != path:
                found.add(target)
    return found


def choose_main_file(tree: SourceTree) -> MainChoice:
    """The root .tex of a submission; raises InputError when there is none."""
    top, ignore = readme_directives(tree)
    tex = [p for p in tree.tex_paths() if p not in ignore]
    if not tex:
        raise no_tex_error(tree)
    referenced = referenced_paths(tree, tex)
    ranked = []
    for path in tex:
        text = tree.clean(path) or ""
        if not text.strip():
            continue
        has_begin = BEGIN_DOCUMENT.search(text) is not None
        cls = DOCUMENTCLASS.search(text)
        if not has_begin and cls is None:
            continue
        stem = posixpath.splitext(posixpath.basename(path))[0].lower()
        cls_name = cls.group(1).strip() if cls else ""
        ranked.append(
            (
                (
                    path in top,
                    has_begin,
                    path not in referenced,
                    cls_name not in SECONDARY_CLASSES,
                    cls is not None or _inherits_class(tree, text),
                    stem in HINT_NAMES,
                    len(text),
                    -path.count("/"),
                ),
                path,
            )
        )
    if not ranked:
        raise no_tex_error(tree, tex)
    ranked.sort(key=lambda item: (item[0], [-ord(ch) for ch in item[1]]), reverse=True)
    best_key, best = ranked[0]
    why = (
        "00README toplevel"
        if best_key[0]
        else "only candidate"
        if len(ranked) == 1
        else "has \\begin{document}, not included, highest rank (name hint, size)"
    )
    return MainChoice(best, why, tuple(p for _, p in ranked))


def _inherits_class(tree: SourceTree, text: str) -> bool:
    return any(
        DOCUMENTCLASS.search(tree.clean(p) or "")
        for p in tree.tex_paths()
        if posixpath.basename(p)[:-4] in text
    )


def no_tex_error(tree: SourceTree, tex: list[str] | None = None) -> InputError:
    """The most precise reason a submission has no usable TeX."""
    nonempty = [p for p, size in _sizes(tree).items() if size > 0]
    if not nonempty:
        return InputError(EMPTY_ARCHIVE, f"{len(tree.files)} members, none with content")
    if tex:
        return InputError(
            NO_MAIN_FILE, f"no file has \\begin{{document}} or \\documentclass among {', '.join(tex[:5])}"
        )
    kinds = sorted(
        {DOC_SUFFIXES[s] for p in nonempty if (s := posixpath.splitext(p.lower())[1]) in DOC_SUFFIXES}
    )
    packages = [p for p in nonempty if p.lower().endswith((".sty", ".cls", ".dtx", ".ins"))]
    if kinds:
        detail = f"{'/'.join(kinds)} only, no TeX source"
    elif packages:
        detail = f"TeX packages only ({', '.join(packages[:3])}), no document"
    else:
        detail = f"no .tex file among {', '.join(sorted(nonempty)[:5])}"
    return InputError(NO_TEX_SOURCE, detail)


def _sizes(tree: SourceTree) -> dict[str, int]:
    return {p: (len(d) if d is not None else 1) for p, d in tree.files.items()}
