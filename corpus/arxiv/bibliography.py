"""Reference entries by citation key, for `[START_REF] Title, Author[END_REF]` citations.

Sources, best first: the `thebibliography` entries of the paper (its own `\\bibitem`s or the
shipped `.bbl`, which is what arXiv compiles), a biblatex `.bbl` (`\\entry{key}...\\field{title}`)
and the `.bib` files. For a `\\bibitem`, the title is the second `\\newblock` segment (the
plain/abbrv/natbib layout: authors, title, venue); physics styles have no title and no
`\\newblock`, and then the entry's whole text stands in for it. The format follows Galactica
(Taylor et al. 2022, section 3.1): title, then the first author's surname.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

BIBITEM_START = re.compile(r"\\bibitem(?![A-Za-z@])\s*")
BIB_ENTRY = re.compile(r"@([A-Za-z]+)\s*[{(]\s*([^,\s]+)\s*,")
BIBLATEX_ENTRY = re.compile(r"\\entry\s*\{([^{}]+)\}\s*\{[^{}]*\}\s*\{[^{}]*\}(.*?)\\endentry", re.DOTALL)
BIBLATEX_FIELD = re.compile(r"\\field\s*\{title\}\s*\{")
BIBLATEX_YEAR = re.compile(r"\\field\s*\{year\}\s*\{([^{}]*)\}")
BIBLATEX_FAMILY = re.compile(r"family=\{([^{}]*)\}")
MAX_REF_CHARS = 200
BRACE = re.compile(r"(?<!\\)[{}]")  # a brace not preceded by a backslash (`\\{` is text)


@dataclass(frozen=True)
class Reference:
    key: str
    title: str = ""
    author: str = ""  # first author's surname
    text: str = ""  # the whole entry as text (bibliography section)

    def label(self) -> str:
        """What goes between [START_REF] and [END_REF]."""
        head = self.title or self.text[:MAX_REF_CHARS].strip() or self.key
        return f"{head}, {self.author}" if self.author and self.title else head


def balanced_group(text: str, start: int) -> tuple[str, int]:
    """`text[start]` is `{`: its content and the index after the closing brace."""
    depth = 0
    for m in BRACE.finditer(text, start):  # the braces only: a loop over every character was 4%
        if m.group() == "{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                i = m.start()
                return text[start + 1 : i], i + 1
    return text[start + 1 :], len(text)


@dataclass(frozen=True)
class BibItem:
    start: int  # of `\bibitem`
    body: int  # first character after `{key}`
    key: str


def find_bibitems(latex: str) -> list[BibItem]:
    """`\\bibitem[label]{key}` headers; the label may nest braces (`[{\\citenamefont{A}(2005{b})}]`)."""
    items = []
    for m in BIBITEM_START.finditer(latex):
        pos = m.end()
        if latex.startswith("[", pos):
            depth = 0
            for x in range(pos + 1, len(latex)):
                c = latex[x]
                depth += (c == "{") - (c == "}")
                if c == "]" and depth == 0:
                    pos = x + 1
                    break
            else:
                continue
        while pos < len(latex) and latex[pos] in " \t\n":
            pos += 1
        if not latex.startswith("{", pos):
            continue
        key, end = balanced_group(latex, pos)
        items.append(BibItem(m.start(), end, key))
    return items


def parse_bibitems(latex: str, to_text: Callable[[str], str]) -> dict[str, Reference]:
    """`\\bibitem[label]{key} ...` entries of a thebibliography environment."""
    refs: dict[str, Reference] = {}
    matches = find_bibitems(latex)
    for i, m in enumerate(matches):
        end = matches[i + 1].start if i + 1 < len(matches) else len(latex)
        raw = latex[m.body : end]
        stop = raw.find("\\end{thebibliography}")
        raw = raw[:stop] if stop >= 0 else raw
        blocks = [to_text(b).strip(" \n.,;") for b in re.split(r"\\newblock\b", raw)]
        blocks = [b for b in blocks if b]
        text = " ".join(" ".join(blocks).split())
        title = (
            " ".join(blocks[1].split())
            if len(blocks) >= 3 or (len(blocks) == 2 and len(blocks[1]) < 250)
            else ""
        )
        author = first_surname(blocks[0]) if title and blocks else ""
        for key in m.key.split(","):
            key = key.strip()
            if key:
                refs[key] = Reference(key, title.strip(" .,"), author, text)
    return refs


def first_surname(authors: str) -> str:
    """`A. Smith, B. Jones and C. Doe` / `Smith, A. and ...` -> `Smith`."""
    first = re.split(
        r"\s+and\s+|;|,\s*(?=[A-Z]\.?\s*[A-Z]?)|,\s+(?=[A-Z][a-z]+\s)", authors.strip(), maxsplit=1
    )[0]
    first = first.split(",")[0].strip()
    words = [w for w in re.split(r"[\s~]+", first) if w and not w.endswith(".")]
    return words[-1].strip("{}") if words else ""


def parse_bib(text: str, to_text: Callable[[str], str]) -> dict[str, Reference]:
    """Entries of a .bib file (title and first author only)."""
    refs: dict[str, Reference] = {}
    for m in BIB_ENTRY.finditer(text):
        kind, key = m.group(1).lower(), m.group(2)
        if kind in ("comment", "string", "preamble"):
            continue
        fields = _bib_fields(text, m.end())
        title = " ".join(to_text(fields.get("title", "")).split())
        authors = to_text(fields.get("author", fields.get("editor", "")))
        first = authors.split(" and ")[0].strip()
        surname = (
            first.split(",")[0].strip() if "," in first else (first.split()[-1] if first.split() else "")
        )
        year = fields.get("year", "").strip()
        parts = [
            p
            for p in (
                " ".join(authors.split()),
                title,
                to_text(fields.get("journal", fields.get("booktitle", ""))),
                year,
            )
            if p
        ]
        refs[key] = Reference(key, title, surname.strip("{}"), ". ".join(parts))
    return refs


def _bib_fields(text: str, pos: int) -> dict[str, str]:
    fields: dict[str, str] = {}
    field_re = re.compile(r"\s*([A-Za-z][\w\-]*)\s*=\s*")
    n = len(text)
    while pos < n:
        m = field_re.match(text, pos)
        if not m:
            break
        name, pos = m.group(1).lower(), m.end()
        if pos < n and text[pos] == "{":
            value, pos = balanced_group(text, pos)
        elif pos < n and text[pos] == '"':
            end = text.find('"', pos + 1)
            end = n if end < 0 else end
            value, pos = text[pos + 1 : end], end + 1
        else:
            m2 = re.match(r"[^,}\n]*", text[pos:])
            value = m2.group(0) if m2 else ""
            pos += len(value)
        fields[name] = value.replace("{", "").replace("}", "")
        while pos < n and text[pos] in " \t\n#":
            pos += 1
        if pos < n and text[pos] == ",":
            pos += 1
            continue
        break
    return fields


def parse_biblatex_bbl(text: str, to_text: Callable[[str], str]) -> dict[str, Reference]:
    refs: dict[str, Reference] = {}
    for m in BIBLATEX_ENTRY.finditer(text):
        key, body = m.group(1), m.group(2)
        title = ""
        t = BIBLATEX_FIELD.search(body)
        if t:
            raw, _ = balanced_group(body, t.end() - 1)
            title = " ".join(to_text(raw).split())
        fam = BIBLATEX_FAMILY.search(body)
        year = BIBLATEX_YEAR.search(body)
        family = fam.group(1) if fam else ""
        text = ". ".join(p for p in (family, title, year.group(1) if year else "") if p)
        refs[key] = Reference(key, title, family, text)
    return refs
